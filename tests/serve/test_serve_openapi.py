"""serve/openapi.yaml: a valid document that lists every route and is true to real responses."""

from __future__ import annotations

import base64
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.serve.helpers import AUTH, encode, photo_of, scene

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "serve" / "openapi.yaml"
DOCUMENT = yaml.safe_load(DOCUMENT_PATH.read_text())
BASE_URI = "urn:digitlab:openapi"
SCHEMAS = Registry().with_resource(BASE_URI, DRAFT202012.create_resource(DOCUMENT))
OPERATIONS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
EVERY_ROUTE_STATUSES = {"403", "408", "413", "500"}  # Host check, deadline, body limit, bugs
WRONG_HOST = {"Host": "evil.example"}
STROKE = encode(np.eye(28, dtype=np.uint8) * 255)  # a diagonal line: some digit, not blank
BLANK = encode(np.full((64, 64), 255, np.uint8))
PIXELS = np.eye(28).tolist()


def openapi_path(rule: str) -> str:
    """A Flask rule such as /v1/models/<name>/versions/<int:version> as an OpenAPI template."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def escape(key: str) -> str:
    """A key as one JSON pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def follow(pointer: str) -> tuple[str, dict]:
    """The object at a JSON pointer of the document, and its own pointer, after any $ref."""
    node = DOCUMENT
    for segment in pointer.lstrip("/").split("/"):
        node = node[segment.replace("~1", "/").replace("~0", "~")]
    return follow(node["$ref"].removeprefix("#")) if "$ref" in node else (pointer, node)


def check(app, response) -> None:
    """Fail unless the document lists this status, content type, headers and body shape."""
    request = response.request
    rule, _ = app.url_map.bind("localhost").match(request.path, method=request.method,
                                                  return_rule=True)
    path, method = openapi_path(rule.rule), request.method.lower()
    status = str(response.status_code)
    answered = f"{request.method} {request.path} answered {status} {response.mimetype}"
    responses = DOCUMENT["paths"][path][method]["responses"]
    assert status in responses, f"{answered}, undocumented: {response.get_data()[:300]!r}"
    pointer, described = follow(f"/paths/{escape(path)}/{method}/responses/{status}")
    content = described.get("content", {})
    assert response.mimetype in content, f"{answered}; the document says {sorted(content)}"
    for name in described.get("headers", {}):
        header = follow(f"{pointer}/headers/{escape(name)}")[1]
        assert not header.get("required") or name in response.headers, f"{answered}: no {name}"
    if response.mimetype == "application/json":
        schema = {"$ref": f"{BASE_URI}#{pointer}/content/{escape(response.mimetype)}/schema"}
        Draft202012Validator(schema, registry=SCHEMAS).validate(response.get_json())


def options_of(request_options: dict) -> dict:
    """Test client options, where a "form" becomes fresh multipart data ((name, bytes): a file)."""
    def upload(value):
        return (io.BytesIO(value[1]), value[0]) if isinstance(value, tuple) else value

    fields = request_options.get("form")
    if fields is None:
        return request_options
    return {"content_type": "multipart/form-data", "data": {
        key: [upload(item) for item in value] if isinstance(value, list) else upload(value)
        for key, value in fields.items()}}


@contextlib.contextmanager
def full(gate):
    """Take every slot of a Gate, so the next request is refused as busy."""
    taken = sum(1 for _ in iter(gate.try_enter, False))
    try:
        yield
    finally:
        for _ in range(taken):
            gate.leave()


def test_document_is_valid_openapi_and_guards_every_operation(client):
    """The document passes openapi-spec-validator, lists the shared errors and is served."""
    validate(DOCUMENT)
    assert client.get("/openapi.yaml").data == DOCUMENT_PATH.read_bytes()
    for path, item in DOCUMENT["paths"].items():
        for method in set(item) & set(OPERATIONS):
            assert EVERY_ROUTE_STATUSES <= set(item[method]["responses"]), (path, method)


