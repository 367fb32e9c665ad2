"""Tests for digitlab.preprocess: MNIST form from any image, decoding, and digits in frames."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from digitlab.data import load_mnist
from digitlab.frames import DigitBox, find_digits
from digitlab.imagefile import InvalidImageError, decode_image, header_size
from digitlab.ink import EmptyImageError
from digitlab.preprocess import to_mnist
from digitlab.synthetic import box_overlap, canvas_from_mnist, ink_is_one_blob, paper_frame


@pytest.fixture(scope="module")
def mnist_test():
    """The first 1000 MNIST test digits and labels."""
    _, (x_test, y_test) = load_mnist()
    return x_test[:1000], y_test[:1000]


def blurred_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Correlation after a 1-pixel Gaussian blur: tolerant of half-pixel centring differences."""
    first = cv2.GaussianBlur(np.float32(first), (0, 0), 1.0).ravel()
    second = cv2.GaussianBlur(np.float32(second), (0, 0), 1.0).ravel()
    return float(np.corrcoef(first, second)[0, 1])


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(x, y) centre of mass in pixel-index coordinates."""
    moments = cv2.moments(np.float32(image))
    return moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]


def ink_long_side(image: np.ndarray) -> int:
    """The long side of the box around pixels above zero."""
    _, _, width, height = cv2.boundingRect((image > 0).astype(np.uint8))
    return max(width, height)


# ---------------------------------------------------------------- to_mnist

def test_mnist_digits_round_trip_nearly_unchanged(mnist_test):
    images = mnist_test[0][:200]
    outputs = [to_mnist(image) for image in images]
    originals = images.astype(np.float32) / 255
    differences = [np.abs(out - original).mean() for out, original in zip(outputs, originals, strict=True)]
    correlations = [np.corrcoef(out.ravel(), original.ravel())[0, 1]
                    for out, original in zip(outputs, originals, strict=True)]
    assert np.mean(differences) < 0.01
    assert np.median(correlations) > 0.99
    assert np.mean(correlations) > 0.97
    assert np.mean(np.array(correlations) > 0.9) > 0.95


def test_output_is_28x28_float32_in_unit_range(mnist_test):
    for image in (mnist_test[0][0], canvas_from_mnist(mnist_test[0][1], noise=0.1, rng=0)):
        output = to_mnist(image)
        assert output.shape == (28, 28) and output.dtype == np.float32
        assert np.isfinite(output).all() and output.min() >= 0.0 and output.max() <= 1.0
        assert output.max() > 0.9  # strokes saturate like MNIST's


def test_keeps_anti_aliased_grey_levels(mnist_test):
    output = to_mnist(canvas_from_mnist(mnist_test[0][0]))
    grey = (output > 0.05) & (output < 0.95)
    assert grey.sum() >= 0.2 * (output > 0.05).sum()


def test_polarity_does_not_matter(mnist_test):
    for image in mnist_test[0][:20]:
        canvas = canvas_from_mnist(image)
        np.testing.assert_allclose(to_mnist(255 - canvas), to_mnist(canvas), atol=1e-4)
        np.testing.assert_allclose(to_mnist(255 - image), to_mnist(image), atol=1e-4)


def test_transparent_canvas_matches_gray_whatever_is_under_alpha_zero(mnist_test):
    rng = np.random.default_rng(0)
    for image in mnist_test[0][:10]:
        gray = to_mnist(canvas_from_mnist(image))
        rgba = canvas_from_mnist(image, rgba=True)
        hidden = rgba[:, :, 3] == 0
        rgba[hidden, :3] = rng.integers(0, 256, (hidden.sum(), 3))  # garbage colour under alpha 0
        np.testing.assert_allclose(to_mnist(rgba), gray, atol=0.02)
        white_ink = canvas_from_mnist(image, rgba=True, invert=True)
        np.testing.assert_allclose(to_mnist(white_ink), gray, atol=0.02)


def test_layouts_and_dtypes_agree(mnist_test):
    canvas = canvas_from_mnist(mnist_test[0][3], size=140)
    expected = to_mnist(canvas)
    variants = [
        canvas[:, :, None],
        cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR),
        canvas.astype(np.uint16) * 257,
        canvas.astype(np.float32) / 255,
        canvas.astype(np.float64),  # 0..255 floats
    ]
    for variant in variants:
        np.testing.assert_allclose(to_mnist(variant), expected, atol=0.02)


@pytest.mark.parametrize("options", [
    {"offset": (60, -40), "scale": 0.5},
    {"offset": (-70, 70), "scale": 0.4},
    {"scale": 1.2},
    {"thickness": 14},
    {"thickness": 24, "scale": 0.7},
    {"size": 64},
    {"size": 900, "thickness": 30, "scale": 0.5},
])
def test_shifted_scaled_thick_canvases_come_out_centred(mnist_test, options):
    correlations = []
    for image in mnist_test[0][:25]:
        output = to_mnist(canvas_from_mnist(image, **options))
        centre_x, centre_y = centre_of_mass(output)
        assert abs(centre_x - 14) <= 1 and abs(centre_y - 14) <= 1
        assert 19 <= ink_long_side(output) <= 21
        correlations.append(blurred_correlation(output, image))
    assert np.mean(correlations) > 0.85


@pytest.mark.parametrize("options", [
    {"noise": 0.08, "lighting": 0.5},
    {"noise": 0.15, "lighting": 0.6},
    {"noise": 0.1, "lighting": 0.5, "invert": True},
])
def test_noise_and_uneven_lighting_still_give_a_clean_digit(mnist_test, options):
    correlations = []
    for index, image in enumerate(mnist_test[0][:25]):
        clean = to_mnist(canvas_from_mnist(image))
        noisy = to_mnist(canvas_from_mnist(image, rng=index, **options))
        correlations.append(blurred_correlation(noisy, clean))
        near_clean_ink = cv2.dilate((clean > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8))
        assert ((noisy > 0.2) & (near_clean_ink == 0)).sum() <= 3  # no speckle left around
    assert np.mean(correlations) > 0.9
    assert np.min(correlations) > 0.7


@pytest.mark.parametrize("size, width", [(28, 1), (200, 6), (280, 30)])
def test_thin_and_thick_vertical_strokes_are_centred(size, width):
    image = np.full((size, size), 255, np.uint8)
    left = size // 5
    image[size // 6:size - size // 6, left:left + width] = 0  # a "1" off to the left
    output = to_mnist(image)
    centre_x, centre_y = centre_of_mass(output)
    assert abs(centre_x - 14) <= 0.5 and abs(centre_y - 14) <= 0.5
    assert ink_long_side(output) == 20


def speckled(count: int, size: int = 280, seed: int = 0) -> np.ndarray:
    """White paper with small dark dots scattered over it."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 255, np.uint8)
    for _ in range(count):
        centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        cv2.circle(image, centre, int(rng.integers(1, 4)), 0, -1)
    return image


