"""Camera protocol v1 and the legacy raw-JPEG stream against a real server on 127.0.0.1."""

from __future__ import annotations

import random
import socket
import struct
import time

import cv2
import numpy as np
import pytest

from digitlab.serve.jpegstream import JpegStreamSplitter
from digitlab.serve.protocol import (
    ConnectionClosed,
    ProtocolError,
    pack_message,
    parse_header,
    read_message,
)
from tests.serve.helpers import CameraClient, encode, scene, serving, wait_for


def gray_jpeg(image28: np.ndarray) -> bytes:
    """A digit as the reference camera sent it: a small gray JPEG."""
    return encode(image28, ".jpg")


def with_exif_thumbnail(jpeg: bytes, thumbnail: bytes) -> bytes:
    """The JPEG with an APP1 segment that holds a whole second JPEG (its own FF D9 included)."""
    payload = b"Exif\x00\x00" + thumbnail
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_framing_round_trip_and_limits():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(pack_message({"type": "frame", "seq": 3}, b"body") + pack_message({"type": "x"}))
        assert read_message(right) == ({"type": "frame", "seq": 3}, b"body")
        assert read_message(right) == ({"type": "x"}, b"")
        left.sendall(struct.pack("!II", 10, 0) + b"[1, 2, 3]!")
        with pytest.raises(ProtocolError, match="JSON"):
            read_message(right)
        left.close()
        with pytest.raises(ConnectionClosed):
            read_message(right)
    with pytest.raises(ProtocolError, match="4096"):
        parse_header(struct.pack("!II", 5000, 0))
    with pytest.raises(ProtocolError, match="body length"):
        parse_header(struct.pack("!II", 10, 5 * 1024 * 1024))


def test_jpeg_stream_splitter_handles_chunks_junk_and_embedded_jpegs(digits):
    images = [gray_jpeg(image) for image in digits[0][:6]]
    images[2] = with_exif_thumbnail(images[2], images[5])  # an FF D9 inside the APP1 segment
    assert cv2.imdecode(np.frombuffer(images[2], np.uint8), cv2.IMREAD_UNCHANGED) is not None
    stream = b"\xff\xd9junk" + b"".join(image + b"\xff\xd9" for image in images)
    for seed in range(20):
        rng, splitter, found = random.Random(seed), JpegStreamSplitter(), []
        position = 0
        while position < len(stream):
            step = rng.randint(1, 700)
            found += splitter.feed(stream[position:position + step])
            position += step
        assert found == images
    assert JpegStreamSplitter().feed(b"\xff\xd8\x00\x00garbage\xff\xd8") == []


def test_hello_results_in_order_and_readings(live_server, digits, predictor):
    images, labels = digits
    camera = CameraClient(live_server.tcp_port, "cam-1")
    assert camera.welcome == {"type": "welcome", "client_id": "cam-1", "model": "digits@1",
                              "protocol": 1}
    expected = []
    for seq in range(8):
        camera.send_frame(seq, gray_jpeg(images[seq]))
        expected.append(str(predictor.predict_one(cv2.imdecode(
            np.frombuffer(gray_jpeg(images[seq]), np.uint8), cv2.IMREAD_UNCHANGED)).digit))
        time.sleep(0.05)
    page, _ = scene(list(images[10:13]))
    camera.send_frame(8, encode(page, ".jpg"))
    results = [camera.receive() for _ in range(9)]
    assert [r["seq"] for r in results] == list(range(9))
    singles = [r for r in results[:8] if not r.get("skipped")]
    assert len(singles) >= 5
    for result in singles:
        assert result["text"] == expected[result["seq"]] and result["latency_ms"] >= 0
        assert result["digits"][0]["box"] == [0, 0, 28, 28]
    assert len(results[-1]["text"]) == 3  # the newest frame is never skipped: three digits
    assert sum(str(label) == text for label, text in zip(labels, expected)) >= 6
    camera.close()


def test_back_pressure_skips_old_frames_but_answers_every_one(live_server, digits):
    page, _ = scene(list(digits[0][:4]))
    frame = encode(cv2.resize(page, (1280, 720)), ".jpg")
    camera = CameraClient(live_server.tcp_port, "flood")
    for seq in range(60):
        camera.send_frame(seq, frame)
    results = [camera.receive() for _ in range(60)]
    assert [r["seq"] for r in results] == list(range(60))
    skipped = [r for r in results if r.get("skipped")]
    assert 0 < len(skipped) < 60
    assert not results[-1].get("skipped") and len(results[-1]["text"]) == 4  # newest wins
    stats = live_server.state.hub.stats()[0]
    assert stats["frames"]["skipped"] == len(skipped)
    assert stats["frames"]["processed"] + stats["frames"]["skipped"] == 60
    camera.close()


