"""Fuzz: thousands of malformed HTTP bodies and TCP streams; no crash, no 500, others unaffected."""

from __future__ import annotations

import base64
import http.client
import json
import random
import socket
import struct
import threading
import time

import numpy as np

from digitlab.serve.protocol import ConnectionClosed, pack_message, read_message
from tests.serve.helpers import TOKEN, CameraClient, encode, wait_for

HTTP_CASES = 1200
TCP_CASES = 1200


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Flip, cut, duplicate or insert bytes."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice, position = rng.random(), rng.randrange(max(1, len(data)))
        if choice < 0.4 and data:
            data[position] ^= 1 << rng.randrange(8)
        elif choice < 0.6:
            del data[position:position + rng.randint(1, 64)]
        elif choice < 0.8:
            data[position:position] = rng.randbytes(rng.randint(1, 32))
        else:
            data = data[:position]
    return bytes(data)


def random_json(rng: random.Random, depth: int = 0):
    """A random JSON value."""
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice([None, True, False, float("nan"), 1e308, -7])
    if kind == 1:
        return rng.randint(-(2**70), 2**70)
    if kind == 2:
        return rng.randbytes(rng.randint(0, 20)).decode("latin-1")
    if kind == 3:
        return base64.b64encode(rng.randbytes(rng.randint(0, 60))).decode()
    if kind == 4:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 30))]
    if kind == 5:
        return {rng.choice(["image", "instances", "b64", "x"]): random_json(rng, depth + 1)
                for _ in range(rng.randint(0, 3))}
    return [[rng.random() * 300 for _ in range(28)] for _ in range(rng.choice([27, 28, 29]))]


def http_case(rng: random.Random, samples: list[bytes]):
    """(method, path, body, headers) for one malformed request."""
    path = rng.choice(["/predict", "/read", "/v1/models/digits:predict", "/upload_training_data",
                       "/predict", "/v1/models/digits:predict"])
    kind = rng.randrange(6)
    if kind == 0:
        body, content_type = rng.randbytes(rng.randint(0, 3000)), rng.choice(
            ["image/png", "image/jpeg", "application/octet-stream", "text/plain", ""])
    elif kind == 1:
        body, content_type = mutate(rng, rng.choice(samples)), rng.choice(["image/png", "image/jpeg"])
    elif kind == 2:
        payload = {"image": base64.b64encode(mutate(rng, rng.choice(samples))).decode()} \
            if rng.random() < 0.5 else {"instances": [random_json(rng) for _ in range(3)]}
        body, content_type = json.dumps(payload).encode(), "application/json"
    elif kind == 3:
        body, content_type = json.dumps(random_json(rng)).encode(), "application/json"
    elif kind == 4:
        body, content_type = mutate(rng, json.dumps({"instances": [[0] * 28] * 28}).encode()), \
            "application/json"
    else:
        boundary = "fuzz" + str(rng.randrange(10**6))
        part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{rng.choice(['image', 'images', 'digit'])}\"; "
                f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
        body = part + mutate(rng, rng.choice(samples)) + f"\r\n--{boundary}--\r\n".encode()
        body = mutate(rng, body) if rng.random() < 0.3 else body
        content_type = f"multipart/form-data; boundary={boundary}"
    headers = {"Content-Type": content_type} if content_type else {}
    if path == "/upload_training_data":
        headers["Authorization"] = f"Bearer {TOKEN}"
    return "POST", path, body, headers


