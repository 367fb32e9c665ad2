"""The reference project's clients work unchanged, and the inputs it never checked are refused."""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time

import cv2
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serve.helpers import AUTH, CameraClient, encode, make_app, photo_of, wait_for


def reference_camera(http_port: int, tcp_port: int, frames: list, stop: threading.Event) -> None:
    """The reference Raspberry-Pi client: check /status, then 28x28 JPEG + FF D9 at 10 fps."""
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
    connection.request("GET", "/status")
    response = connection.getresponse()
    if response.status != 200 or json.loads(response.read()).get("status") != "running":
        raise RuntimeError("Server is not available")
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.connect(("127.0.0.1", tcp_port))
    index = 0
    while not stop.is_set():
        gray = cv2.cvtColor(frames[index % len(frames)], cv2.COLOR_BGR2GRAY)
        resized = cv2.resize(gray, (28, 28))
        _, buffer = cv2.imencode(".jpg", resized)
        client_socket.sendall(buffer.tobytes())
        client_socket.sendall(b"\xff\xd9")
        index += 1
        time.sleep(0.1)
    client_socket.close()


def test_the_reference_camera_client_streams_and_is_read(live_server, digits):
    images, labels = digits
    frames = [cv2.cvtColor(photo_of(images[0], 240), cv2.COLOR_GRAY2BGR)]  # what the Pi camera sees
    stop = threading.Event()
    camera = threading.Thread(target=reference_camera,
                              args=(live_server.http_port, live_server.tcp_port, frames, stop))
    camera.start()
    try:
        client = live_server.app.test_client()

        def read_right():
            status = client.get("/status").get_json()
            cameras = status["cameras"]
            if cameras and (cameras[0]["last_reading"] or {}).get("text") == str(labels[0]):
                return status
            return None

        status = wait_for(read_right, timeout=15)
        assert status["client_count"] == 1 and status["connected_clients"] == ["127.0.0.1"]
        assert status["model_loaded"] is True and status["training_data_count"] == 0
        page = client.get("/").get_data(as_text=True)
        assert 'id="empty" hidden' in page  # the page knows a camera is connected
        feed = client.get("/video_feed/127.0.0.1")  # the reference addressed cameras by IP
        assert feed.status_code == 200 and feed.mimetype == "multipart/x-mixed-replace"
        assert next(feed.response).startswith(b"--frame")
        feed.close()
    finally:
        stop.set()
        camera.join(timeout=10)
    assert not camera.is_alive()


def test_video_feed_by_address_needs_a_sole_camera(live_server, client, digits):
    first, second = (CameraClient(live_server.tcp_port, name) for name in ("left", "right"))
    wait_for(lambda: len(client.get("/status").get_json()["cameras"]) == 2)
    response = client.get("/video_feed/127.0.0.1")  # two cameras share the address
    assert response.status_code == 404 and "address" in response.get_json()["error"]
    assert client.get("/video_feed/left").status_code == 200
    first.close()
    second.close()


def upload(client, digit: str, image: np.ndarray):
    """POST one PNG to /upload_training_data as the reference web page did."""
    return client.post("/upload_training_data", headers=AUTH, data={
        "digit": digit, "images": [(io.BytesIO(encode(image)), "d.png")]})


def test_upload_answers_like_the_reference_and_only_ascii_digits_are_labels(client, app, digits):
    images, labels = digits
    stored = upload(client, str(labels[0]), images[0])
    assert stored.status_code == 201
    body = stored.get_json()
    assert body["success"] is True and body["count"] == 1 and body["digit"] == labels[0]
    for label in ("³", "٣", "３", "10", "", "a"):
        refused = upload(client, label, images[1])
        assert refused.status_code == 400, label
        assert refused.get_json()["success"] is False and "ASCII" in refused.get_json()["error"]
    assert app.extensions["digitlab"].store.total() == 1
    assert client.get("/status").get_json()["training_data_count"] == 1


def test_a_retrain_that_cannot_succeed_is_refused_at_once(client):
    response = client.post("/retrain_model", headers=AUTH, json={})
    assert response.status_code == 409
    body = response.get_json()
    assert body["success"] is False and "at least 10" in body["error"]
    assert client.post("/retrain_model", headers=AUTH,
                       json={"min_samples": "x"}).status_code == 400