BLANKS = {
    "white": np.full((280, 280), 255, np.uint8),
    "black": np.zeros((280, 280), np.uint8),
    "uniform grey": np.full((100, 60), 128, np.uint8),
    "one pixel": np.zeros((1, 1), np.uint8),
    "camera noise": np.clip(np.random.default_rng(1).normal(0.8, 0.05, (280, 280)), 0, 1),
    "heavy noise": np.clip(np.random.default_rng(2).normal(0.6, 0.15, (280, 280)), 0, 1),
    "a few specks": speckled(10),
    "many specks": speckled(40),
    "light specks on black": 255 - speckled(40, seed=3),
    "lighting ramp only": np.tile(np.linspace(0, 255, 280), (280, 1)).astype(np.uint8),
    "fully transparent": np.zeros((50, 50, 4), np.uint8),
    "a 1 x 3000 strip": np.full((1, 3000), 200, np.uint8),  # shrinking it once made a 0-px side
    "a 2000 x 2 strip half dark": np.repeat([[20, 230]], 2000, axis=0).astype(np.uint8),
}


@pytest.mark.parametrize("name", list(BLANKS))
def test_blank_images_raise_empty_image_error(name):
    with pytest.raises(EmptyImageError, match="draw a digit"):
        to_mnist(BLANKS[name])


def test_empty_image_error_is_a_value_error():
    assert issubclass(EmptyImageError, ValueError) and issubclass(InvalidImageError, ValueError)


@pytest.mark.parametrize("array", [
    np.zeros((5, 5, 2), np.uint8),
    np.zeros((0, 5), np.uint8),
    np.full((5, 5), np.nan),
    np.array(["a", "b"]),
])
def test_arrays_that_are_not_images_raise_invalid_image_error(array):
    with pytest.raises(InvalidImageError):
        to_mnist(array)


# ---------------------------------------------------------------- decode_image

