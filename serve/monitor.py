"""The monitoring page, its JSON (/status), the cameras' annotated MJPEG feeds and /healthz."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from flask import Blueprint, Response, current_app, render_template, request, send_file
from werkzeug.exceptions import NotFound, ServiceUnavailable

from digitlab.serve.auth import RETRY_AFTER_SECONDS
from digitlab.serve.state import state

bp = Blueprint("monitor", __name__)
FEED_FPS = 10.0
VIEW_MIN_SIDE = 240  # tiny frames (28x28) are enlarged so their annotation can be read
BOUNDARY = "frame"
BLANK_DIGIT = np.zeros((28, 28), np.float32)  # what /healthz runs through the model


@bp.get("/")
def index():
    """The monitoring page; it refreshes itself from /status."""
    served = state()
    return render_template("index.html", model=served.predictor.model_id,
                           reader=served.predictor.reader_id, cameras=served.hub.stats(),
                           camera_server=f"{request.host.rsplit(':', 1)[0]}:{current_app.config['TCP_PORT']}")


@bp.get("/status")
def status():
    """Model and line reader, uptime, HTTP load and every connected camera's statistics.

    The first five keys are the reference server's, which its camera client checks
    ("status": "running") before it starts streaming.
    """
    served = state()
    cameras = served.hub.stats()
    return {"status": "running", "model_loaded": served.predictor is not None,
            "connected_clients": [camera["address"] for camera in cameras],
            "client_count": len(cameras), "training_data_count": served.store.total(),
            "model": served.predictor.model_id, "reader": served.predictor.reader_id,
            "uptime_s": round(time.time() - served.started, 1),
            "http": {"in_flight": served.requests.active, "max_in_flight": served.requests.limit},
            "camera_port": current_app.config["TCP_PORT"],
            "cameras": cameras,
            "collect_uncertain": None if served.collector is None else served.collector.stats()}


@bp.get("/openapi.yaml")
def openapi():
    """This server's OpenAPI 3.1 description (serve/openapi.yaml)."""
    return send_file(Path(__file__).with_name("openapi.yaml"), mimetype="application/yaml")


@bp.get("/healthz")
def healthz():
    """Liveness and readiness: the model is loaded and answers (one blank 28x28 through it)."""
    predictor = state().predictor
    try:
        predictor.predict([BLANK_DIGIT])
    except Exception as error:  # the process is up but cannot serve: not ready
        raise ServiceUnavailable(f"the model {predictor.model_id} does not answer: "
                                 f"{type(error).__name__}", retry_after=RETRY_AFTER_SECONDS) from None
    return {"status": "ok", "model": predictor.model_id}


def annotate(frame: np.ndarray, reading: dict | None) -> bytes:
    """The frame as JPEG with each digit's box and value drawn on it."""
    image = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    image = image[:, :, :3] if image.shape[2] == 4 else image.copy()
    scale = max(1.0, VIEW_MIN_SIDE / min(image.shape[:2]))
    if scale > 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    font = max(0.6, image.shape[1] / 600)
    for digit in (reading or {}).get("digits", []):
        x, y, w, h = (int(round(v * scale)) for v in digit["box"])
        color = (0, 140, 255) if digit.get("uncertain") else (0, 180, 0)
        cv2.rectangle(image, (x, y), (x + w, y + h), color, 2)
        cv2.putText(image, digit_label(digit, w, font), (x, max(int(22 * font), y - 6)),
                    cv2.FONT_HERSHEY_SIMPLEX, font, color, 2, cv2.LINE_AA)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()


def digit_label(digit: dict, box_width: int, font: float) -> str:
    """"7 98%" above a digit's box, or "7" alone where that is wider than the box: the labels
    of digits side by side would write over each other."""
    label = f"{digit['digit']} {digit['confidence']:.0%}"
    (width, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font, 2)
    return label if width <= box_width + 4 else str(digit["digit"])


def feed(session):
    """Yield the session's newest annotated frame as MJPEG parts until it disconnects.

    Each part ends with the next boundary, and the last frame is sent again every second
    when nothing new came, so a browser always has a complete picture to show.
    """
    version, jpeg = -1, None
    yield f"--{BOUNDARY}\r\n".encode()
    while not session.closed:
        with session.lock:
            if session.frame_version == version:
                session.lock.wait(1.0)
            fresh = session.frame_version != version
            version, frame, reading = session.frame_version, session.frame, session.reading
        if fresh and frame is not None:
            jpeg = annotate(frame, reading)
        if jpeg is not None:
            yield (f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                   + jpeg + f"\r\n--{BOUNDARY}\r\n".encode())
            time.sleep(1.0 / FEED_FPS)


@bp.get("/video_feed/<client_id>")
def video_feed(client_id: str):
    """A camera's annotated live view (MJPEG), by client id or by the address of a sole camera."""
    served = state()
    session = served.hub.find_session(client_id)
    if session is None:
        raise NotFound(f"no camera {client_id!r} is connected (give its client id, or its "
                       "address when only one camera is connected from there)")
    if not served.video_feeds.try_enter():
        raise ServiceUnavailable(f"at most {served.video_feeds.limit} live views at once",
                                 retry_after=RETRY_AFTER_SECONDS)
    response = Response(feed(session), mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                        headers={"Cache-Control": "no-store"})
    response.call_on_close(served.video_feeds.leave)  # also runs when the viewer goes away
    return response
