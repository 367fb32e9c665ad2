"""The widgets on a page you can trust: fresh state when a page connects, saves that happen once
and only where they should, the keyboard back on the pad, and the app's words."""

from __future__ import annotations

import json

import numpy as np
from ipywidgets.comm import get_comm_manager

from digitlab.app import messages, page_loads
from digitlab.app.session import DrawingSession
from digitlab.app.widgets import DrawingApp
from digitlab.processes import wait_until
from digitlab.registry import Registry
from digitlab.store import SampleStore
from tests.app.fakes import FakeJobs, pen
from tests.app.helpers import ROOT, SHAPES, FakePredictor

RUNNING = {"id": "job-0", "state": "running", "progress": 0.4, "message": "epoch 2 of 5"}


def a_digit(seed: int) -> np.ndarray:
    """A distinct 28x28 image (the store keeps one copy of identical images)."""
    return np.random.default_rng(seed).integers(0, 255, (28, 28), dtype=np.uint8)


class PageComm:
    """The kernel side of a page's widget control comm."""

    def on_msg(self, handler):
        self.handler = handler


def open_control_comm() -> None:
    """What a page's widget manager does first: open the control comm (then ask for states)."""
    target = get_comm_manager().targets[page_loads.CONTROL_TARGET]
    target(PageComm(), {"metadata": {"version": "1.0.0"}, "content": {"data": {}}})


def test_a_connecting_page_shows_the_store_and_follows_a_running_job(app):
    # The preheated kernel built the app before these samples and this job existed.
    store = app.session.store
    newest = [store.add(a_digit(seed), 3, "canvas") for seed in range(2)][-1]
    app.jobs.release.clear()
    app.jobs.existing = dict(RUNNING)
    open_control_comm()  # a page opens: its widget manager asks for every widget's state
    assert app.history.slots[0].sample_id == newest.id
    assert "the default pool: 2 labelled samples" in app.retrain.summary.value
    assert app.state.job["id"] == "job-0" and "epoch 2 of 5" in app.retrain.status.value
    assert app.retrain.finetune_button.disabled and "job is running" in app.message.value
    page_loads.page_loading()  # a second page does not make this app follow the job twice
    app.jobs.release.set()
    wait_until(lambda: app.retrain.outcome is not None, 10, "the result card")
    assert app.retrain.decision.layout.display == "flex" and "digits@2" in app.retrain.result.value


def test_an_invalid_set_name_saves_nothing_and_says_why(app):
    store = app.session.store
    pen(app, SHAPES[1])
    app.key_pressed("1", False, False, False)  # one drawing in the default pool
    app.controls.mode_picker.value = "collect"
    app.collect.set_name.value = "no good"
    assert app.collect.progress.value == 0 and app.history.slots[0].sample_id is None
    pen(app, SHAPES[1])
    app.key_pressed("Enter", False, False, False)
    app.key_pressed("4", False, False, False)
    assert store.total() == 1 and store.recent(1)[0].set_name is None
    assert 'data-kind="error"' in app.message.value and "Not saved" in app.message.value
    assert "cannot name a model" in app.message.value
    assert app.collect.progress.value == 0 and app.collect.train_button.disabled
    app.collect.set_name.value = "good-name"
    app.key_pressed("Enter", False, False, False)
    assert store.total() == 2 and store.recent(1)[0].set_name == "good-name"


def test_a_second_click_on_save_keeps_the_first_clicks_message(app):
    pen(app, SHAPES[1])
    app.controls.label_buttons[4].click()
    app.controls.label_buttons[4].click()  # a double click
    app.key_pressed("Enter", False, False, False)  # and Enter on the pad just saved
    assert app.session.store.total() == 1
    assert 'data-kind="ok"' in app.message.value and "Saved as 4" in app.message.value
    app.clear()
    app.key_pressed("4", False, False, False)  # a pad cleared on purpose is blank again
    assert "Nothing to save: the canvas is blank" in app.message.value


def test_training_buttons_follow_the_job_and_a_second_click_does_nothing(app):
    app.jobs.release.clear()
    app.retrain.finetune_button.click()
    app.retrain.finetune_button.click()
    assert len(app.jobs.started) == 1 and "already running" not in app.message.value
    assert app.retrain.finetune_button.disabled
    app.jobs.release.set()
    wait_until(lambda: not app.state.job_running, 10, "the fine-tune to finish")
    assert not app.retrain.finetune_button.disabled
    app.controls.mode_picker.value = "collect"
    app.collect.per_digit.value = 1
    for digit in range(10):
        pen(app, [[(150 + digit, 60), (170, 280)]])
        app.key_pressed("Enter", False, False, False)
    app.jobs.release.clear()
    app.collect.train_button.click()
    app.collect.train_button.click()
    assert len(app.jobs.started) == 2 and "already running" not in app.message.value
    assert app.collect.train_button.disabled and app.retrain.finetune_button.disabled
    app.jobs.release.set()
    wait_until(lambda: not app.state.job_running, 10, "the scratch job to finish")
    assert not app.collect.train_button.disabled


def test_deleting_from_the_history_hands_the_keyboard_back_to_the_pad(app):
    focused = []
    app.pad.focus = lambda: focused.append(True)
    pen(app, SHAPES[1])
    app.key_pressed("4", False, False, False)
    app.history.slots[0].remove.click()
    assert app.session.store.total() == 0 and focused


def test_the_words_fit_the_numbers_and_the_mode(app, tmp_path):
    assert (messages.article(8), messages.article(7)) == ("an 8", "a 7")
    assert messages.counted(1, "drawing") == "1 drawing"
    pen(app, SHAPES[1])
    app.key_pressed("8", False, False, False)
    assert "the default pool: 1 labelled sample (1 correction)" in app.retrain.summary.value
    app.pad.pen_down(100, 100)  # a tap leaves a dot on the pad
    app.pad.pen_up(100, 100)
    assert "blank" not in app.message.value and "dot" in app.message.value
    app.retrain.finished({"id": "job-1", "state": "cancelled", "message": "cancelled"})
    assert "Training cancelled." in app.message.value and "cancelled: cancelled" not in (
        app.message.value + app.retrain.status.value)
    app.controls.mode_picker.value = "collect"
    app.collect.per_digit.value = 1
    app.collect.refresh({digit: 1 for digit in range(10) if digit != 8})
    assert "Draw an<b>8</b>" in app.collect.prompt.value
    app.show_samples()
    assert app.controls.accept_button.description == f"Save as {app.collect.wanted} (Enter)"
    assert "model is right" not in app.controls.keys.value
    unsure = FakePredictor(digit=8, confidence=0.45)
    session = DrawingSession(SampleStore(tmp_path / "unsure.sqlite"), Registry(tmp_path / "m"),
                             load_predictor=lambda spec: unsure)
    unsure_app = DrawingApp(session=session, jobs=FakeJobs())
    pen(unsure_app, SHAPES[1])
    assert "Unsure: an 8 or a " in unsure_app.result.value


def test_the_notebook_names_no_port():
    notebook = json.loads((ROOT / "notebooks" / "04_draw_and_correct.ipynb").read_text())
    text = "".join("".join(cell["source"]) for cell in notebook["cells"])
    assert "8866" not in text and "digitlab app" in text