def keep_predicting(port: int, frame: bytes, stop: threading.Event, outcomes: list) -> None:
    """A well-behaved HTTP client: POST /predict until told to stop."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        connection.request("POST", "/predict", body=frame, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        outcomes.append((response.status, json.loads(response.read())))
        time.sleep(0.02)
    connection.close()


def test_http_fuzz_never_500_and_good_clients_keep_working(live_server, digits):
    rng = random.Random(20240601)
    samples = [encode(digits[0][i]) for i in range(5)] + [encode(digits[0][5], ".jpg")]
    stop, outcomes = threading.Event(), []
    good = threading.Thread(target=keep_predicting,
                            args=(live_server.http_port, samples[0], stop, outcomes))
    good.start()
    statuses: dict[int, int] = {}
    connection = http.client.HTTPConnection("127.0.0.1", live_server.http_port, timeout=30)
    try:
        for _ in range(HTTP_CASES):
            method, path, body, headers = http_case(rng, samples)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            assert response.status in (200, 201, 400, 413, 415, 422), (path, response.status,
                                                                        payload[:200])
            if response.status >= 400:
                assert json.loads(payload)["error"]
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", live_server.http_port,
                                                        timeout=30)
    finally:
        stop.set()
        good.join()
        connection.close()
    assert statuses.get(400, 0) > HTTP_CASES // 4  # most of them really were malformed
    assert len(outcomes) >= 5 and all(status == 200 for status, _ in outcomes)
    assert len({body["digit"] for _, body in outcomes}) == 1


def tcp_case(rng: random.Random, frame: bytes) -> bytes:
    """One malformed (or odd) camera stream."""
    hello = pack_message({"type": "hello", "protocol": 1, "client_id": f"f{rng.randrange(10**6)}"})
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 200))
    if kind == 1:
        return hello + rng.randbytes(rng.randint(1, 200))
    if kind == 2:
        text = json.dumps(random_json(rng)).encode()
        return struct.pack("!II", len(text), rng.choice([0, 3, 2**31])) + text
    if kind == 3:
        return mutate(rng, hello + pack_message({"type": "frame", "seq": 1}, frame))
    if kind == 4:
        return b"\xff\xd8" + mutate(rng, frame) + rng.randbytes(rng.randint(0, 100))
    if kind == 5:
        message = {"type": rng.choice(["hello", "frame", "bye"]), "protocol": random_json(rng),
                   "client_id": random_json(rng), "seq": random_json(rng)}
        return pack_message(message, rng.randbytes(rng.randint(0, 50)))
    return hello + pack_message({"type": "frame", "seq": rng.randrange(100)}, mutate(rng, frame))


def run_tcp_case(port: int, data: bytes) -> list[dict]:
    """Send a stream, half-close, and read every framed reply until the server closes."""
    replies = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        except OSError:  # the server may already have closed on a bad header
            pass
        if data[:2] == b"\xff\xd8":
            return [] if connection.recv(1) == b"" else [{"type": "unexpected bytes"}]
        try:
            while True:
                replies.append(read_message(connection)[0])
        except (ConnectionClosed, ConnectionResetError):
            return replies


def test_tcp_fuzz_never_breaks_the_server_or_other_cameras(live_server, client, digits):
    rng = random.Random(7)
    frame = encode(digits[0][0], ".jpg")
    good = CameraClient(live_server.tcp_port, "steady")
    good.send_frame(0, frame)
    assert good.receive()["text"].isdigit()
    threads_before = threading.active_count()
    cases = [tcp_case(rng, frame) for _ in range(TCP_CASES)]
    kinds: dict[str, int] = {}
    for index, data in enumerate(cases):
        for reply in run_tcp_case(live_server.tcp_port, data):
            assert reply["type"] in ("welcome", "result", "error"), reply
            kinds[reply["type"]] = kinds.get(reply["type"], 0) + 1
        if index % 100 == 99:
            good.send_frame(index, frame)
            result = good.receive()
            assert result["seq"] == index and result["text"].isdigit()
    assert kinds.get("error", 0) > TCP_CASES // 4 and kinds.get("welcome", 0) > 0
    cameras = wait_for(lambda: (c := client.get("/status").get_json()["cameras"])
                       and len(c) == 1 and c)
    assert cameras[0]["client_id"] == "steady"
    wait_for(lambda: threading.active_count() <= threads_before + 2)
    assert np.isfinite(cameras[0]["latency_ms"]["mean"])
    good.close()
