"""Helpers for the serve tests: test apps, live servers, test images and a camera client.

The fixtures built on these live in tests/serve/conftest.py; test modules import what they
call from here (`from tests.serve.helpers import ...`).
"""

from __future__ import annotations

import contextlib
import socket
import time

import cv2
import numpy as np

from digitlab.processes import wait_until
from digitlab.serve.protocol import pack_message, read_message

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def point_env_at(monkeypatch, root) -> None:
    """Make digitlab's data, models and runs folders those under root."""
    for name in ("data", "models", "runs"):
        monkeypatch.setenv(f"DIGITLAB_{name.upper()}_DIR", str(root / name))


def make_app(predictor, tmp_path, **overrides):
    """A test app around the given predictor with its own sample database."""
    from digitlab.serve import create_app

    config = {"TESTING": True, "PREDICTOR": predictor, "TOKEN": TOKEN,
              "SAMPLES_PATH": str(tmp_path / "samples.sqlite")}
    return create_app({**config, **overrides})


def start_server(app):
    """Run an app under waitress plus the camera server on free 127.0.0.1 ports."""
    from digitlab.serve.server import ServeServer

    app.config.update(HOST="127.0.0.1", HTTP_PORT=0, TCP_PORT=0)
    return ServeServer(app).start()


@contextlib.contextmanager
def serving(predictor, tmp_path, **overrides):
    """A live server for an app with config overrides (camera token, limits, ...)."""
    app = make_app(predictor, tmp_path, **overrides)
    server = start_server(app)
    try:
        yield server
    finally:
        server.stop()


def encode(image: np.ndarray, extension: str = ".png") -> bytes:
    """Encode an image array as PNG or JPEG bytes."""
    ok, data = cv2.imencode(extension, image)
    assert ok
    return data.tobytes()


def photo_of(digit28: np.ndarray, size: int = 280) -> np.ndarray:
    """A digit as dark ink on white paper at another size (what a phone photo looks like)."""
    return 255 - cv2.resize(digit28, (size, size), interpolation=cv2.INTER_LINEAR)


def scene(digit_images, height: int = 200, cell: int = 120) -> tuple[np.ndarray, list[int]]:
    """Dark digits side by side on a light page (BGR), and the x centre of each digit."""
    page = np.full((height, cell * (len(digit_images) + 1), 3), 235, np.uint8)
    centres = []
    for index, digit in enumerate(digit_images):
        ink = cv2.resize(digit, (96, 96), interpolation=cv2.INTER_LINEAR)
        x, y = cell // 2 + index * cell, (height - 96) // 2
        region = page[y:y + 96, x:x + 96]
        region[:] = np.minimum(region, (255 - ink)[..., None])
        centres.append(x + 48)
    return page, centres


class CameraClient:
    """A protocol v1 client for tests."""

    def __init__(self, port: int, client_id: str = "cam-1", token: str | None = None,
                 hello: bool = True, timeout: float = 20.0):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.welcome = None
        if hello:
            message = {"type": "hello", "protocol": 1, "client_id": client_id}
            if token is not None:
                message["token"] = token
            self.socket.sendall(pack_message(message))
            self.welcome = self.receive()

    def send_frame(self, seq: int, image_bytes: bytes) -> None:
        """Send one frame."""
        self.socket.sendall(pack_message({"type": "frame", "seq": seq, "ts": time.time()},
                                         image_bytes))

    def receive(self) -> dict:
        """The next message from the server."""
        return read_message(self.socket)[0]

    def close(self) -> None:
        """Close the connection."""
        self.socket.close()


def wait_for(condition, timeout: float = 10.0, interval: float = 0.05):
    """Poll until condition() is truthy; return its value or fail."""
    return wait_until(condition, timeout, interval=interval)
