"""The line reader: a tiny training run, LiteRT against Keras, and the committed default's behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitlab.ctc import DecodedDigit
from digitlab.predict import Predictor
from digitlab.reader import LineReader, digit_columns
from digitlab.synthetic import ink_is_one_blob, paper_frame

MODELS = Path(__file__).resolve().parents[2] / "models"
DEFAULT_READER = MODELS / "reader" / "1"
DEFAULT_DIGITS = MODELS / "digits" / "1"


def served(name: str) -> Path:
    """The committed folder of the version a registry name serves."""
    from digitlab.registry import Registry

    return Registry(MODELS).path(name)


def test_tiny_training_saves_a_reader_with_its_card(tiny_reader):
    result, folder = tiny_reader
    import json

    card = json.loads((folder / "card.json").read_text())
    assert card["arch"] == "reader" and card["config"]["train_lines"] == 400
    assert card["data"]["sets"]["train"]["lines"] == 400
    assert set(card["metrics"]) == {"validation_sequence", "test_sequence"}
    assert 0.5 <= card["calibration"]["uncertain_threshold"] <= 0.99
    assert len(result.history["loss"]) == 1 and np.isfinite(result.history["loss"][0])


def test_litert_and_keras_read_alike(tiny_reader):
    result, folder = tiny_reader
    lines = [line for line, _ in zip(result.sets["validation"][0], range(12))]
    from digitlab.lineimage import LineInput

    inputs = [LineInput(np.pad(line.astype(np.float32) / 255, ((0, 0), (0, -line.shape[1] % 16))),
                        0, 0, 1.0, line.shape[1]) for line in lines]
    litert = LineReader.load(folder, backend="litert").probabilities(inputs)
    keras = LineReader.load(folder, backend="keras").probabilities(inputs)
    for a, b in zip(litert, keras):
        assert a.shape == b.shape and a.shape[1] == 11
        np.testing.assert_allclose(a, b, atol=2e-4)


def test_a_fine_tune_continues_a_reader_on_the_lines_people_saved(tiny_reader, mnist, isolated_dirs):
    from digitlab.line_samples import LineSamples
    from digitlab.reader_train import ReaderConfig, train_reader

    result, folder = tiny_reader
    saved = LineSamples()
    for index in range(12):
        line = result.sets["test"][0][index]
        saved.add(line, result.sets["test"][1][index])
    config = ReaderConfig.fine_tune(str(folder / "model.keras"), train_lines=100, validation_lines=20,
                                    test_lines=20, workers=1, store_repeat=3, seed=5)
    tuned = train_reader(config, mnist=mnist)
    train_count = saved.count("train")
    assert len(tuned.sets["train"][1]) == 100 + 3 * train_count
    assert tuned.config.to_dict()["initial_model"].endswith("model.keras")
    # it started from the tiny reader's weights, not from a fresh (seed 5) start
    import keras

    from digitlab.reader_model import build_reader

    keras.utils.set_random_seed(5)
    fresh = build_reader().get_layer("probabilities").get_weights()[0]
    start = result.model.get_layer("probabilities").get_weights()[0]
    tuned_weights = tuned.model.get_layer("probabilities").get_weights()[0]
    assert np.abs(tuned_weights - start).mean() < 0.2 * np.abs(fresh - start).mean()


def test_digit_columns_cut_halfway_between_the_steps_digits_fire_on():
    decoded = [DecodedDigit(3, 0.9, 2, 3), DecodedDigit(5, 0.8, 8, 10)]
    columns = digit_columns(decoded, ink_width=60)
    assert [(c.start_column, c.stop_column) for c in columns] == [(0.0, 23.0), (23.0, 60.0)]


# ------------------------------------------------------------ the committed default reader


@pytest.fixture(scope="module")
def readers():
    """The served digit model with and without the served line reader."""
    return (Predictor.load(served("digits"), reader=served("reader")),
            Predictor.load(served("digits"), reader=None))


def scenes(mnist, digits: int, count: int, gap, touching: bool, seed: int):
    """Paper photos of MNIST test digits and their texts."""
    _, (images, labels) = mnist
    rng = np.random.default_rng(seed)
    made = []
    while len(made) < count:
        chosen = rng.choice(len(images), digits, replace=False)
        frame, _ = paper_frame(list(images[chosen]), gap=gap, shadow=False, rng=rng)
        if not touching or ink_is_one_blob(frame):
            made.append((frame, "".join(str(labels[index]) for index in chosen)))
    return made


def text_right(predictor, made) -> float:
    return float(np.mean([predictor.read(frame).text == text for frame, text in made]))


def test_touching_pairs_are_read_far_better_than_by_cutting(mnist, readers):
    with_reader, cutting = readers
    made = scenes(mnist, 2, 60, -0.1, True, seed=11)
    assert text_right(with_reader, made) >= text_right(cutting, made) + 0.25


def test_separate_digits_read_at_least_as_well_as_by_cutting(mnist, readers):
    with_reader, cutting = readers
    made = scenes(mnist, 4, 40, (0.2, 0.6), False, seed=12)
    assert text_right(with_reader, made) >= text_right(cutting, made) - 0.05


def test_reading_gives_lines_with_digit_boxes_inside_them(mnist, readers):
    with_reader, _ = readers
    (frame, text), = scenes(mnist, 3, 1, 0.4, False, seed=13)
    reading = with_reader.read(frame)
    assert len(reading.lines) == 1 and reading.lines[0].text == reading.text
    x, y, width, height = reading.lines[0].box
    for digit in reading.digits:
        dx, dy, dw, dh = digit.box
        assert x - 2 <= dx and dx + dw <= x + width + 2 and y - 2 <= dy and dy + dh <= y + height + 2
    lefts = [digit.box[0] for digit in reading.digits]
    assert lefts == sorted(lefts)
    assert reading.to_dict()["lines"][0]["text"] == reading.text


def test_a_straightened_line_is_read_the_way_the_reader_is_surer_of(mnist, readers):
    import cv2

    from digitlab.scenes import least_sure
    from digitlab.textlines import find_lines

    with_reader, _ = readers
    chosen_as_found = 0
    for index, (frame, _) in enumerate(scenes(mnist, 4, 12, 0.1, False, seed=14)):
        turn = cv2.getRotationMatrix2D((320, 240), (-1) ** index * (6 + index % 5), 1.0)
        lines = find_lines(cv2.warpAffine(frame, turn, (640, 480), borderMode=cv2.BORDER_REPLICATE))
        tilted = [line for line in lines if line.as_found is not None]
        assert tilted, "a line turned 6-10 degrees is straightened"
        kept, read = with_reader.surest_lines(tilted)
        for line, digits, kept_line in zip(tilted, read, kept):
            straight, level = with_reader.reader.read([line.input, line.as_found.input])
            level_surer = least_sure(level) > least_sure(straight)  # the oracle: both ways read alone
            assert kept_line is (line.as_found if level_surer else line)
            assert [d.digit for d in digits] == [d.digit for d in (level if level_surer else straight)]
            chosen_as_found += level_surer
    assert 0 < chosen_as_found < 6  # straightening wins on most tilted lines, not on all


def test_blank_and_speck_only_photos_read_as_nothing(readers):
    import cv2

    with_reader, _ = readers
    paper = np.full((480, 640, 3), 215, np.uint8)
    assert with_reader.read(paper).text == ""
    rng = np.random.default_rng(3)
    for _ in range(25):
        cv2.circle(paper, tuple(int(v) for v in rng.integers(20, 460, 2)), 2, (50, 50, 50), -1)
    reading = with_reader.read(paper)
    assert reading.text == "" and reading.digits == [] and reading.lines == []


@pytest.mark.parametrize("shape", [(1, 3000), (1, 479), (2, 960), (5, 2000), (3000, 1), (2000, 2)])
def test_thin_strips_read_as_nothing_by_either_path(readers, shape):
    strip = np.full(shape, 230, np.uint8)
    strip[: max(1, shape[0] // 2), : max(1, shape[1] // 3)] = 20  # a dark bar along part of it
    for predictor in readers:
        reading = predictor.read(strip)
        assert reading.text == "" and reading.lines == [] and reading.digits == []


def lone_page(image28: np.ndarray) -> np.ndarray:
    """A drawing pad (300 x 300, white) with one MNIST digit drawn large on it, alone."""
    import cv2

    page = np.full((300, 300), 255, np.uint8)
    page[50:250, 50:250] = cv2.resize(255 - image28, (200, 200), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)


def test_a_lone_digit_is_read_by_the_digit_model_as_a_drawn_one_is(mnist, readers):
    from digitlab.textlines import find_lines

    with_reader, _ = readers
    _, (images, labels) = mnist
    right = lone = 0
    for image, label in zip(images[:40], labels[:40]):
        frame = lone_page(image)
        reading = with_reader.read(frame)
        (line,) = find_lines(frame)
        (read,) = with_reader.reader.read([line.input])
        right += reading.text == str(label)
        if len(read) != 1:  # a line the reader reads as several digits stays the reader's
            assert reading.text == "".join(str(digit.digit) for digit in read)
            continue
        lone += 1
        expected = with_reader.predict_one(frame)  # the oracle: Recognise mode on the whole pad
        assert reading.text == ("" if expected.not_digit else str(expected.digit))
        if reading.digits:  # the line's crop, not the whole pad: the same digit, nearly as sure
            assert reading.digits[0].confidence == pytest.approx(expected.confidence, abs=0.05)
    assert lone >= 35 and right >= 38


def test_a_lone_dot_or_blob_is_left_out_as_a_mark_but_a_number_is_not(mnist, readers):
    import cv2

    with_reader, _ = readers
    for radius in (10, 16, 24, 60):  # a large blob too (the frame's ink finder sees a ring)
        page = np.full((300, 300, 3), 255, np.uint8)
        cv2.circle(page, (150, 150), radius, (0, 0, 0), -1)
        reading = with_reader.read(page)
        assert (reading.text, reading.lines, reading.marks) == ("", [], 1), radius
        assert reading.to_dict()["marks"] == 1
    cv2.circle(page, (150, 40), 16, (0, 0, 0), -1)  # two lone dots: two marks
    assert with_reader.read(page).marks == 2
    (frame, text), = scenes(mnist, 3, 1, 0.4, False, seed=13)
    cv2.circle(frame, (40, 40), 14, (40, 40, 40), -1)  # a dot above a number: the number stays
    reading = with_reader.read(frame)
    assert reading.text == text and reading.marks == 1


def script_page(text: str) -> np.ndarray:
    """A photo of text written in OpenCV's script font (letters or digits alike)."""
    import cv2

    page = np.full((240, 480, 3), 225, np.uint8)
    cv2.putText(page, text, (60, 160), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 3.0, (40, 40, 40), 6,
                cv2.LINE_AA)
    return page


def test_lines_of_letters_are_flagged_uncertain_and_a_number_is_read(readers):
    with_reader, _ = readers
    for word in ["ABC", "xyz", "Hello", "mm", "Wow", "GHJ"]:
        lines = with_reader.read(script_page(word)).lines
        assert lines and all(line.uncertain for line in lines), word
    assert with_reader.read(script_page("2026")).text == "2026"


def test_a_predictor_follows_a_newly_promoted_reader(isolated_dirs):
    import shutil

    from digitlab.registry import Registry

    models = isolated_dirs / "models"
    shutil.copytree(DEFAULT_DIGITS, models / "digits" / "1")
    shutil.copytree(DEFAULT_READER, models / "reader" / "1")
    predictor = Predictor.load("digits")
    assert predictor.reader.model_id == "reader@1"
    assert not predictor.reload_if_changed(force=True)
    shutil.copytree(DEFAULT_READER, models / "reader" / "2")
    Registry().promote("reader", 2)
    assert predictor.reload_if_changed(force=True)
    assert predictor.reader.model_id == "reader@2" and predictor.model_id == "digits@1"
