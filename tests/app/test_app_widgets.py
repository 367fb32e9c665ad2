"""The widgets headless: pointer and key events in, store changes and messages out."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from digitlab.app.keys import SHORTCUTS, key_action
from digitlab.app.launch import main, voila_command
from digitlab.app.pad import caption_places
from digitlab.app.session import DrawingSession
from digitlab.app.widgets import PAD_SIZES, DrawingApp
from digitlab.registry import Registry
from digitlab.store import SampleStore
from tests.app.fakes import FakeJobs, pen
from tests.app.helpers import SHAPES, FakePredictor, registry_with_reader, write_number


def test_stroke_end_shows_the_prediction(app):
    pen(app, SHAPES[7])
    assert 'data-digit="7"' in app.result.value and "70%" not in app.result.value
    assert "The model reads" in app.result.value


def test_keys_save_correct_and_undo(app):
    store = app.session.store
    pen(app, SHAPES[1])
    app.key_pressed("1", False, False, False)
    assert store.total() == 1 and store.recent(1)[0].source == "correction"
    assert "correction" in app.message.value and app.session.recorder.is_empty()
    assert app.history.slots[0].sample_id == store.recent(1)[0].id
    pen(app, SHAPES[7])
    app.key_pressed("Enter", False, False, False)
    assert store.total() == 2 and store.recent(1)[0].label == 7
    app.key_pressed("Backspace", False, False, False)
    assert store.total() == 1 and "Took back" in app.message.value
    assert "Its drawing is back on the pad" in app.message.value  # to save it right this time
    assert not app.session.recorder.is_empty() and 'data-digit="7"' in app.result.value
    app.key_pressed("Backspace", False, False, False)  # an older save: the pad keeps the 7
    assert store.total() == 0 and "back on the pad" not in app.message.value
    app.key_pressed("1", False, False, False)
    assert store.total() == 1
    slot = app.history.slots[0]
    slot.label.value = 4
    assert store.get(slot.sample_id).label == 4
    slot.remove.click()
    assert store.total() == 0 and app.history.slots[0].box.layout.display == "none"


def test_blank_canvas_messages(app):
    app.answer()
    assert "blank" in app.message.value and 'data-kind="warn"' in app.message.value
    app.key_pressed("5", False, False, False)
    assert "blank" in app.message.value and app.session.store.total() == 0


def test_read_mode_reads_several_digits(app):
    app.controls.mode_picker.value = "read"
    assert (app.session.recorder.width, app.session.recorder.height) == PAD_SIZES["read"]
    pen(app, [[(x - 60, y * 0.7) for x, y in SHAPES[1][0]]])
    pen(app, [[(x + 160, y * 0.7) for x, y in SHAPES[1][0]]])
    assert 'data-digit="77"' in app.result.value  # the fake reads every digit as 7
    assert len(app.pad.overlay_boxes) == 2


def test_the_pad_is_560_pixels_and_shrinks_with_its_column(app):
    recorder, canvas, layout = app.session.recorder, app.pad.canvas, app.pad.canvas.layout
    assert PAD_SIZES["recognise"] == PAD_SIZES["collect"] == (560, 560)
    assert (recorder.width, recorder.height) == (canvas.width, canvas.height) == (560, 560)
    assert (layout.width, layout.max_width, layout.height) == ("560px", "100%", "auto")
    assert layout.min_width is None  # a narrower column shows it smaller, pointer scaled back
    app.controls.mode_picker.value = "read"
    assert (canvas.width, canvas.height) == PAD_SIZES["read"] == (840, 300)
    assert layout.width == "840px" and layout.max_width == "100%"
    app.controls.mode_picker.value = "recognise"
    assert (canvas.width, canvas.height, layout.width) == (560, 560, "560px")
    pen(app, [[(x * 560 / 336, y * 560 / 336) for x, y in SHAPES[1][0]]])
    assert 'data-digit="7"' in app.result.value  # the fake answers 7 through the preprocessing


def test_right_click_presses_esc_on_the_pad_which_clears_it(app):
    page_script = app.widget.children[0].value  # the stylesheet widget carries the listener
    assert "contextmenu" in page_script and "preventDefault" in page_script
    assert "key: 'Escape'" in page_script and "event.button === 2" in page_script
    handler = page_script.split('onerror="', 1)[1].rstrip('">')
    assert '"' not in handler and "&" not in handler  # one plain attribute value
    pen(app, SHAPES[1])
    assert 'data-digit="7"' in app.result.value
    app.key_pressed("Escape", False, False, False)
    assert app.session.recorder.is_empty() and 'data-state="waiting"' in app.result.value


def test_collect_mode_asks_for_digits_and_trains_from_scratch(app):
    app.controls.mode_picker.value = "collect"
    app.collect.per_digit.value = 1
    assert app.collect.wanted == 0
    for digit in range(10):
        pen(app, [[(150 + digit, 60), (170, 280)]])  # a slightly different stroke each time
        app.key_pressed("Enter", False, False, False)
    assert app.session.store.counts(set_name="my-digits") == dict.fromkeys(range(10), 1)
    assert not app.collect.train_button.disabled
    app.collect.train_button.click()
    assert app.jobs.started[0][1]["mode"] == "scratch"
    assert app.jobs.started[0][1]["set_name"] == "my-digits"
    app.retrain.controller.close()


def test_retrain_shows_before_after_and_promotes(app):
    app.retrain.finetune_button.click()
    deadline = time.monotonic() + 10
    while app.retrain.outcome is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.retrain.outcome is not None  # the gate's row: the base model's validation split
    assert "<td>MNIST validation</td><td>98.0%</td><td>97.9%" in app.retrain.result.value
    assert "MNIST test" not in app.retrain.result.value  # a measurement, not the gate's
    assert "+25.0" in app.retrain.result.value  # holdout 50% -> 75%
    assert "<th>compared with digits@1</th>" in app.retrain.result.value
    app.retrain.promote_button.click()
    assert app.session.registry.promoted == [("digits", 2)]
    assert '<span class="dl-better">now in use</span>' in app.retrain.result.value


def test_a_running_job_is_explained(app):
    app.retrain.controller.jobs = FakeJobs(busy=True)
    app.retrain.finetune_button.click()
    assert "already running" in app.message.value


def test_views_show_the_app_state(app):
    state = app.state
    assert (state.mode, state.set_name, state.model, state.job) == ("recognise", None, "digits", None)
    state.mode = "collect"
    assert app.controls.mode_picker.value == "collect" and app.collect.box.layout.display == "flex"
    assert state.set_name == "my-digits" == app.session.set_name
    app.collect.set_name.value = "other-set"
    assert state.set_name == "other-set" == app.session.set_name
    state.set_name = "third-set"
    assert app.collect.set_name.value == "third-set" == app.session.set_name
    app.collect.set_name.value = "no good"
    assert state.set_name is None and 'data-kind="error"' in app.message.value
    app.controls.mode_picker.value = "read"
    assert state.mode == "read" and app.controls.saving.layout.display == "none"
    assert app.collect.box.layout.display == "none" and state.set_name is None
    state.notify("warn", "careful <now>")
    assert 'data-kind="warn"' in app.message.value and "careful &lt;now&gt;" in app.message.value


def test_every_key_names_a_bound_action(app):
    assert {key_action(key)[0] for key in [*SHORTCUTS, "0"]} == set(app.key_actions)


def test_the_model_and_the_job_live_in_the_state(app):
    app.models.follow("digits")
    assert app.state.model == "digits" and app.retrain.finetune_button.description == \
        "Fine-tune digits on its samples"
    app.retrain.finetune_button.click()
    assert app.state.job["id"] == "job-1"
    deadline = time.monotonic() + 10
    while app.retrain.outcome is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.job["state"] == "succeeded" and not app.state.job_running
    assert not app.retrain.finetune_button.disabled
    assert app.retrain.cancel_button.layout.display == "none"


def test_launch_builds_a_local_voila_command(tmp_path):
    command = voila_command(tmp_path / "app.ipynb", "127.0.0.1", 9999, False, True)
    assert "--Voila.ip=127.0.0.1" in command and "--port=9999" in command
    assert "--no-browser" in command and "--preheat_kernel=True" in command
    assert main(["--notebook", str(tmp_path / "missing.ipynb")]) == 2


def test_an_unsure_answer_says_so(tmp_path):
    fake = FakePredictor(digit=4, confidence=0.45)
    session = DrawingSession(SampleStore(tmp_path / "s.sqlite"), Registry(tmp_path / "models"),
                             load_predictor=lambda spec: fake)
    app = DrawingApp(session=session, jobs=FakeJobs())
    pen(app, SHAPES[1])
    assert 'data-state="unsure"' in app.result.value and "Unsure" in app.result.value


def test_without_a_model_the_app_explains_and_still_saves(tmp_path):
    def missing(spec):
        raise FileNotFoundError(f"no model {spec!r} in the registry")

    session = DrawingSession(SampleStore(tmp_path / "s.sqlite"), Registry(tmp_path / "models"),
                             load_predictor=missing)
    app = DrawingApp(session=session, jobs=FakeJobs())
    assert 'data-kind="error"' in app.message.value and "No model" in app.message.value
    assert app.controls.model_picker.disabled and app.state.model is None
    pen(app, SHAPES[1])
    assert "No model to ask" in app.message.value
    app.key_pressed("1", False, False, False)
    assert session.store.total() == 1


def test_the_app_kernel_never_imports_tensorflow(tmp_path):
    probe = ("import sys\nfrom digitlab.app.widgets import DrawingApp\napp = DrawingApp()\n"
             "heavy = [name for name in ('tensorflow', 'keras') if name in sys.modules]\n"
             "assert not heavy, heavy\n")
    environment = {**os.environ, "DIGITLAB_MODELS_DIR": str(tmp_path / "models"),
                   "DIGITLAB_DATA_DIR": str(tmp_path / "data"),
                   "DIGITLAB_RUNS_DIR": str(tmp_path / "runs")}
    completed = subprocess.run([sys.executable, "-c", probe], env=environment,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_the_answer_shows_what_the_model_looked_at(app):
    import cv2
    import numpy as np

    pen(app, SHAPES[7])
    shown = cv2.imdecode(np.frombuffer(app.model_input.saliency.value, np.uint8), cv2.IMREAD_COLOR)
    heat = shown[::5, ::5].astype(int)  # the 28x28 view, enlarged 5x
    image28 = app.session.predict().image28
    red = heat[..., 2] - heat[..., 0]
    # the fake model is surer the more ink there is: covering ink costs it, covering paper not
    near_ink = cv2.dilate((image28 > 0.05).astype(np.uint8), np.ones((11, 11), np.uint8))
    assert red[image28 > 0.5].mean() > 60
    assert red[near_ink == 0].max() <= 0
    app.clear()
    assert not cv2.imdecode(np.frombuffer(app.model_input.saliency.value, np.uint8),
                            cv2.IMREAD_COLOR).any()  # a cleared pad shows no heat


def test_enter_in_the_number_box_saves_the_line_as_the_button_does(app):
    app.controls.mode_picker.value = "read"
    app.controls.line_text.value = "17"
    app.controls.save_line_button.click()
    by_button = app.message.value
    assert "Nothing to save" in by_button  # the pad is blank
    app.notify("info", "")
    app.controls.line_text._handle_custom_msg({"event": "other"}, [])
    assert app.message.value == ""  # only Enter ("submit") saves
    app.controls.line_text._handle_custom_msg({"event": "submit"}, [])
    assert app.message.value == by_button


def test_a_typed_number_is_checked_before_saving(app):
    app.controls.mode_picker.value = "read"
    pen(app, SHAPES[1])
    for typed, said in (("", "Type the right number in the box first"),
                        ("abc", "Type digits 0-9 only"), ("１７", "Type digits 0-9 only"),
                        ("-17", "Type digits 0-9 only")):
        app.controls.line_text.value = typed
        app.controls.save_line_button.click()
        assert said in app.message.value, typed


def test_captions_of_overlapping_boxes_do_not_print_over_each_other():
    apart = caption_places([(10, 50, 20, 40), (60, 50, 20, 40)], 300)
    assert apart == [(20, 42), (70, 42)]  # centred above each box
    touching = caption_places([(10, 50, 20, 40), (14, 52, 20, 40)], 300)
    assert touching[0] == (20, 42) and touching[1] == (24, 52 + 40 + 22)  # the second goes below


@pytest.mark.slow
def test_saved_numbers_are_listed_said_twice_and_taken_back(real_model, isolated_dirs):
    registry_with_reader(isolated_dirs / "models")
    session = DrawingSession(SampleStore(), Registry())
    app = DrawingApp(session=session, jobs=FakeJobs())
    app.controls.mode_picker.value = "read"
    assert app.controls.saved_lines.layout.display == "block"
    assert app.controls.drawings.layout.display == "none"
    assert "saved numbers" in app.controls.samples_title.value
    assert "No numbers saved" in app.controls.saved_lines.value
    write_number(session, (1, 7), (40, 140))
    drawn = list(session.recorder.strokes)
    app.controls.line_text.value = "17"
    app.controls.line_text._handle_custom_msg({"event": "submit"}, [])
    assert "Saved 17" in app.message.value and app.controls.line_text.value == ""
    assert '<span class="dl-chip"' in app.controls.saved_lines.value
    assert ">17<" in app.controls.saved_lines.value and session.recorder.is_empty()
    app.controls.save_line_button.click()  # pressed again on the cleared pad: said so
    assert "That number is saved" in app.message.value
    app.key_pressed("Backspace", False, False, False)
    assert "Took back the saved number 17. Its drawing is back on the pad." in app.message.value
    assert "No numbers saved" in app.controls.saved_lines.value
    assert session.recorder.strokes == drawn and 'data-state="waiting"' not in app.result.value
    app.controls.undo_line_button.click()
    assert "Nothing to undo: no number was saved from this page" in app.message.value
    read = session.read().text
    app.key_pressed("Enter", False, False, False)  # Enter on the pad: the reader is right
    assert f"Saved {read}" in app.message.value and session.recorder.is_empty()
    app.controls.mode_picker.value = "recognise"  # drawings again, not numbers
    assert app.controls.saved_lines.layout.display == "none"
    assert app.controls.drawings.layout.display == "flex"
