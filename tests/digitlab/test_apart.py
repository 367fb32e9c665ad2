"""Digits written apart in a line are read again by the digit model from their own ink."""

from pathlib import Path

import numpy as np
import pytest

from digitlab.apart import apart_digits
from digitlab.predict import Predictor
from digitlab.preprocess import to_mnist
from digitlab.synthetic import ink_is_one_blob, paper_frame, render_segment_digit
from digitlab.textlines import find_lines

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def predictor():
    from digitlab.registry import Registry

    registry = Registry(MODELS)
    return Predictor.load(registry.path("digits"), reader=registry.path("reader"))


def one_line(frame):
    lines = find_lines(frame)
    assert len(lines) == 1
    return lines[0]


def spans_of(predictor, line):
    return [(digit.start_column, digit.stop_column) for digit in predictor.reader.read([line.input])[0]]


def test_each_digit_written_apart_is_its_own_mnist_image(mnist, predictor):
    _, (images, labels) = mnist
    frame, _ = paper_frame(list(images[:3]), gap=0.5, shadow=False, specks=0, rng=0)
    line = one_line(frame)
    found = apart_digits(line, spans_of(predictor, line))
    assert len(found) == 3 and sum(image is not None for image in found) >= 2
    for image, digit, label in zip(found, images[:3], labels[:3]):
        if image is not None:  # what Recognise mode makes of the digit alone
            assert np.abs(image - to_mnist(255 - digit)).mean() < 0.08
            assert predictor.predict_one(image).digit == label


def test_touching_digits_and_two_readings_on_one_digit_are_not_apart(mnist, predictor):
    _, (images, _) = mnist
    rng = np.random.default_rng(4)
    for _ in range(20):
        frame, _ = paper_frame(list(images[rng.choice(len(images), 2)]), gap=-0.15, shadow=False,
                               specks=0, rng=rng)
        if ink_is_one_blob(frame):
            break
    line = one_line(frame)
    assert apart_digits(line, spans_of(predictor, line)) == [None, None]
    frame, _ = paper_frame([images[3]], shadow=False, specks=0, rng=1)  # one 0 read as "11"
    line = one_line(frame)
    middle = line.input.ink_width / 2
    assert apart_digits(line, [(0.0, middle), (middle, float(line.input.ink_width))]) == [None, None]


def test_reading_digits_apart_again_reads_blocky_handwriting_better(predictor):
    rng = np.random.default_rng(9)
    right_checked = right_reader = 0
    for _ in range(40):
        labels = rng.integers(0, 10, 3)
        frame, _ = paper_frame([render_segment_digit(int(label), rng) for label in labels], gap=(0.3, 0.6),
                               shadow=False, specks=0, rng=rng)
        text = "".join(str(label) for label in labels)
        right_checked += predictor.read(frame).text == text
        line = one_line(frame)
        right_reader += "".join(str(d.digit) for d in predictor.reader.read([line.input])[0]) == text
    assert right_checked >= right_reader + 3
