"""Review, "label later", per-model sample sets and the Training tab, headless."""

from __future__ import annotations

import numpy as np

from digitlab.app.session import DrawingSession
from digitlab.app.strokes import enlarge
from digitlab.app.widgets import DrawingApp
from digitlab.review import waiting_count
from digitlab.store import SampleStore
from tests.app.fakes import FakeJobs, FakeRegistry, pen
from tests.app.helpers import SHAPES, FakePredictor


def camera_crop(ink: float, seed: int) -> np.ndarray:
    """A distinct 28x28 crop with about this share of ink (the fake model is surer with more)."""
    rng = np.random.default_rng(seed)
    return (rng.random((28, 28)) < ink).astype(np.uint8) * 255


def review_card(app) -> str:
    """The id of the sample the review card shows ('' when nothing waits)."""
    value = app.result.value
    return value.split('data-sample="')[1].split('"')[0] if 'data-sample="' in value else ""


def test_review_labels_the_least_certain_sample_first_by_key(app):
    store = app.session.store
    sure, unsure, middling = (store.add(camera_crop(ink, seed), None, "camera", predicted=7,
                                        confidence=0.5, camera="cam-1", frame_id=seed).id
                              for seed, ink in enumerate((0.45, 0.05, 0.2)))
    app.state.mode = "review"
    assert review_card(app) == str(unsure) and "camera cam-1, frame 1" in app.result.value
    assert "3 waiting" in app.result.value and app.pad.picture is not None
    black = enlarge(np.zeros((28, 28)), app.model_input.scale)
    assert app.model_input.saliency.value != black  # what the model looked at, as when drawing
    pen(app, SHAPES[1])  # the pad shows a sample: no ink is drawn over it
    assert app.session.recorder.is_empty()
    app.key_pressed("3", False, False, False)
    assert store.get(unsure).label == 3 and review_card(app) == str(middling)
    app.key_pressed("n", False, False, False)
    assert store.get(middling).not_digit and review_card(app) == str(sure)
    app.key_pressed("Backspace", False, False, False)
    assert not store.get(middling).not_digit and review_card(app) == str(middling)
    assert "waits again" in app.message.value
    app.key_pressed(" ", False, False, False)  # skipped: asked again after the others
    assert review_card(app) == str(sure)
    app.controls.label_buttons[8].click()  # the digit buttons label in Review too
    assert store.get(sure).label == 8 and review_card(app) == str(middling)
    assert "2 labels given here" in app.result.value
    assert "learns from the default pool: 2 labelled samples" in app.retrain.summary.value
    app.state.mode = "recognise"
    assert app.pad.picture is None
    pen(app, SHAPES[1])
    assert not app.session.recorder.is_empty()


def test_label_later_puts_a_drawing_in_the_review_queue(app):
    pen(app, SHAPES[7])
    app.key_pressed("l", False, False, False)
    store = app.session.store
    assert store.total() == 0 and waiting_count(store) == 1 and "Put aside" in app.message.value
    app.state.mode = "review"
    waiting = review_card(app)
    assert waiting and store.get(int(waiting)).source == "canvas"
    app.key_pressed("7", False, False, False)
    assert store.counts()[7] == 1 and "Nothing waits" in app.result.value


def test_corrections_belong_to_the_selected_models_set(tmp_path):
    registry = FakeRegistry(tmp_path / "models")
    predictors = {name: FakePredictor(digit=7, model_id=f"{name}@1") for name in ("digits", "alice")}
    session = DrawingSession(SampleStore(tmp_path / "samples.sqlite"), registry,
                             load_predictor=lambda spec: predictors[spec.partition("@")[0]])
    jobs = FakeJobs()
    app = DrawingApp(session=session, jobs=jobs)
    store = session.store
    app.models.choose("alice")
    assert app.state.set_name == "alice"
    pen(app, SHAPES[1])
    app.key_pressed("1", False, False, False)
    assert store.counts(set_name="alice")[1] == 1 and store.counts(set_name=None)[1] == 0
    assert "learns from the set <b>alice</b>" in app.retrain.summary.value
    app.retrain.finetune_button.click()
    assert jobs.started[-1] == ("alice", {"mode": "finetune", "auto_promote": False,
                                          "set_name": "alice"})
    app.models.choose("digits")
    assert app.state.set_name is None and "the default pool: 0 labelled" in \
        app.retrain.summary.value


def test_training_is_a_tab_with_its_progress_beside_its_buttons(app):
    controls = app.controls
    assert controls.training.layout.display == "none"
    app.state.mode = "train"
    assert controls.training.layout.display == "flex" and controls.columns.layout.display == "none"
    assert controls.message in controls.training.children  # what a job says shows here too
    app.retrain.finetune_button.click()
    assert app.retrain.progress.layout.display == "flex"
    buttons_row = app.retrain.box.children[2]
    assert app.retrain.finetune_button in buttons_row.children
    assert app.retrain.job_line in buttons_row.children
    app.state.mode = "collect"  # training from a set shows the same progress beside its button
    collect_row = app.collect.box.children[-1]
    assert app.collect.train_button in collect_row.children
    assert app.retrain.job_line in collect_row.children


def test_a_mark_that_is_not_a_digit_is_called_so_and_enter_does_not_save_it(tmp_path):
    fake = FakePredictor(digit=4, confidence=1.0, not_digit=True)
    session = DrawingSession(SampleStore(tmp_path / "samples.sqlite"), FakeRegistry(tmp_path / "m"),
                             load_predictor=lambda spec: fake)
    app = DrawingApp(session=session, jobs=FakeJobs())
    pen(app, SHAPES[1])
    assert 'data-state="not-digit"' in app.result.value
    assert "doesn't look like a digit" in app.result.value
    app.key_pressed("Enter", False, False, False)
    assert session.store.total() == 0 and "not a digit" in app.message.value
    app.key_pressed("1", False, False, False)  # the user knows better: a digit key still saves
    assert session.store.counts()[1] == 1
    app.controls.mode_picker.value = "read"  # in "Read a number", marks are left out and said so
    pen(app, SHAPES[1])
    assert "doesn&#x27;t look like a number" in app.result.value and 'data-digit=""' in app.result.value
