"""Retraining in the background while predictions keep answering; promotion hot-reloads."""

from __future__ import annotations

import http.client
import io
import json
import threading
import time

import pytest

from tests.serve.helpers import (
    AUTH,
    CameraClient,
    encode,
    make_app,
    photo_of,
    start_server,
    wait_for,
)

TINY_JOB = {"epochs": 1, "replay_minimum": 300, "test_subset": 300, "validation_subset": 300,
            "augment": False, "min_samples": 5, "auto_promote": False}


def call(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    """One HTTP request to the live server; (status, JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if isinstance(body, dict) else body
        connection.request(method, path, body=payload,
                           headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


@pytest.fixture
def private_server(private_registry, tmp_path):
    """A live server on a private copy of the registry (this test adds and promotes versions)."""
    from digitlab.predict import Predictor

    app = make_app(Predictor.load("digits"), tmp_path)
    server = start_server(app)
    yield server, app
    server.stop()
    app.extensions["digitlab"].close()


def test_retrain_runs_in_background_while_predictions_keep_answering(private_server, digits):
    server, app = private_server
    images, labels = digits
    client = app.test_client()
    for label in range(10):  # a few corrections so the job has samples to learn from
        files = [(io.BytesIO(encode(photo_of(image))), f"{label}-{i}.png")
                 for i, image in enumerate(images[labels == label][:2])]
        assert client.post("/upload_training_data", data={"digit": str(label), "images": files},
                           headers=AUTH).status_code == 201

    stop, outcomes = threading.Event(), []

    def keep_predicting():
        while not stop.is_set():
            started = time.monotonic()
            status, body = call(server.http_port, "POST", "/predict", encode(images[0]),
                                {"Content-Type": "image/png"})
            outcomes.append((status, body.get("digit"), time.monotonic() - started))
            time.sleep(0.05)

    predicting = threading.Thread(target=keep_predicting)
    predicting.start()
    try:
        status, started = call(server.http_port, "POST", "/retrain_model", TINY_JOB, AUTH)
        assert status == 202, started
        assert started["success"] is True  # the reference server's key
        job_url = started["status_url"]
        assert job_url == f"/jobs/{started['job']}"
        again, refused = call(server.http_port, "POST", "/retrain_model", TINY_JOB, AUTH)
        assert again == 409 and "already running" in refused["error"]
        deadline = time.monotonic() + 240
        while (job := call(server.http_port, "GET", job_url)[1])["state"] not in (
                "succeeded", "failed", "cancelled") and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop.set()
        predicting.join()
    assert job["state"] == "succeeded", job
    assert len(outcomes) >= 10 and {status for status, _, _ in outcomes} == {200}
    assert max(seconds for _, _, seconds in outcomes) < 10

    versions = call(server.http_port, "GET", "/v1/models/digits")[1]["model_version_status"]
    assert [(v["version"], v["state"]) for v in versions] == [("2", "END"), ("1", "AVAILABLE")]


def test_promotion_hot_reloads_the_model_for_http_and_cameras(private_server, private_registry,
                                                              small_trained_model):
    from digitlab.registry import Registry

    server, _ = private_server
    registry = Registry()
    version = registry.save(small_trained_model.model, "digits", small_trained_model.card())
    assert version == 2
    assert call(server.http_port, "POST", "/promote", {"version": 2})[0] == 401
    status, body = call(server.http_port, "POST", "/promote", {"name": "digits", "version": 2},
                        AUTH)
    assert status == 200 and body == {"name": "digits", "version": 2, "model": "digits@2"}
    assert call(server.http_port, "GET", "/healthz")[1]["model"] == "digits@2"
    assert CameraClient(server.tcp_port, "after-promote").welcome["model"] == "digits@2"

    registry.promote("digits", 1)  # promoted elsewhere (another process): picked up by polling
    wait_for(lambda: call(server.http_port, "GET", "/healthz")[1]["model"] == "digits@1",
             timeout=8)
