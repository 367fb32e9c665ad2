"""Slow and hostile clients against a real server: each is bounded and others keep being served."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from digitlab.serve.protocol import HEADER
from tests.serve.helpers import CameraClient, encode, serving, wait_for


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """A 25-megapixel 16-bit RGBA PNG of ~200 KB that takes about a second to decode."""
    image = np.zeros((5000, 5000, 4), np.uint16)
    image[::97] = 65535
    return cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()


def healthz_seconds(port: int) -> float:
    """How long a fresh client waits for GET /healthz (fails unless it is 200)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    connection.close()
    return time.perf_counter() - started


def trickle(sockets: list, data: bytes, stop: threading.Event, interval: float) -> None:
    """Send data to every socket each interval until stopped (dropping the ones that close)."""
    while not stop.wait(interval):
        for sock in list(sockets):
            try:
                sock.sendall(data)
            except OSError:
                sockets.remove(sock)


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes (or the timeout passes)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except (TimeoutError, ConnectionError):
        pass
    return received


def test_slowloris_keeps_others_served_and_gets_408(predictor, tmp_path):
    with serving(predictor, tmp_path, HEADER_TIMEOUT=4.0) as server:
        slow = [socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
                for _ in range(250)]
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        stop, open_ones = threading.Event(), list(slow)
        trickler = threading.Thread(target=trickle, args=(open_ones, b"X", stop, 0.5))
        trickler.start()
        try:
            time.sleep(1.0)
            assert healthz_seconds(server.http_port) < 2.0  # 250 slow ones are still open
        finally:
            stop.set()
            trickler.join()
        replies = [read_until_closed(sock, timeout=10) for sock in slow]
        for sock in slow:
            sock.close()
        assert all(reply.startswith(b"HTTP/1.1 408") for reply in replies), replies[0]
        assert json.loads(replies[0].partition(b"\r\n\r\n")[2])["error"].startswith("the request")


def test_waitress_errors_are_json_too(predictor, tmp_path):
    with serving(predictor, tmp_path, MAX_CONTENT_LENGTH=1024) as server:
        with socket.create_connection(("127.0.0.1", server.http_port), timeout=5) as raw:
            raw.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                        b"Content-Length: 3145728\r\n\r\n")
            head, _, body = read_until_closed(raw, timeout=5).partition(b"\r\n\r\n")
        # over waitress's own limit (1 KiB + 1 MiB of multipart slack), answered before the body
        assert head.startswith(b"HTTP/1.1 413") and b"application/json" in head, head
        assert "send a smaller image" in json.loads(body)["error"]
        with socket.create_connection(("127.0.0.1", server.http_port), timeout=5) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n")
            head, _, body = read_until_closed(raw, timeout=5).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
        assert "error" in json.loads(body)


def test_tcp_clients_stuck_in_hello_do_not_keep_cameras_out(predictor, tmp_path, digits):
    with serving(predictor, tmp_path, HELLO_TIMEOUT=2.0) as server:
        stuck = [socket.create_connection(("127.0.0.1", server.tcp_port), timeout=5)
                 for _ in range(40)]
        for sock in stuck:  # a valid header, then the hello's JSON a byte at a time
            sock.sendall(HEADER.pack(100, 0))
        stop, open_ones = threading.Event(), list(stuck)
        trickler = threading.Thread(target=trickle, args=(open_ones, b" ", stop, 0.3))
        trickler.start()
        try:
            time.sleep(0.3)
            camera = CameraClient(server.tcp_port, "real-camera")
            assert camera.welcome["type"] == "welcome"
            camera.send_frame(0, encode(digits[0][0], ".jpg"))
            assert camera.receive()["seq"] == 0
        finally:
            stop.set()
            trickler.join()
        started = time.monotonic()
        ended = [read_until_closed(sock, timeout=8) for sock in stuck]
        assert time.monotonic() - started < 6.0  # each had 2 s from connect to say hello
        assert all(b"no complete hello" in reply for reply in ended), ended[0]
        camera.send_frame(1, encode(digits[0][1], ".jpg"))
        assert camera.receive()["seq"] == 1  # the camera was never disturbed
        for sock in stuck:
            sock.close()