def encoded(image: np.ndarray, extension: str) -> bytes:
    """Bytes of the image encoded by OpenCV."""
    ok, buffer = cv2.imencode(extension, image)
    assert ok
    return buffer.tobytes()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming the given size, with no pixel data."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


@pytest.mark.parametrize("extension", [".png", ".jpg", ".bmp", ".webp"])
def test_decode_reads_each_format_and_its_header(extension):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (37, 53, 3), np.uint8)
    data = encoded(colour, extension)
    assert header_size(data)[1:] == (53, 37)
    decoded = decode_image(data)
    assert decoded.dtype == np.uint8 and decoded.shape == (37, 53, 3)
    if extension in (".png", ".bmp"):
        np.testing.assert_array_equal(decoded, colour)


def test_decode_keeps_gray_alpha_and_scales_16_bit():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (20, 30), np.uint8)
    assert decode_image(encoded(gray, ".png")).shape == (20, 30)
    bgra = rng.integers(0, 256, (20, 30, 4), np.uint8)
    np.testing.assert_array_equal(decode_image(encoded(bgra, ".png")), bgra)
    deep = rng.integers(0, 65536, (20, 30)).astype(np.uint16)
    decoded = decode_image(encoded(deep, ".png"))
    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(float) - deep / 257).max() <= 0.51


def test_decoded_canvas_goes_through_to_mnist(mnist_test):
    rgba = canvas_from_mnist(mnist_test[0][0], rgba=True)
    np.testing.assert_allclose(to_mnist(decode_image(encoded(rgba, ".png"))), to_mnist(rgba), atol=1e-6)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is not an image", "not an image"),
    (np.random.default_rng(0).bytes(2000), "not an image"),
    (png_header_only(100_000, 100_000), "pixels"),
    (png_header_only(0, 10), "needs pixels"),
    (b"\xff\xd8\xff", "JPEG"),
])
def test_decode_rejects_bad_bytes_with_a_clear_message(data, message):
    with pytest.raises(InvalidImageError, match=message):
        decode_image(data)