def test_malformed_client_is_closed_while_another_keeps_getting_results(live_server, digits):
    good = CameraClient(live_server.tcp_port, "good")
    frame = gray_jpeg(digits[0][0])
    good.send_frame(0, frame)
    assert good.receive()["seq"] == 0
    attacks = [struct.pack("!II", 10**6, 0), struct.pack("!II", 4, 2**30),
               struct.pack("!II", 4, 0) + b"\xff\xfe{}",
               pack_message({"type": "frame", "seq": 0}, frame),  # frame before hello
               pack_message({"type": "hello", "protocol": 2, "client_id": "x"}),
               pack_message({"type": "hello", "protocol": 1, "client_id": "bad id/../"})]
    for number, attack in enumerate(attacks):
        bad = CameraClient(live_server.tcp_port, hello=False)
        bad.socket.sendall(attack)
        answer = bad.receive()
        assert answer["type"] == "error" and answer["error"], attack
        with pytest.raises(ConnectionClosed):
            bad.receive()
        bad.close()
        good.send_frame(number + 1, frame)
        result = good.receive()
        assert result["seq"] == number + 1 and result["text"].isdigit()
    welcomed = CameraClient(live_server.tcp_port, "later-bad")
    welcomed.socket.sendall(pack_message({"type": "frame", "seq": -1}, frame))
    assert "seq" in welcomed.receive()["error"]
    undecodable = CameraClient(live_server.tcp_port, "noise")
    undecodable.send_frame(0, b"\xff\xd8 definitely not a jpeg")
    assert "cannot decode" in undecodable.receive()["error"]
    undecodable.send_frame(1, frame)
    assert undecodable.receive()["seq"] == 1  # still connected after a bad frame
    good.close()


def test_legacy_raw_jpeg_stream_shows_up_in_status(live_server, client, digits):
    images, _ = digits
    stream = b"".join(gray_jpeg(image) + b"\xff\xd9" for image in images[:12])
    with socket.create_connection(("127.0.0.1", live_server.tcp_port)) as legacy:
        rng, position = random.Random(1), 0
        while position < len(stream):
            step = rng.randint(1, 900)
            legacy.sendall(stream[position:position + step])
            position += step
            time.sleep(0.005)
        peer = f"127.0.0.1:{legacy.getsockname()[1]}"

        def counted():
            cameras = client.get("/status").get_json()["cameras"]
            camera = next((c for c in cameras if c["client_id"] == peer), None)
            done = camera and camera["frames"]["processed"] + camera["frames"]["skipped"] == 12
            return camera if done else None

        camera = wait_for(counted)
        assert camera["protocol"] == "legacy" and camera["frames"]["received"] == 12
        assert camera["last_reading"]["text"].isdigit()
    wait_for(lambda: not client.get("/status").get_json()["cameras"])


def test_camera_token_idle_timeout_and_client_limit(predictor, tmp_path, digits):
    with serving(predictor, tmp_path, CAMERA_TOKEN="cam-secret", IDLE_TIMEOUT=0.5,
                 MAX_CLIENTS=2) as server:
        refused = CameraClient(server.tcp_port, "no-token")
        assert refused.welcome == {"type": "error", "error": "missing or wrong token"}
        assert CameraClient(server.tcp_port, "bad", token="guess").welcome["type"] == "error"
        first = CameraClient(server.tcp_port, "one", token="cam-secret")
        second = CameraClient(server.tcp_port, "two", token="cam-secret")
        assert first.welcome["type"] == second.welcome["type"] == "welcome"
        third = CameraClient(server.tcp_port, "three", token="cam-secret")
        assert "too many" in third.welcome["error"]
        assert "idle" in first.receive()["error"]  # silent for 0.5 s
        with socket.create_connection(("127.0.0.1", server.tcp_port)) as legacy:
            legacy.sendall(gray_jpeg(digits[0][0]))  # no token possible: refused
            assert legacy.recv(10) == b""


def test_reconnect_replaces_and_half_close_drains(live_server, digits):
    frame = gray_jpeg(digits[0][0])
    old = CameraClient(live_server.tcp_port, "same")
    new = CameraClient(live_server.tcp_port, "same")
    assert "replaced" in old.receive()["error"]
    for seq in range(3):
        new.send_frame(seq, frame)
        time.sleep(0.1)
    new.socket.shutdown(socket.SHUT_WR)
    assert [new.receive()["seq"] for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ConnectionClosed):
        new.receive()


def test_legacy_buffer_is_bounded(live_server):
    endless_scan = b"\xff\xd8\xff\xda\x00\x02" + b"\x00" * (4 * 1024 * 1024 + 200_000)
    with socket.create_connection(("127.0.0.1", live_server.tcp_port), timeout=20) as legacy:
        try:
            legacy.sendall(endless_scan)  # a JPEG that never ends, and the client waits
            closed_by_server = legacy.recv(1) == b""
        except TimeoutError:
            closed_by_server = False
        except ConnectionError:  # reset: the server closed while data was still coming
            closed_by_server = True
    assert closed_by_server
    wait_for(lambda: live_server.state.hub.stats() == [])


def open_live_view(port: int, client_id: str) -> socket.socket:
    """Start watching a camera's MJPEG feed; return once its first bytes arrived."""
    viewer = socket.create_connection(("127.0.0.1", port), timeout=10)
    viewer.sendall(f"GET /video_feed/{client_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert viewer.recv(4096).startswith(b"HTTP/1.1 200")
    return viewer


def test_live_views_get_their_own_workers_and_the_api_keeps_answering(predictor, tmp_path, digits):
    with serving(predictor, tmp_path, THREADS=1, MAX_VIDEO_FEEDS=3) as server:
        dispatcher = server.http.task_dispatcher
        camera = CameraClient(server.tcp_port, "cam-1")
        camera.send_frame(0, gray_jpeg(digits[0][0]))
        camera.receive()
        viewers = [open_live_view(server.http_port, "cam-1") for _ in range(3)]
        wait_for(lambda: len(dispatcher.threads) - dispatcher.stop_count == 4)
        # three feeds hold three workers; the fourth still serves requests at once
        connection = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        connection.close()
        for viewer in viewers:
            viewer.close()
        wait_for(lambda: server.state.video_feeds.active == 0, timeout=15)
        wait_for(lambda: len(dispatcher.threads) == 1, timeout=15)
        camera.close()