def test_every_route_is_documented_with_its_methods(app):
    """The app's url rules (but static) and the document's paths match, methods included."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            methods = {method.lower() for method in rule.methods} - {"head", "options"}
            routes.setdefault(openapi_path(rule.rule), set()).update(methods)
    documented = {path: set(item) & set(OPERATIONS) for path, item in DOCUMENT["paths"].items()}
    assert documented == routes


READS = {
    "/": 200, "/status": 200, "/healthz": 200, "/metrics": 200, "/training_stats": 200,
    "/model": 200, "/openapi.yaml": 200, "/v1/models/digits": 200, "/v1/models/other": 404,
    "/v1/models/digits/versions/1": 200, "/v1/models/digits/versions/7": 404,
    "/v1/models/other/versions/1": 404, "/jobs/not-a-job-id": 404,
    "/jobs/20250101-120000123-a1b2c3": 404, "/video_feed/nobody": 404}


@pytest.mark.parametrize(("path", "status"), READS.items())
def test_reads_match_the_document(client, app, path, status):
    """Every GET route, good and bad, and with a Host header that is not allowed (403)."""
    for headers, expected in (({}, status), (WRONG_HOST, 403)):
        answer = client.get(path, headers=headers)
        assert answer.status_code == expected, answer.data[:200]
        check(app, answer)


def test_status_and_live_view_of_a_connected_camera(client, app):
    """/status lists the camera, /video_feed streams it and refuses when the views are full."""
    from digitlab.serve.sessions import ClientSession

    session = ClientSession("cam-1", "127.0.0.1:50000", "v1")
    session.submit(1, b"frame")
    reading = {"text": "1", "digits": [{"digit": 1, "confidence": 0.9, "box": [2, 2, 20, 24],
                                        "uncertain": False}]}
    frame = np.eye(28, dtype=np.uint8) * 255
    session.finish(session.take(), {"type": "result", "seq": 1, **reading}, frame, reading)
    app.extensions["digitlab"].hub.sessions[session.client_id] = session
    status = client.get("/status")
    check(app, status)
    assert status.get_json()["cameras"][0]["last_reading"]["text"] == "1"
    feed = client.get("/video_feed/127.0.0.1")  # by address: the only camera from there
    check(app, feed)
    parts = iter(feed.response)
    assert next(parts) == b"--frame\r\n" and b"image/jpeg" in next(parts)
    feed.close()
    with full(app.extensions["digitlab"].video_feeds):
        check(app, client.get("/video_feed/cam-1"))
    session.close()


def base64_of(data: bytes, prefix: str = "") -> str:
    """Bytes as base64 text, after an optional data URL prefix."""
    return prefix + base64.b64encode(data).decode()


IMAGE_REQUESTS = [
    ({"form": {"image": ("d.png", STROKE)}}, 200), ({"form": {"image": base64_of(STROKE)}}, 200),
    ({"data": STROKE, "content_type": "image/png"}, 200),
    ({"data": STROKE, "content_type": "application/octet-stream"}, 200),
    ({"json": {"image": base64_of(STROKE)}}, 200),
    ({"json": {"image": base64_of(STROKE, "data:image/png;base64,")}}, 200),
    ({"data": b"not an image", "content_type": "image/png"}, 400),
    ({"data": b"", "content_type": "image/png"}, 400), ({"form": {"file": ("d.png", STROKE)}}, 400),
    ({"json": {"picture": "x"}}, 400), ({"json": {"image": "***"}}, 400),
    ({"json": {"image": "data:image/png,abc"}}, 400),
    ({"data": b"hello", "content_type": "text/plain"}, 415), ({}, 415),
    ({"data": b"\xff" * (9 * 1024 * 1024), "content_type": "image/jpeg"}, 413)]
TF_PREDICT, TF_REQUESTS = "/v1/models/digits:predict", [
    ({"instances": [PIXELS, {"b64": base64_of(STROKE)}]}, 200), ({"instances": []}, 400),
    ({"instances": [[1, 2, 3]]}, 400), ({"instances": [["x"] * 784]}, 400),
    ({"instance": []}, 400), ([PIXELS], 400), ({"instances": [{"b64": "!!"}]}, 400),
    ({"instances": [{"b64": base64_of(BLANK)}]}, 422),
    ({"instances": [np.zeros(784).tolist()] * 257}, 413)]
UPLOADS = [
    ({"digit": "3", "images": [("a.png", STROKE), ("b.jpg", encode(np.eye(28) * 255, ".jpg"))]},
     201),
    ({"digit": "12", "images": [("a.png", STROKE)]}, 400),
    ({"digit": "٣", "images": [("a.png", STROKE)]}, 400), ({"digit": "4"}, 400),
    ({"digit": "4", "images": [("a.txt", b"just text")]}, 415),
    ({"digit": "4", "images": [("ok.png", STROKE), ("blank.png", BLANK)]}, 422),
    ({"digit": "4", "images": [("broken.png", STROKE[:50])]}, 400),
    ({"digit": "4", "images": [("big.png", b"\x89PNG\r\n\x1a\n" * (1024 * 1024 + 1))]}, 413)]
RETRAINS = [
    ({}, 409), ({"min_samples": 1}, 409), ({"mode": "magic"}, 400), ({"rm": "-rf"}, 400),
    ({"base": "other"}, 400), ({"min_samples": "10"}, 400), (["finetune"], 400),
    ({"max_mnist_drop": 0.01}, 400), ({"validation_subset": 0}, 400)]
PROMOTIONS = [
    ({"json": {"version": 1}}, 200), ({"json": {"name": "digits", "version": "1"}}, 200),
    ({"form": {"version": "1"}}, 200), ({"json": {"version": 9}}, 404),
    ({"json": {"name": "nothing", "version": 1}}, 404), ({"json": {"version": "two"}}, 400),
    ({"json": {"name": "../x", "version": 1}}, 400), ({"json": {"version": True}}, 400),
    ({"data": b"\xff" * (9 * 1024 * 1024), "content_type": "application/json"}, 413)]
POSTS = [
    *((route, options, status) for route in ("/predict", "/read")
      for options, status in IMAGE_REQUESTS),
    ("/predict", {"data": BLANK, "content_type": "image/png"}, 422),
    ("/read", {"data": BLANK, "content_type": "image/png"}, 200),  # nothing found, no 422
    *((TF_PREDICT, {"json": body}, status) for body, status in TF_REQUESTS),
    ("/v1/models/digits/versions/1:predict", {"json": {"instances": [PIXELS]}}, 200),
    ("/v1/models/digits/versions/2:predict", {"json": {"instances": [PIXELS]}}, 404),
    ("/v1/models/other:predict", {"json": {"instances": [PIXELS]}}, 404),
    *(("/upload_training_data", {"form": form}, status) for form, status in UPLOADS),
    ("/upload_training_data", {"json": {"digit": "3"}}, 400),
    *(("/retrain_model", {"json": options}, status) for options, status in RETRAINS),
    ("/retrain_model", {"data": "not json"}, 400),
    ("/retrain_model", {"data": b"{" * (9 * 1024 * 1024)}, 413),
    *(("/promote", options, status) for options, status in PROMOTIONS)]


@pytest.mark.parametrize(("route", "request_options", "status"), POSTS)
def test_posts_match_the_document(request, client, app, route, request_options, status):
    """Every POST route in each request form, and its errors, with the token."""
    if route == "/promote":  # it writes to the registry: use a copy (the app opens it lazily)
        request.getfixturevalue("private_registry")
    answer = client.post(route, headers=AUTH, **options_of(request_options))
    assert answer.status_code == status, answer.get_json()
    check(app, answer)


LIMITED = ("/predict", "/read", TF_PREDICT, "/v1/models/digits/versions/1:predict",
           "/upload_training_data")  # the POST routes behind MAX_IN_FLIGHT
ACCEPTED = {route: options for route, options, status in POSTS if route in LIMITED and status < 300}


@pytest.mark.parametrize(("route", "accepted"), ACCEPTED.items())
def test_busy_and_wrong_host_posts_match_the_document(client, app, route, accepted):
    """A request a route accepts is refused as busy (503) when full and by Host (403)."""
    check(app, client.post(route, headers={**AUTH, **WRONG_HOST}, **options_of(accepted)))
    with full(app.extensions["digitlab"].requests):
        busy = client.post(route, headers=AUTH, **options_of(accepted))
    assert busy.status_code == 503
    check(app, busy)


def test_read_of_real_digits_and_busy_model_download(client, app, digits):
    """A scene of MNIST digits and a photo of one read as documented; /model 503s when busy."""
    page, _ = scene(list(digits[0][:3]))
    for image in (encode(page, ".jpg"), encode(photo_of(digits[0][0]), ".jpg")):
        answer = client.post("/read", data=image, content_type="image/jpeg")
        assert answer.get_json()["digits"], answer.get_json()
        check(app, answer)
    with full(app.extensions["digitlab"].requests):
        check(app, client.get("/model"))


def test_read_leaves_a_lone_mark_out_and_counts_it_as_documented(digits, tmp_path):
    """With the served models (reader and rejector), a dot beside a number is counted in marks."""
    import cv2

    from digitlab.predict import Predictor
    from digitlab.registry import Registry as ModelRegistry
    from tests.serve.helpers import make_app

    served = ModelRegistry(Path(__file__).resolve().parents[2] / "models")
    predictor = Predictor.load(served.path("digits"), reader=served.path("reader"),
                               rejector=served.path("notdigit"))
    app = make_app(predictor, tmp_path)
    try:
        page, _ = scene(list(digits[0][:3]))
        text = predictor.read(page).text
        page = np.pad(page, ((0, 0), (0, 400), (0, 0)), constant_values=235)
        cv2.circle(page, (page.shape[1] - 150, page.shape[0] // 2), 18, (20, 20, 20), -1)
        answer = app.test_client().post("/read", data=encode(page, ".png"), content_type="image/png")
        body = answer.get_json()
        assert (body["text"], body["marks"]) == (text, 1) and text, body
        check(app, answer)
    finally:
        app.extensions["digitlab"].close()


@pytest.mark.parametrize("route", ["/upload_training_data", "/retrain_model", "/promote"])
def test_write_routes_refuse_without_the_right_token_or_host(client, app, route):
    """401 without a bearer token, 403 with a wrong one or a wrong Host, all as documented."""
    for headers in ({}, {"Authorization": "Basic dGVzdA=="}, {"Authorization": "Bearer wrong"},
                    {**AUTH, **WRONG_HOST}):
        answer = client.post(route, headers=headers)
        assert answer.status_code in (401, 403)
        check(app, answer)


def test_retrain_job_started_refused_again_and_followed(private_registry, client, app):
    """202 with Location, 409 while it runs, then /jobs/<id> (the job is cancelled at once)."""
    started = client.post("/retrain_model", json={"min_samples": 0}, headers=AUTH)
    assert started.status_code == 202, started.get_json()
    check(app, started)
    job = started.get_json()["job"]
    try:
        again = client.post("/retrain_model", json={"min_samples": 0}, headers=AUTH)
        assert again.status_code == 409, again.get_json()
        check(app, again)
    finally:
        app.extensions["digitlab"].jobs.cancel(job, timeout=2)
    followed = client.get(started.headers["Location"])
    assert followed.get_json()["state"] in ("cancelled", "failed")
    check(app, followed)