def test_decode_rejects_truncated_files_and_respects_max_pixels():
    data = encoded(np.full((64, 64), 200, np.uint8), ".png")
    with pytest.raises(InvalidImageError):
        decode_image(data[: len(data) // 2])
    with pytest.raises(InvalidImageError, match="over the limit"):
        decode_image(data, max_pixels=64 * 63)
    assert decode_image(data, max_pixels=64 * 64).shape == (64, 64)


# ---------------------------------------------------------------- find_digits

def regular_digits(mnist_test, count: int, start: int) -> tuple[list, list]:
    """`count` test digits from `start` that are not wider than 1.2x their height."""
    images, labels = mnist_test
    chosen = []
    for index in range(start, len(images)):
        _, _, width, height = cv2.boundingRect((images[index] > 25).astype(np.uint8))
        if width <= 1.2 * height:
            chosen.append(index)
        if len(chosen) == count:
            break
    return [images[index] for index in chosen], [int(labels[index]) for index in chosen]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("options", [{}, {"paper_margin": 30}, {"noise": 0.06}])
def test_find_digits_on_paper_returns_boxes_in_order(mnist_test, count, options):
    digits, _ = regular_digits(mnist_test, count, start=37 * count)
    frame, true_boxes = paper_frame(digits, rng=count, **options)
    found = find_digits(frame)
    assert len(found) == count
    for digit, true_box in zip(found, true_boxes, strict=True):
        assert isinstance(digit, DigitBox) and digit.box == (digit.x, digit.y, digit.w, digit.h)
        assert box_overlap(digit.box, true_box) > 0.5
    xs = [digit.x for digit in found]
    assert xs == sorted(xs)


def test_found_digit_images_look_like_the_mnist_digits(mnist_test):
    digits, _ = regular_digits(mnist_test, 5, start=500)
    frame, _ = paper_frame(digits, rng=7)
    found = find_digits(frame)
    assert len(found) == 5
    for digit, original in zip(found, digits, strict=True):
        assert digit.image.shape == (28, 28) and digit.image.dtype == np.float32
        assert blurred_correlation(digit.image, to_mnist(original)) > 0.8


def test_light_ink_on_dark_and_gray_frames_work(mnist_test):
    digits, _ = regular_digits(mnist_test, 3, start=900)
    frame, true_boxes = paper_frame(digits, rng=11)
    for variant in (255 - frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)):
        found = find_digits(variant)
        assert [box_overlap(d.box, t) > 0.5 for d, t in zip(found, true_boxes, strict=True)] == [True] * 3


def test_large_frame_boxes_are_in_frame_pixels(mnist_test):
    digits, _ = regular_digits(mnist_test, 2, start=300)
    frame, true_boxes = paper_frame(digits, height=1500, width=2000, rng=5)
    found = find_digits(frame)
    assert len(found) == 2
    assert all(box_overlap(d.box, t) > 0.5 for d, t in zip(found, true_boxes, strict=True))


# Pairs that touch at a narrow joint, cut by the projection split alone. Of all touching MNIST
# pairs made this way it cuts about a quarter right; with the model guiding the cuts about half
# (tests/digitlab/test_behaviour.py, bench/read.py).
@pytest.mark.parametrize("first", [130, 232, 370, 466])
def test_touching_digits_are_split_in_two(mnist_test, first):
    images = mnist_test[0]
    frame, true_boxes = paper_frame([images[first], images[first + 1]], gap=-0.05, shadow=False, rng=0)
    assert ink_is_one_blob(frame)  # the premise: they really touch
    found = find_digits(frame)
    assert len(found) == 2
    assert all(box_overlap(d.box, t) > 0.5 for d, t in zip(found, true_boxes, strict=True))


@pytest.mark.parametrize("frame", [
    paper_frame([], rng=0)[0],
    paper_frame([], rng=1, paper_margin=40, noise=0.05)[0],
    np.zeros((480, 640, 3), np.uint8),
    np.zeros((480, 640, 4), np.uint8),
    np.full((1, 1), 255, np.uint8),
])
def test_frames_without_digits_give_an_empty_list(frame):
    assert find_digits(frame) == []


def test_specks_are_not_digits(mnist_test):
    digits, _ = regular_digits(mnist_test, 2, start=50)
    frame, _ = paper_frame(digits, specks=30, rng=3)
    assert len(find_digits(frame)) == 2


def test_digit_shape_table_matches_mnist(mnist):
    from digitlab.segment import LOG_ASPECT

    (x_train, y_train), _ = mnist
    for digit in range(10):
        boxes = [cv2.boundingRect((image > 76).astype(np.uint8)) for image in x_train[y_train == digit][:3000]]
        log_aspect = np.log([width / height for _, _, width, height in boxes])
        assert abs(log_aspect.mean() - LOG_ASPECT[digit, 0]) < 0.02, digit
        assert abs(log_aspect.std() - LOG_ASPECT[digit, 1]) < 0.02, digit


def test_fast_forms_match_the_plain_cv2_and_numpy_ones():
    from digitlab.ink import histogram, label_components, noise_level, select_labels

    rng = np.random.default_rng(0)
    for shape in [(67, 64), (40, 300), (360, 480)]:
        image8 = rng.integers(0, 256, shape).astype(np.uint8)
        image8[rng.random(shape) < 0.6] = 0  # mostly background, like an ink map
        mask = (rng.random(shape) < 0.3).astype(np.uint8) * 255
        plain = cv2.calcHist([image8], [0], mask, [256], [0, 256]).ravel()
        assert np.array_equal(histogram(image8, mask), plain)
        residual = cv2.absdiff(image8, cv2.medianBlur(image8, 3))
        counts = np.cumsum(cv2.calcHist([residual], [0], None, [256], [0, 256]).ravel())
        assert noise_level(image8) == 1.4826 * float(np.searchsorted(counts, 0.5 * counts[-1])) / 255
        binary = (image8 > 128).astype(np.uint8)
        count, labels, stats = label_components(binary)
        plain_count, plain_labels, plain_stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        assert count == plain_count and np.array_equal(labels, plain_labels)
        assert np.array_equal(stats, plain_stats)
        chosen = (rng.random(count) < 0.5).astype(np.uint8)
        assert np.array_equal(select_labels(labels, chosen), chosen[plain_labels])
    assert noise_level(np.zeros((20, 20), np.uint8)) == 0.0


def test_guided_cuts_read_only_the_spans_of_ways_short_enough_to_win():
    from digitlab.segment import within_pieces

    spans = [(0, 5), (5, 10), (0, 10), (2, 8), (10, 12)]
    assert within_pieces(spans, [], 10, 1) == [(0, 10)]
    assert within_pieces(spans, [], 10, 2.5) == [(0, 5), (5, 10), (0, 10)]
    assert within_pieces([(0, 4), (4, 8), (4, 10)], [(8, 10)], 10, 3) == [(0, 4), (4, 8), (4, 10)]
