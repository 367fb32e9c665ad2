"""The app's logic without a browser: strokes, rasterising, predicting, saving and undoing."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.app.collect import CollectionPlan, InvalidSetNameError, check_set_name
from digitlab.app.keys import key_action
from digitlab.app.session import DrawingSession, NoModelError, NothingToUndoError
from digitlab.app.strokes import Stroke, StrokeRecorder, rasterise
from digitlab.ink import EmptyImageError
from digitlab.registry import Registry
from digitlab.store import SampleStore
from tests.app.helpers import (
    SHAPES,
    FakePredictor,
    draw,
    registry_with_reader,
    write_number,
)


@pytest.fixture
def session(tmp_path):
    """A session on a temp store with a predictor that always answers 7."""
    fake = FakePredictor(digit=7)
    return DrawingSession(SampleStore(tmp_path / "samples.sqlite"), Registry(tmp_path / "models"),
                          model="fake", load_predictor=lambda spec: fake)


def test_rasterise_draws_round_ink_on_white():
    image = rasterise([Stroke(10, [(20, 50), (80, 50)]), Stroke(12, [(50, 90)])], 100, 120)
    assert image.shape == (120, 100) and image.dtype == np.uint8
    assert image[50, 50] == 0 and image[50, 20] == 0  # on the line and its round cap
    assert image[90, 50] == 0  # a dot (a stroke of one point)
    assert image[5, 5] == 255 and image[50, 95] == 255


def test_recorder_clamps_undoes_and_clears():
    recorder = StrokeRecorder(100, 100, pen_width=8)
    assert recorder.is_empty() and recorder.extend(5, 5) is None
    recorder.begin(-20, 50)
    recorder.extend(150, 50)
    recorder.end()
    assert recorder.strokes[0].points == [(0.0, 50.0), (99.0, 50.0)]
    recorder.begin(10, 10)
    recorder.end(10, 90)
    assert len(recorder.strokes) == 2 and recorder.undo().points[-1] == (10.0, 90.0)
    recorder.clear()
    assert recorder.is_empty() and (recorder.image() == 255).all()


def test_strokes_become_a_prediction_and_blank_raises(session):
    with pytest.raises(EmptyImageError):
        session.predict()
    draw(session.recorder, SHAPES[7])
    prediction = session.predict()
    assert prediction.digit == 7 and prediction.image28.shape == (28, 28)
    assert prediction.image28.max() == pytest.approx(1.0)
    assert session.predict() is prediction  # cached until the drawing changes
    session.undo_stroke()
    with pytest.raises(EmptyImageError):
        session.predict()


def test_every_new_stroke_gets_a_fresh_answer(session):
    draw(session.recorder, [[(100, 80), (240, 80)]])
    first = session.predict()
    draw(session.recorder, [[(240, 80), (150, 280)]])  # a 7 drawn in two strokes
    second = session.predict()
    assert second is not first and session.predictor.calls == 2
    assert second.image28.sum() > first.image28.sum() * 0.5


def test_save_undo_relabel_and_delete_update_the_store(session):
    store = session.store
    draw(session.recorder, SHAPES[7])
    agreed = session.accept()
    assert (agreed.label, agreed.source, agreed.corrected) == (7, "canvas", False)
    session.clear()
    draw(session.recorder, SHAPES[1])
    corrected = session.save(1)
    assert (corrected.source, corrected.predicted, corrected.corrected) == ("correction", 7, True)
    stored = store.get(corrected.sample_id)
    assert stored.label == 1 and stored.model_version == "digits@1"
    assert stored.original_png.startswith(b"\x89PNG") and stored.image.shape == (28, 28)
    assert session.counts()[1] == 1 and session.counts()[7] == 1
    assert [sample.id for sample in session.history()] == [corrected.sample_id, agreed.sample_id]

    assert session.undo_save() == corrected.sample_id and store.total() == 1
    session.relabel(agreed.sample_id, 4)
    assert store.get(agreed.sample_id).label == 4 and session.counts()[4] == 1
    assert session.delete(agreed.sample_id) and store.total() == 0
    with pytest.raises(NothingToUndoError):
        session.undo_save()


def test_blank_save_raises_and_duplicates_are_not_undone_twice(session):
    with pytest.raises(EmptyImageError):
        session.save(3)
    draw(session.recorder, SHAPES[0])
    first = session.save(0)
    again = session.save(0)
    assert again.duplicate and again.sample_id == first.sample_id
    assert session.saved_ids == [first.sample_id]


def test_without_a_model_drawings_can_still_be_saved(tmp_path):
    def missing(spec):
        raise FileNotFoundError(f"no model {spec}")

    session = DrawingSession(SampleStore(tmp_path / "s.sqlite"), Registry(tmp_path / "models"),
                             load_predictor=missing)
    assert session.predictor is None and "no model" in session.model_error
    draw(session.recorder, SHAPES[1])
    with pytest.raises(NoModelError):
        session.predict()
    result = session.save(1)
    assert result.source == "canvas" and result.predicted is None
    assert session.store.get(result.sample_id).label == 1


def test_custom_set_saves_go_to_their_set(session):
    session.set_name = "my-digits"
    draw(session.recorder, SHAPES[1])
    session.save(1, source="canvas")
    assert session.store.counts(set_name="my-digits")[1] == 1
    assert session.store.counts(set_name=None)[1] == 0


def test_collection_plan_asks_for_the_digit_furthest_behind():
    plan = CollectionPlan("mine", per_digit=2)
    counts = dict.fromkeys(range(10), 0)
    assert plan.next_digit(counts) == 0 and plan.next_digit(counts, last=0) == 1
    counts.update({0: 2, 1: 1})
    assert plan.next_digit(counts, last=0) == 2 and plan.done(counts) == 3
    full = dict.fromkeys(range(10), 5)
    assert plan.complete(full) and plan.done(full) == 20 and plan.next_digit(full) is None
    assert check_set_name(" my-set ") == "my-set"
    for bad in ("", "a/b", "..", "digits", "has space"):
        with pytest.raises(InvalidSetNameError):
            check_set_name(bad)


def test_keys_map_to_actions():
    assert key_action("7") == ("save", 7)
    assert key_action("Enter") == ("accept", None)
    assert key_action("Backspace") == ("undo_save", None)
    assert key_action("Escape") == ("clear", None) and key_action("C") == ("clear", None)
    assert key_action("z", ctrl=True) == ("undo_stroke", None)
    assert key_action("7", ctrl=True) is None and key_action("Tab") is None


@pytest.mark.slow
def test_a_real_model_reads_drawn_strokes(real_model):
    session = DrawingSession(SampleStore(), Registry())
    assert session.model_id == "digits@1"
    assert session.model_choices()[0][1] == "digits"
    for digit in (1, 0):
        session.clear()
        draw(session.recorder, SHAPES[digit])
        assert session.predict().digit == digit


@pytest.mark.slow
def test_a_real_model_reads_a_number(real_model):
    session = DrawingSession(SampleStore(), Registry(), width=560, height=240)
    for digit, left in ((1, 20), (0, 150), (7, 330)):
        draw(session.recorder, [[(left + 0.6 * x, 10 + 0.6 * y) for x, y in stroke]
                                for stroke in SHAPES[digit]])
    reading = session.read()
    assert reading.text == "107"
    assert [box[0] for box in (d.box for d in reading.digits)] == sorted(
        d.box[0] for d in reading.digits)


def test_the_model_menu_offers_digit_models_only(real_model, isolated_dirs):
    registry_with_reader(isolated_dirs / "models", rejector=True)
    session = DrawingSession(SampleStore(), Registry())
    assert [spec for _, spec in session.model_choices()] == ["digits", "digits@1"]
    assert session.reader_id == "reader@1"  # the reader still reads numbers beside it


@pytest.mark.slow
def test_a_typed_number_saves_the_line_for_the_reader(real_model, isolated_dirs):
    from digitlab.line_samples import LineSamples
    from digitlab.samples import StoreError

    registry_with_reader(isolated_dirs / "models")
    store = SampleStore()
    session = DrawingSession(store, Registry(), width=560, height=240)
    assert session.predictor.reader is not None
    with pytest.raises(EmptyImageError):
        session.save_line("17")
    write_number(session, (1, 7), (20, 120))
    assert session.read().lines[0].text == session.read().text
    with pytest.raises(StoreError, match="1 line of digits: type 1 number"):
        session.save_line("17 4")
    with pytest.raises(StoreError, match="digits"):
        session.save_line("1x")
    with pytest.raises(StoreError, match="the reader sees 2 digits where you typed 6"):
        session.save_line("123456")
    (saved,) = session.save_line("17")
    assert saved.text == "17" and not saved.duplicate
    images, texts = LineSamples(store).lines(saved.split)
    assert texts == ["17"] and images[0].shape[0] == 32
    assert session.save_line("17")[0].duplicate  # the same drawing is stored once
    assert [line.text for line in session.recent_lines()] == ["17"]
    assert session.save_line("71")[0].relabelled_from == "17"  # typed again: relabelled
    (restored,) = session.undo_line_save()  # taking the relabel back gives the old text again
    assert restored.relabelled_from == "17" and LineSamples(store).lines(saved.split)[1] == ["17"]
    assert [line.text for line in session.undo_line_save()] == ["17"]  # the duplicate added none
    assert session.recent_lines() == [] and LineSamples(store).count() == 0
    with pytest.raises(NothingToUndoError, match="no number was saved from this page"):
        session.undo_line_save()


@pytest.mark.slow
def test_a_dot_beside_a_number_is_left_out_of_the_reading_and_of_the_saved_lines(real_model,
                                                                               isolated_dirs):
    registry_with_reader(isolated_dirs / "models", rejector=True)
    session = DrawingSession(SampleStore(), Registry(), width=840, height=300)
    assert session.predictor.rejector is not None
    write_number(session, (1, 7), (20, 120))
    draw(session.recorder, [[(720, 150), (721, 151)]])  # a dot, far right: a line of its own
    reading = session.read()
    assert (reading.text, reading.marks) == ("17", 1)
    (saved,) = session.save_line("17")  # one number for the one line the reading shows
    assert saved.text == "17"