@pytest.mark.parametrize("pixel", ["0.5", True, None, [0.5]])
def test_tf_serving_pixels_must_be_numbers(client, pixel):
    instance = [[0.0] * 28 for _ in range(28)]
    instance[3][4] = pixel
    response = client.post("/v1/models/digits:predict", json={"instances": [instance]})
    assert response.status_code == 400 and "instance 0" in response.get_json()["error"]


def test_tf_serving_version_routes(client, digits):
    instance = (digits[0][0] / 255.0).tolist()
    served = client.post("/v1/models/digits/versions/1:predict", json={"instances": [instance]})
    assert served.status_code == 200 and len(served.get_json()["predictions"][0]) == 10
    latest = client.post("/v1/models/digits:predict", json={"instances": [instance]}).get_json()
    assert served.get_json()["predictions"] == latest["predictions"]
    missing = client.post("/v1/models/digits/versions/2:predict", json={"instances": [instance]})
    assert missing.status_code == 404 and "Specific(digits, 2)" in missing.get_json()["error"]
    status = client.get("/v1/models/digits/versions/1").get_json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    assert client.get("/v1/models/digits/versions/7").status_code == 404


@pytest.mark.parametrize("host, allowed", [
    ("localhost:8000", True), ("127.0.0.1", True), ("[::1]:8000", True),
    ("LOCALHOST", True), ("evil.example", False), ("evil.example:8000", False),
    ("127.0.0.1.evil.example", False), ("", False)])
def test_loopback_server_checks_the_host_header(client, host, allowed):
    response = client.get("/status", headers={"Host": host})
    assert (response.status_code == 200) == allowed
    if not allowed:
        assert response.status_code == 403 and "--allow-host" in response.get_json()["error"]


def test_allowed_hosts_flag_and_public_binding(predictor, tmp_path):
    named = make_app(predictor, tmp_path, ALLOWED_HOSTS="cams.lab, [fd00::5]")
    assert named.test_client().get("/healthz", headers={"Host": "cams.lab:8000"}).status_code == 200
    assert named.test_client().get("/healthz", headers={"Host": "[fd00::5]"}).status_code == 200
    assert named.test_client().get("/healthz", headers={"Host": "other.lab"}).status_code == 403
    public = make_app(predictor, tmp_path, HOST="0.0.0.0")  # no list: any name (say so in docs)
    assert public.test_client().get("/healthz", headers={"Host": "any.lab"}).status_code == 200
    for app in (named, public):
        app.extensions["digitlab"].close()


def metric_samples(client) -> dict:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def test_metrics_show_routes_statuses_model_and_cameras(live_server, digits):
    client = live_server.app.test_client()
    client.post("/predict", data=encode(digits[0][0]), content_type="image/png")
    client.post("/predict", data=b"not an image", content_type="image/png")
    camera = CameraClient(live_server.tcp_port, "metered")
    for seq in range(3):
        camera.send_frame(seq, encode(digits[0][seq], ".jpg"))
        camera.receive()
    samples = metric_samples(client)
    route = (("method", "POST"), ("route", "/predict"))
    assert samples[("digitlab_http_requests_total", (*route, ("status", "200")))] == 1
    assert samples[("digitlab_http_requests_total", (*route, ("status", "400")))] == 1
    assert samples[("digitlab_http_request_duration_seconds_count", route)] == 2
    assert samples[("digitlab_model_info", (("model", "digits@1"), ("name", "digits"),
                                            ("version", "1")))] == 1
    cam = (("camera", "metered"),)
    assert samples[("digitlab_camera_frames_received_total", cam)] == 3
    assert samples[("digitlab_camera_frames_processed_total", cam)] == 3
    assert samples[("digitlab_camera_latency_seconds_count", cam)] == 3
    frozen = samples[("digitlab_camera_seconds_since_last_frame", cam)]
    time.sleep(0.6)  # a camera that stops sending shows it
    assert metric_samples(client)[("digitlab_camera_seconds_since_last_frame", cam)] > frozen + 0.5
    camera.close()
