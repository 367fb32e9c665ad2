"""Tests for digitlab.synthetic: canvases, paper frames and the stroke handwriting style."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitlab.data import load_mnist
from digitlab.preprocess import to_mnist
from digitlab.synthetic import canvas_from_mnist, paper_frame, render_stroke_digit


@pytest.fixture(scope="module")
def digits():
    """A few MNIST test digits."""
    _, (x_test, _) = load_mnist()
    return x_test[:10]


def ink_centre(ink: np.ndarray) -> np.ndarray:
    """(x, y) centre of mass of an ink-bright image."""
    moments = cv2.moments(np.float32(ink))
    return np.array([moments["m10"], moments["m01"]]) / moments["m00"]


def test_canvas_is_dark_ink_on_white_by_default(digits):
    canvas = canvas_from_mnist(digits[0])
    assert canvas.shape == (280, 280) and canvas.dtype == np.uint8
    assert canvas[0, 0] == 255 and canvas.min() <= 5
    inverted = canvas_from_mnist(digits[0], invert=True)
    np.testing.assert_allclose(inverted.astype(int), 255 - canvas.astype(int), atol=1)


def test_canvas_offset_moves_the_ink(digits):
    centred = 255 - canvas_from_mnist(digits[0], scale=0.5).astype(np.float32)
    moved = 255 - canvas_from_mnist(digits[0], scale=0.5, offset=(40, -30)).astype(np.float32)
    np.testing.assert_allclose(ink_centre(moved) - ink_centre(centred), [40, -30], atol=0.5)


def test_canvas_thickness_and_scale_change_the_ink(digits):
    thin = (canvas_from_mnist(digits[1]) < 128).sum()
    thick = (canvas_from_mnist(digits[1], thickness=16) < 128).sum()
    small = (canvas_from_mnist(digits[1], scale=0.5) < 128).sum()
    assert thick > 1.3 * thin
    assert 0.15 * thin < small < 0.35 * thin


def test_rgba_canvas_is_transparent_with_opaque_black_ink(digits):
    rgba = canvas_from_mnist(digits[2], rgba=True)
    assert rgba.shape == (280, 280, 4)
    assert rgba[0, 0, 3] == 0 and rgba[:, :, 3].max() >= 250
    assert rgba[:, :, :3].max() == 0
    gray = canvas_from_mnist(digits[2]).astype(int)
    np.testing.assert_allclose(rgba[:, :, 3].astype(int), 255 - gray, atol=1)


def test_canvas_noise_and_lighting_are_seeded(digits):
    first = canvas_from_mnist(digits[3], noise=0.1, lighting=0.4, rng=1)
    again = canvas_from_mnist(digits[3], noise=0.1, lighting=0.4, rng=1)
    other = canvas_from_mnist(digits[3], noise=0.1, lighting=0.4, rng=2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    corners = [first[:20, :20].mean(), first[-20:, -20:].mean()]
    assert abs(corners[0] - corners[1]) > 50  # one side is darker


def test_paper_frame_gives_bgr_and_ink_boxes_left_to_right(digits):
    frame, boxes = paper_frame(list(digits[:4]), rng=0)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert len(boxes) == 4
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    for x, y, width, height in boxes:
        assert 0 <= x and x + width <= 640 and 0 <= y and y + height <= 480
        inside = gray[y:y + height, x:x + width]
        assert inside.min() < 90  # dark ink inside every box
        assert x + width <= 640
    for (x0, _, w0, _), (x1, _, _, _) in zip(boxes, boxes[1:], strict=False):
        assert x1 > x0 + w0  # default gaps keep digits apart


def test_paper_frame_is_reproducible_and_fits_many_digits(digits):
    first, boxes = paper_frame(list(digits), rng=3)
    again, same_boxes = paper_frame(list(digits), rng=3)
    np.testing.assert_array_equal(first, again)
    assert boxes == same_boxes
    assert boxes[-1][0] + boxes[-1][2] <= 640  # ten digits shrink to fit


def test_stroke_digits_are_mnist_form_and_seeded():
    image = render_stroke_digit(7, np.random.default_rng(0))
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    np.testing.assert_array_equal(image, render_stroke_digit(7, 0))
    assert not np.array_equal(image, render_stroke_digit(7, 1))
    np.testing.assert_allclose(to_mnist(image), image, atol=0.05)  # already in MNIST form
    assert render_stroke_digit(3, 0, size=56).shape == (56, 56)


def test_stroke_style_is_consistent_within_a_label_and_distinct_between_labels():
    rng = np.random.default_rng(0)
    samples = {label: [render_stroke_digit(label, rng) for _ in range(8)] for label in range(10)}
    means = {label: np.mean(images, axis=0).ravel() for label, images in samples.items()}
    for label, images in samples.items():
        own = np.mean([np.corrcoef(image.ravel(), means[label])[0, 1] for image in images])
        others = max(np.corrcoef(means[label], means[other])[0, 1] for other in range(10) if other != label)
        assert own > 0.75
        assert own > others


def test_stroke_digit_rejects_unknown_labels_and_styles():
    with pytest.raises(ValueError, match="0-9"):
        render_stroke_digit(10, 0)
    with pytest.raises(ValueError, match="style"):
        render_stroke_digit(1, 0, style="gothic")
