"""`--collect-uncertain`: camera digits wait for review; the loop back to the served model."""

from __future__ import annotations

import time

import pytest

from tests.serve.helpers import CameraClient, encode, make_app, serving, start_server, wait_for
from tests.serve.test_serve_jobs import TINY_JOB, call


def everything_uncertain():
    """The registry's model, made unsure of every digit (a camera full of hard cases)."""
    from digitlab.predict import Predictor

    predictor = Predictor.load("digits")
    predictor.uncertain_threshold = 1.01
    return predictor


def stream(port: int, camera_id: str, images) -> list[dict]:
    """Send frames one at a time and return the server's reading of each."""
    camera = CameraClient(port, camera_id)
    try:
        readings = []
        for seq, image in enumerate(images):
            camera.send_frame(seq, encode(image))
            readings.append(camera.receive())
        return readings
    finally:
        camera.close()


def test_uncertain_camera_digits_wait_for_review_capped_and_deduplicated(serve_env, tmp_path,
                                                                         digits):
    from digitlab.review import waiting_samples
    from digitlab.store import SampleStore

    images, _ = digits
    predictor = everything_uncertain()
    with serving(predictor, tmp_path, COLLECT_UNCERTAIN=True, COLLECT_PER_HOUR=5) as server:
        frames = [*images[:6], images[0], images[0], images[0]]  # a number left in view
        readings = stream(server.tcp_port, "cam-a", frames)
        collector = server.state.collector
        assert collector.wait_idle()
        assert collector.stats() == {"set_name": None, "per_hour": 5, "saved": 5,
                                     "duplicates": 3, "capped": 1, "dropped": 0}
        predictor.uncertain_threshold = 0.0  # a sure model: nothing is collected
        stream(server.tcp_port, "cam-b", images[10:12])
        assert collector.wait_idle()
        status = call(server.http_port, "GET", "/status")[1]
    store = SampleStore(tmp_path / "samples.sqlite")
    waiting = waiting_samples(store)
    assert [(s.camera, s.frame_id, s.source, s.label) for s in waiting] == \
        [("cam-a", seq, "camera", None) for seq in range(5)]
    assert [s.predicted for s in waiting] == [r["digits"][0]["digit"] for r in readings[:5]]
    assert {s.model_version for s in waiting} == {"digits@1"} and store.total() == 0
    assert all(s.original_png and 0 < s.confidence <= 1 for s in waiting)
    assert status["collect_uncertain"]["saved"] == 5 and status["training_data_count"] == 0


def test_collection_is_off_unless_asked_for(app, client):
    assert client.get("/status").get_json()["collect_uncertain"] is None
    assert app.extensions["digitlab"].collector is None


def test_the_command_line_turns_collection_on():
    from digitlab.serve.config import from_arguments

    config = from_arguments(["--collect-uncertain", "--collect-per-hour", "30"], environ={})
    assert config["COLLECT_UNCERTAIN"] is True and config["COLLECT_PER_HOUR"] == 30
    assert from_arguments([], environ={})["COLLECT_UNCERTAIN"] is False
    assert from_arguments(["--port", "9001"], environ={})["HTTP_PORT"] == 9001  # as `digitlab app`
    with pytest.raises(ValueError, match="per_hour"):
        from digitlab.serve.collect import UncertainCollector

        UncertainCollector(None, None, per_hour=0)


def test_review_loop_camera_to_app_to_fine_tune_to_the_served_model(private_registry, tmp_path,
                                                                     digits):
    """serve -> uncertain crops in the store -> labelled in the app -> fine-tune -> promoted ->
    served, with every part real (the app headless, at widget level)."""
    from digitlab.app.session import DrawingSession
    from digitlab.app.widgets import DrawingApp
    from digitlab.registry import Registry
    from digitlab.retrain_job import RetrainJobs
    from digitlab.store import SampleStore

    class TinyJobs(RetrainJobs):
        """The app's jobs with a test-sized fine-tune (1 epoch, small replay and subsets)."""

        def start_retrain(self, base="digits", **options):
            return super().start_retrain(base, **{**TINY_JOB, **options})

    images, labels = digits
    server_app = make_app(everything_uncertain(), tmp_path, COLLECT_UNCERTAIN=True)
    server = start_server(server_app)
    try:
        stream(server.tcp_port, "door", images[:40])
        assert server.state.collector.wait_idle()
        store_path = tmp_path / "samples.sqlite"
        session = DrawingSession(SampleStore(store_path), Registry(), model="digits")
        app = DrawingApp(session=session, jobs=TinyJobs(store_path=store_path))
        app.state.mode = "review"
        labelled = 0
        while (item := app.review.queue.current) is not None and labelled < 100:
            app.key_pressed(str(labels[item.sample.frame_id]), False, False, False)
            labelled += 1
        store = session.store
        assert labelled == store.total() >= 30 and "Nothing waits" in app.result.value
        assert store.counts(sources=["camera"]) == store.counts()

        app.state.mode = "train"
        app.retrain.finetune_button.click()
        deadline = time.monotonic() + 300
        while app.retrain.outcome is None and app.state.job_running \
                and time.monotonic() < deadline:
            time.sleep(0.5)
        assert app.retrain.outcome is not None, app.state.job
        assert app.retrain.outcome.candidate == "digits@2"
        app.retrain.promote()
        assert Registry().current("digits") == 2 and app.session.model_id == "digits@2"
        wait_for(lambda: call(server.http_port, "GET", "/healthz")[1]["model"] == "digits@2",
                 timeout=8)
        assert CameraClient(server.tcp_port, "after").welcome["model"] == "digits@2"
    finally:
        server.stop()
        server_app.extensions["digitlab"].close()
