"""`digitlab camera`: stream a webcam, a video or image files to the server and print readings."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

import cv2

from digitlab.serve.protocol import PROTOCOL_VERSION, ConnectionClosed, pack_message, read_message

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
LEGACY_TRAILER = b"\xff\xd9"  # the reference client sent a stray EOI after every image


class ServerRefused(RuntimeError):
    """The server answered hello with an error (bad token, bad client id): do not retry."""


def frames_from(source: str, loop: bool):
    """Yield BGR or gray frames from a camera index, a video file, an image or a folder."""
    path = Path(source)
    if source.isdigit() or not path.is_dir() and path.suffix.lower() not in IMAGE_SUFFIXES:
        capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
        if not capture.isOpened():
            raise ValueError(f"cannot open camera or video {source!r}")
        try:
            while True:
                ok, frame = capture.read()
                if ok:
                    yield frame
                elif loop and not source.isdigit():
                    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                else:
                    return
        finally:
            capture.release()
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
        if path.is_dir() else [path]
    images = [image for image in (cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in files)
              if image is not None]
    if not images:
        raise ValueError(f"no readable images in {source!r}")
    while True:
        yield from images
        if not loop:
            return


def connect(host: str, port: int, client_id: str, token: str | None, legacy: bool):
    """Open a connection and (for protocol v1) say hello; returns the socket."""
    connection = socket.create_connection((host, port), timeout=10)
    if legacy:
        return connection
    hello = {"type": "hello", "protocol": PROTOCOL_VERSION, "client_id": client_id}
    if token:
        hello["token"] = token
    connection.sendall(pack_message(hello))
    reply, _ = read_message(connection)
    if reply.get("type") != "welcome":
        connection.close()
        raise ServerRefused(reply.get("error", f"unexpected reply {reply!r}"))
    print(f"connected as {client_id}; server model {reply.get('model')}", flush=True)
    connection.settimeout(None)
    return connection


def print_results(connection: socket.socket, quiet: bool) -> None:
    """Print each result the server sends until the connection ends."""
    try:
        while True:
            message, _ = read_message(connection)
            if message.get("type") == "error":
                print(f"server error: {message.get('error')}", file=sys.stderr, flush=True)
                return
            if quiet:
                continue
            if message.get("skipped"):
                print(f"#{message.get('seq')}: skipped", flush=True)
            elif "error" in message:
                print(f"#{message.get('seq')}: error {message['error']}", flush=True)
            else:
                print(f"#{message.get('seq')}: {message.get('text') or '-'} "
                      f"({message.get('latency_ms', 0):.0f} ms)", flush=True)
    except (ConnectionClosed, OSError, ValueError):
        return


def stream(arguments, host: str, port: int, frames) -> None:
    """One connection: send frames at the chosen rate until the source ends or the link breaks."""
    connection = connect(host, port, arguments.client_id, arguments.token, arguments.legacy)
    if not arguments.legacy:
        threading.Thread(target=print_results, args=(connection, arguments.quiet),
                         daemon=True).start()
    interval, next_time = 1.0 / arguments.fps, time.monotonic()
    try:
        for frame in frames:
            ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, arguments.quality])
            if not ok:
                continue
            if arguments.legacy:
                connection.sendall(jpeg.tobytes() + LEGACY_TRAILER)
            else:
                message = {"type": "frame", "seq": arguments.sent, "ts": time.time()}
                connection.sendall(pack_message(message, jpeg.tobytes()))
            arguments.sent += 1
            if arguments.max_frames and arguments.sent >= arguments.max_frames:
                break
            next_time = max(next_time + interval, time.monotonic() - interval)
            time.sleep(max(0.0, next_time - time.monotonic()))
        connection.shutdown(socket.SHUT_WR)  # let the last results arrive
        time.sleep(0 if arguments.legacy else 1.0)
    finally:
        connection.close()


def build_parser() -> argparse.ArgumentParser:
    """The `digitlab camera` command line."""
    parser = argparse.ArgumentParser(prog="digitlab camera", description=__doc__)
    parser.add_argument("--server", default="127.0.0.1:8001", help="HOST:PORT of the TCP server")
    parser.add_argument("--source", default="0", help="camera index, video file, image or folder")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second to send")
    parser.add_argument("--client-id", default=socket.gethostname()[:40] + "-cam")
    parser.add_argument("--token", help="camera token, when the server requires one")
    parser.add_argument("--legacy", action="store_true",
                        help="send the reference project's raw JPEG stream (no results)")
    parser.add_argument("--loop", action="store_true", help="repeat a video, image or folder")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: never)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality")
    parser.add_argument("--quiet", action="store_true", help="do not print every result")
    return parser


def main(argv=None) -> int:
    """Stream until the source ends; reconnect with backoff when the server goes away."""
    arguments = build_parser().parse_args(argv)
    host, _, port = arguments.server.rpartition(":")
    if not host or not port.isdigit() or arguments.fps <= 0:
        print("digitlab camera: --server must be HOST:PORT and --fps positive", file=sys.stderr)
        return 2
    frames = frames_from(arguments.source, arguments.loop)  # errors show on the first frame
    arguments.sent, delay = 0, 0.5
    while True:
        sent_before = arguments.sent
        try:
            stream(arguments, host, int(port), frames)
            return 0
        except ServerRefused as error:
            print(f"digitlab camera: server refused: {error}", file=sys.stderr)
            return 1
        except ValueError as error:
            print(f"digitlab camera: {error}", file=sys.stderr)
            return 2
        except (OSError, ConnectionClosed) as error:
            delay = 0.5 if arguments.sent > sent_before else delay
            print(f"connection lost ({error}); retrying in {delay:.1f} s", file=sys.stderr)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
