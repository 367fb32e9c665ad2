"""REST contract of the server through Flask's test client: every endpoint, input form and error."""

from __future__ import annotations

import base64
import io
import struct

import numpy as np
import pytest

from digitlab.paths import PROJECT_ROOT
from tests.serve.helpers import AUTH, encode, photo_of, scene

MODELS = PROJECT_ROOT / "models"

BLANK = encode(np.full((64, 64), 255, np.uint8))


def data_url(data: bytes) -> str:
    """A PNG data URL."""
    return "data:image/png;base64," + base64.b64encode(data).decode()


def check_prediction(body: dict) -> None:
    """The /predict response shape."""
    assert set(body) == {"digit", "confidence", "top", "probabilities", "predictions",
                         "uncertain", "not_digit", "model"}
    assert body["predictions"] == body["probabilities"]  # the reference server's key
    assert body["model"] == "digits@1"
    assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-3
    assert [t["digit"] for t in body["top"]][0] == body["digit"] and len(body["top"]) == 3
    assert body["confidence"] == pytest.approx(max(body["probabilities"]), abs=1e-5)


def test_predict_accepts_multipart_raw_and_json_alike(client, digits):
    images, labels = digits
    correct = 0
    for image, label in zip(images[:12], labels[:12]):
        png = encode(image)
        answers = [
            client.post("/predict", data={"image": (io.BytesIO(png), "d.png")}),
            client.post("/predict", data=png, content_type="image/png"),
            client.post("/predict", json={"image": base64.b64encode(png).decode()}),
            client.post("/predict", json={"image": data_url(png)}),
        ]
        bodies = [answer.get_json() for answer in answers]
        assert [answer.status_code for answer in answers] == [200] * 4, bodies
        for body in bodies:
            check_prediction(body)
            assert body["probabilities"] == bodies[0]["probabilities"]
        correct += bodies[0]["digit"] == label
    assert correct >= 10


def test_predict_handles_any_size_and_polarity(client, digits):
    images, labels = digits
    for image in images[:8]:
        bright = client.post("/predict", data=encode(image), content_type="image/png").get_json()
        photo = encode(photo_of(image, 400), ".jpg")
        dark = client.post("/predict", data=photo, content_type="image/jpeg").get_json()
        assert dark["digit"] == bright["digit"]


def test_a_thin_strip_reads_as_nothing_and_is_no_digit_to_predict(client):
    strip = encode(np.full((1, 3000), 200, np.uint8))
    answer = client.post("/read", data=strip, content_type="image/png")
    assert answer.status_code == 200 and answer.get_json()["text"] == ""
    answer = client.post("/predict", data=strip, content_type="image/png")
    assert answer.status_code == 422 and "blank" in answer.get_json()["error"]


def test_read_finds_every_digit_left_to_right(client, digits, predictor):
    images, labels = digits
    sure = [i for i, image in enumerate(images[:60])
            if (p := predictor.predict_one(image)).digit == labels[i] and p.confidence > 0.9][:4]
    page, centres = scene([images[i] for i in sure])
    answer = client.post("/read", data=encode(page, ".jpg"), content_type="image/jpeg")
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["text"] == "".join(str(labels[i]) for i in sure)
    assert body["model"] == "digits@1"
    for digit, centre in zip(body["digits"], centres):
        x, _, w, _ = digit["box"]
        assert x < centre < x + w and {"digit", "confidence", "box"} <= set(digit)


def test_tf_serving_predict_and_status(client, digits):
    images, labels = digits
    instances = [images[0].tolist(), (images[1] / 255.0).tolist(),
                 {"b64": base64.b64encode(encode(images[2])).decode()}]
    answer = client.post("/v1/models/digits:predict", json={"instances": instances})
    predictions = answer.get_json()["predictions"]
    assert answer.status_code == 200 and len(predictions) == 3
    assert all(len(p) == 10 and abs(sum(p) - 1) < 1e-3 for p in predictions)
    assert [int(np.argmax(p)) for p in predictions] == list(labels[:3])
    status = client.get("/v1/models/digits").get_json()
    assert status["model_version_status"] == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
    assert client.get("/v1/models/other").status_code == 404
    assert client.post("/v1/models/other:predict", json={"instances": instances}).status_code == 404