def test_a_full_pending_pool_drops_its_oldest_for_a_new_camera(predictor, tmp_path):
    with serving(predictor, tmp_path, MAX_PENDING_HELLOS=8, HELLO_TIMEOUT=30.0) as server:
        stuck = [socket.create_connection(("127.0.0.1", server.tcp_port), timeout=5)
                 for _ in range(20)]
        wait_for(lambda: len(server.camera.pending) == 8)
        camera = CameraClient(server.tcp_port, "newcomer")
        assert camera.welcome["type"] == "welcome"
        closed = sum(is_closed(sock) for sock in stuck)
        assert closed >= 13  # the 12 beyond the pool, and one more for the newcomer
        for sock in stuck:
            sock.close()


def is_closed(sock: socket.socket) -> bool:
    """True when the server has closed this connection."""
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def test_a_frame_must_arrive_whole_within_the_message_deadline(predictor, tmp_path):
    with serving(predictor, tmp_path, MESSAGE_TIMEOUT=1.0, IDLE_TIMEOUT=30.0) as server:
        camera = CameraClient(server.tcp_port, "trickler")
        camera.socket.sendall(HEADER.pack(200, 0))
        started = time.monotonic()
        while time.monotonic() - started < 0.8:  # a byte every 0.2 s: never idle for 30 s
            camera.socket.sendall(b" ")
            time.sleep(0.2)
        reply = camera.receive()
        assert "did not arrive whole" in reply["error"]
        assert time.monotonic() - started < 3.0


def legacy_flood(port: int, stop: threading.Event) -> None:
    """A legacy 'camera' that opens a scan and sends FF 00 pairs as fast as it can, again and again."""
    start = b"\xff\xd8\xff\xda\x00\x02"
    block = b"\xff\x00" * 32768
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(start)
                while not stop.is_set():
                    sock.sendall(block)
        except OSError:
            continue


def camera_latencies(port: int, frame: bytes, count: int, fps: float = 10.0) -> list[float]:
    """A normal camera sends count frames at fps; returns each frame's latency in ms."""
    camera, latencies = CameraClient(port, "normal"), []
    for seq in range(count):
        sent = time.perf_counter()
        camera.send_frame(seq, frame)
        message = camera.receive()
        assert message["seq"] == seq and "text" in message, message
        latencies.append((time.perf_counter() - sent) * 1000)
        time.sleep(max(0.0, 1 / fps - (time.perf_counter() - sent)))
    camera.close()
    return latencies


def test_legacy_ff00_floods_do_not_slow_a_normal_camera(live_server, digits):
    frame = encode(digits[0][0], ".jpg")
    stop = threading.Event()
    floods = [threading.Thread(target=legacy_flood, args=(live_server.tcp_port, stop))
              for _ in range(4)]
    for flood in floods:
        flood.start()
    try:
        time.sleep(0.5)
        latencies = camera_latencies(live_server.tcp_port, frame, count=30)
    finally:
        stop.set()
        for flood in floods:
            flood.join()
    assert np.median(latencies) < 250, latencies  # was over 2 s with a re-scanning parser


def test_huge_frames_are_refused_from_the_header(live_server, client, huge_png):
    camera = CameraClient(live_server.tcp_port, "huge")
    started = time.perf_counter()
    camera.send_frame(0, huge_png)
    message = camera.receive()
    assert "cannot decode frame" in message["error"] and "pixels" in message["error"]
    assert time.perf_counter() - started < 0.5  # refused before decoding a pixel
    camera.close()
    response = client.post("/predict", data=huge_png, content_type="image/png")
    assert response.status_code == 400 and "MiB" in response.get_json()["error"]


def slow_neighbour(port: int, png: bytes, stop: threading.Event) -> None:
    """A camera that keeps sending frames that take about a second each to decode."""
    camera, seq = CameraClient(port, "slow"), 0
    while not stop.is_set():
        camera.send_frame(seq, png)
        camera.receive()
        seq += 1
    camera.close()


def test_a_camera_with_costly_frames_does_not_delay_the_others(predictor, tmp_path, digits,
                                                                huge_png):
    with serving(predictor, tmp_path, MAX_FRAME_PIXELS=30_000_000,
                 MAX_DECODED_BYTES=1 << 40) as server:  # let the costly frames through
        stop = threading.Event()
        neighbour = threading.Thread(target=slow_neighbour, args=(server.tcp_port, huge_png, stop))
        neighbour.start()
        try:
            time.sleep(0.3)
            latencies = camera_latencies(server.tcp_port, encode(digits[0][0], ".jpg"), count=20)
        finally:
            stop.set()
            neighbour.join(timeout=30)
    assert np.median(latencies) < 250, latencies  # one shared batch waited for each decode
