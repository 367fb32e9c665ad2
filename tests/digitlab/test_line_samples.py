"""Line samples in the store: stored once, split like digits, and refused with clear errors."""

import numpy as np
import pytest

from digitlab.line_samples import LineSamples
from digitlab.samples import StoreError
from digitlab.store import SampleStore


@pytest.fixture
def lines(store_location):
    return LineSamples(SampleStore(store_location))


def line_image(seed: int, width: int = 80) -> np.ndarray:
    return np.random.default_rng(seed).random((32, width)).astype(np.float32)


def test_a_line_is_stored_once_and_comes_back_as_uint8(lines):
    first = lines.add(line_image(0), "1907", predicted="1901", confidence=0.6, model_version="reader@1")
    again = lines.add(line_image(0), "1907")
    assert not first.duplicate and again.duplicate and again.id == first.id
    assert lines.count() == 1
    images, texts = lines.lines(first.split)
    assert texts == ["1907"] and images[0].shape == (32, 80) and images[0].dtype == np.uint8
    assert np.abs(images[0].astype(int) - np.rint(line_image(0) * 255)).max() == 0


def test_lines_split_about_one_in_ten_into_the_holdout(lines):
    for seed in range(120):
        lines.add(line_image(seed, 48), str(seed))
    holdout = lines.count("holdout")
    assert lines.count("train") + holdout == 120 and 3 <= holdout <= 25


@pytest.mark.parametrize("text", ["", "12a", "١٢", "1" * 41, 12, None])
def test_a_text_that_is_not_digits_is_refused(lines, text):
    with pytest.raises(StoreError, match="digits"):
        lines.add(line_image(1), text)
    assert lines.count() == 0


def test_an_image_that_is_not_a_reader_input_is_refused(lines):
    with pytest.raises(StoreError, match="32 px high"):
        lines.add(np.zeros((28, 28), np.float32), "1")


def test_the_same_line_typed_again_with_another_number_is_relabelled(lines):
    first = lines.add(line_image(3), "4")
    again = lines.add(line_image(3), "41")
    assert again.duplicate and again.id == first.id and again.relabelled_from == "4"
    assert lines.lines(first.split)[1] == ["41"] and lines.count() == 1