@pytest.mark.parametrize(("body", "status"), [
    ({"instances": []}, 400), ({"instances": [[1, 2, 3]]}, 400), ({"instance": []}, 400),
    ({"instances": [np.full((28, 28), 300).tolist()]}, 400), ({"instances": [{"b64": "!!"}]}, 400),
    ({"instances": [{"b64": base64.b64encode(BLANK).decode()}]}, 422),
    ({"instances": [np.zeros((28, 28)).tolist()] * 257}, 413),
])
def test_tf_serving_bad_instances(client, body, status):
    answer = client.post("/v1/models/digits:predict", json=body)
    assert answer.status_code == status and "error" in answer.get_json()


def forged_png(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size (the pixel data is a 1x1 image's)."""
    data = bytearray(encode(np.zeros((1, 1), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    return bytes(data)


@pytest.mark.parametrize(("kwargs", "status", "words"), [
    ({"data": b"not an image", "content_type": "image/png"}, 400, "not an image"),
    ({"data": encode(np.zeros((40, 40), np.uint8))[:60], "content_type": "image/png"}, 400, ""),
    ({"data": forged_png(6000, 5000), "content_type": "image/png"}, 400, "pixels"),
    ({"data": BLANK, "content_type": "image/png"}, 422, ""),
    ({"data": b"", "content_type": "image/png"}, 400, "empty"),
    ({"data": b"hello", "content_type": "text/plain"}, 415, "Content-Type"),
    ({"json": {"picture": "x"}}, 400, "image"),
    ({"json": {"image": "***"}}, 400, "base64"),
    ({"json": {"image": 7}}, 400, "base64"),
    ({"data": {"file": (io.BytesIO(b"x"), "x.png")}}, 400, "'image'"),
    ({"data": b"[" * 100_000 + b"]" * 100_000, "content_type": "application/json"}, 400, ""),
])
def test_predict_errors_are_json_with_the_right_code(client, kwargs, status, words):
    answer = client.post("/predict", **kwargs)
    assert answer.status_code == status and answer.is_json
    assert words in answer.get_json()["error"]


def test_body_too_large_is_413(client):
    answer = client.post("/predict", data=b"\xff" * (9 * 1024 * 1024), content_type="image/jpeg")
    assert answer.status_code == 413
    assert answer.get_json()["error"] == "the request body is over 8 MiB: send a smaller image"


def test_unknown_path_and_wrong_method_are_json(client):
    missing = client.get("/nothing-here")
    assert missing.status_code == 404 and "error" in missing.get_json()
    wrong = client.get("/predict")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"] and wrong.get_json()


def test_busy_server_answers_503_with_retry_after(client, app, digits):
    gate = app.extensions["digitlab"].requests
    taken = 0
    while gate.try_enter():
        taken += 1
    try:
        answer = client.post("/predict", data=encode(digits[0][0]), content_type="image/png")
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert "busy" in answer.get_json()["error"]
        assert client.get("/healthz").status_code == 200  # cheap endpoints are not limited
    finally:
        for _ in range(taken):
            gate.leave()
    assert client.post("/predict", data=encode(digits[0][0]),
                       content_type="image/png").status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/upload_training_data"), ("post", "/retrain_model"), ("post", "/promote")])
def test_writes_need_the_token(client, method, path):
    missing = getattr(client, method)(path)
    assert missing.status_code == 401 and missing.get_json()["error"]
    assert missing.headers["WWW-Authenticate"].lower().startswith("bearer")
    wrong = getattr(client, method)(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.get_json()["error"] == "wrong token"
    basic = getattr(client, method)(path, headers={"Authorization": "Basic dGVzdA=="})
    assert basic.status_code == 401


def upload(client, digit, files, headers=AUTH):
    """POST files (name, bytes) to /upload_training_data."""
    data = {"digit": digit, "images": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/upload_training_data", data=data, headers=headers)


def test_upload_stores_samples_and_training_stats_count_them(client, app, digits):
    images, _ = digits
    before = client.get("/training_stats").get_json()
    assert before["counts"] == {str(d): 0 for d in range(10)} and before["total"] == 0
    answer = upload(client, "3", [("a.png", encode(photo_of(images[0]))),
                                  ("b.jpg", encode(photo_of(images[1]), ".jpg"))])
    body = answer.get_json()
    assert answer.status_code == 201, body
    assert [s["file"] for s in body["stored"]] == ["a.png", "b.jpg"]
    assert not any(s["duplicate"] for s in body["stored"]) and body["counts"]["3"] == 2
    stats = client.get("/training_stats").get_json()
    assert stats["counts"]["3"] == 2 and stats["uploads"]["3"] == 2 and stats["total"] == 2
    store = app.extensions["digitlab"].store
    sample = store.get(body["stored"][1]["id"])
    assert sample.source == "upload" and sample.label == 3 and sample.image.shape == (28, 28)
    assert sample.original_png.startswith(b"\x89PNG")  # the JPEG upload is kept as PNG
    again = upload(client, "3", [("a.png", encode(photo_of(images[0])))]).get_json()
    assert again["stored"][0]["duplicate"] and again["counts"]["3"] == 2


@pytest.mark.parametrize(("digit", "files", "status"), [
    ("12", [("a.png", encode(np.eye(28, dtype=np.uint8) * 255))], 400),
    ("x", [("a.png", encode(np.eye(28, dtype=np.uint8) * 255))], 400),
    ("4", [], 400),
    ("4", [("a.txt", b"just text")], 415),
    ("4", [("ok.png", encode(np.eye(28, dtype=np.uint8) * 255)), ("blank.png", BLANK)], 422),
    ("4", [("broken.png", encode(np.eye(28, dtype=np.uint8) * 255)[:50])], 400),
])
def test_bad_uploads_store_nothing(client, digit, files, status):
    answer = upload(client, digit, files)
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"]
    assert client.get("/training_stats").get_json()["total"] == 0


def test_status_health_page_and_model_download(client, serve_root):
    status = client.get("/status").get_json()
    assert status["model"] == "digits@1" and status["cameras"] == []
    assert status["http"]["max_in_flight"] == 8
    assert client.get("/healthz").get_json() == {"status": "ok", "model": "digits@1"}
    page = client.get("/")
    assert page.status_code == 200 and b"digits@1" in page.data and b"/status" in page.data
    assert status["reader"] is None and b"none (digits cut apart)" in page.data
    assert f"--server localhost:{status['camera_port']} ".encode() in page.data  # how to connect
    model = client.get("/model")
    assert model.status_code == 200
    assert model.data == (serve_root / "models" / "digits" / "1" / "model.keras").read_bytes()
    assert "digits-v1.keras" in model.headers["Content-Disposition"]


def test_status_and_page_name_the_served_line_reader(private_registry, tmp_path):
    import shutil

    from digitlab.predict import Predictor
    from tests.serve.helpers import make_app

    shutil.copytree(MODELS / "reader" / "1", private_registry / "models" / "reader" / "1")
    app = make_app(Predictor.load("digits"), tmp_path)
    try:
        client = app.test_client()
        assert client.get("/status").get_json()["reader"] == "reader@1"
        assert b"reader@1" in client.get("/").data
    finally:
        app.extensions["digitlab"].close()


def test_promote_and_jobs_validate_their_input(client):
    assert client.post("/promote", json={"version": 9}, headers=AUTH).status_code == 404
    assert client.post("/promote", json={"version": "two"}, headers=AUTH).status_code == 400
    assert client.post("/promote", json={"name": "../x", "version": 1},
                       headers=AUTH).status_code == 400
    assert client.get("/jobs/does-not-exist").status_code == 404
    assert client.post("/retrain_model", json={"mode": "magic"}, headers=AUTH).status_code == 400
    assert client.post("/retrain_model", json={"rm": "-rf"}, headers=AUTH).status_code == 400


def test_live_view_labels_fit_their_digits_boxes():
    import cv2

    from digitlab.serve.monitor import annotate, digit_label

    digit = {"digit": 2, "confidence": 0.996, "box": [10, 40, 30, 50], "uncertain": False}
    assert digit_label(digit, box_width=30, font=1.0) == "2"  # side by side they would overlap
    assert digit_label(digit, box_width=200, font=1.0) == "2 100%"
    frame = np.full((240, 320), 200, np.uint8)
    view = cv2.imdecode(np.frombuffer(annotate(frame, {"digits": [digit]}), np.uint8), cv2.IMREAD_COLOR)
    assert view.shape[:2] == (240, 320) and (view[:36, 10:40] < 150).any()  # the label, above the box
