"""`digitlab serve` / `python -m digitlab.serve`: start the HTTP and camera servers until interrupted."""

from __future__ import annotations

import logging
import signal
import sys
import threading


def main(argv=None) -> int:
    """Parse options, load the model, serve until Ctrl-C or SIGTERM; returns the exit code."""
    from digitlab.serve import config as settings

    try:
        config = settings.from_arguments(sys.argv[1:] if argv is None else argv)
    except ValueError as error:
        print(f"digitlab serve: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    import cv2

    # The camera hub already runs frames in parallel; OpenCV's own threads would only add
    # 1-2 ms of CPU per frame (process-wide, so it is set here, for this process only).
    cv2.setNumThreads(1)

    from digitlab.predict import ModelNotFoundError
    from digitlab.serve import create_app
    from digitlab.serve.auth import is_loopback
    from digitlab.serve.server import ServeServer

    try:
        app = create_app(config)
        server = ServeServer(app)
    except ModelNotFoundError as error:
        print(f"digitlab serve: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"digitlab serve: cannot listen: {error}", file=sys.stderr)
        return 1
    host = app.config["HOST"]
    print(f"model {app.extensions['digitlab'].predictor.model_id}")
    print(f"HTTP     http://{host}:{server.http_port}/  (monitoring page, API)")
    print(f"cameras  {host}:{server.tcp_port}  (protocol v1; legacy raw JPEG "
          f"{'on' if server.camera.legacy else 'off'})")
    if app.config["TOKEN_GENERATED"]:
        print(f"write token (upload, retrain, promote): {app.config['TOKEN']}\n"
              "  set DIGITLAB_SERVE_TOKEN or --token to choose your own")
    if not is_loopback(host) and not app.config["CAMERA_TOKEN"]:
        print("warning: cameras can connect without a token; set --camera-token", file=sys.stderr)
    sys.stdout.flush()

    done = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    server.start()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping")
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
