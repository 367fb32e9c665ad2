"""Lines on the paper that are not digits: ruled and squared paper, underlines, boxes drawn around.

The rules leave the ink mask and the digits that cross them stay whole; an underline is not a
piece of the digit above it; a box drawn around a number is not part of it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from digitlab.frames import Part, underlines
from digitlab.ink import label_components
from digitlab.paper_marks import drawn_around, is_line_stroke
from digitlab.predict import Predictor
from digitlab.preprocess import to_mnist
from digitlab.rules import rule_slope, without_rules
from digitlab.synthetic import PAPER_BGR, paper_frame

MODELS = Path(__file__).resolve().parents[2] / "models"


def blank(height: int = 360, width: int = 480) -> np.ndarray:
    return np.zeros((height, width), np.uint8)


def test_level_rules_go_and_the_stroke_crossing_one_stays_whole():
    stroke = blank()
    stroke[100:220, 200:208] = 1
    page = stroke.copy()
    for row in (60, 150, 240):
        page[row:row + 2, :] = 1
    np.testing.assert_array_equal(without_rules(page), stroke)


def test_tilted_rules_go_too():
    stroke = blank()
    cv2.line(stroke, (240, 80), (250, 260), 1, 9)
    page = stroke.copy()
    for row in (120, 200, 280):
        cv2.line(page, (0, row), (479, row - round(0.07 * 479)), 1, 2)  # four degrees
    assert rule_slope(page) == pytest.approx(-0.07, abs=0.003)
    cleaned = without_rules(page)
    assert (cleaned & (1 - stroke)).sum() <= 5  # of the rules' 2,900 pixels, a few at the stroke
    assert (stroke & (1 - cleaned)).sum() <= 0.02 * stroke.sum()  # a few edge pixels at the crossing


def test_thick_bars_short_lines_and_a_digit_s_long_strokes_are_not_rules():
    page = blank()
    for row in (60, 100, 140):
        page[row:row + 12, 40:260] = 1  # marker-drawn bars, longer than RULE_SPAN but thick
    page[200:202, 40:120] = 1  # a thin stroke, a sixth of the width
    np.testing.assert_array_equal(without_rules(page), page)
    digit = blank()
    digit[300:302, 20:460] = 1  # a thin 7's bar across the frame: one line, not ruled paper
    digit[20:340, 400:402] = 1  # a thin "1" nine tenths of the frame high
    np.testing.assert_array_equal(without_rules(digit), digit)
    assert not without_rules(blank()).any() and not without_rules(blank() > 0).any()


def test_squared_paper_leaves_a_ring_that_crosses_it():
    ring = blank()
    cv2.circle(ring, (240, 180), 60, 1, 8)
    page = ring.copy()
    for position in range(7, 480, 24):
        page[:, position:position + 2] = 1
        page[position % 360:position % 360 + 2, :] = 1
    cleaned = without_rules(page)
    union = np.logical_or(cleaned, ring).sum()
    # A curve running along a rule loses what lay on it: on paper squared this finely, a tenth.
    assert np.logical_and(cleaned, ring).sum() / union >= 0.85
    _, _, stats, _ = cv2.connectedComponentsWithStats(cleaned)
    assert stats[1:, cv2.CC_STAT_AREA].max() == cleaned.sum()  # still one ring, nothing else


def test_a_box_around_two_digits_is_drawn_around_them_and_a_zero_with_a_speck_is_not():
    page = blank()
    cv2.rectangle(page, (100, 100), (380, 260), 1, 3)
    page[140:220, 150:158] = 1
    cv2.circle(page, (300, 180), 30, 1, 6)  # a "0" ...
    page[174:186, 294:306] = 1  # ... with a dot in it (a dotted zero)
    cv2.rectangle(page, (0, 300), (60, 359), 1, 2)  # a box at the frame's edge (the paper's)
    page[320:340, 20:26] = 1
    _, labels, stats = label_components(page)
    assert [labels[100, 200]] == drawn_around(labels, stats)
    page[180:190, 150:380] = 1  # a digit that touches the box: it stays, and the box with it
    _, labels, stats = label_components(page)
    assert drawn_around(labels, stats) == []


def test_an_underline_is_not_a_piece_of_the_digit_above_it():
    digit = Part(100, 100, 140, 160, (1,))
    assert underlines(Part(60, 170, 260, 176, (2,)), digit)  # under a whole number
    assert underlines(Part(96, 168, 144, 173, (2,)), digit)  # under this digit only
    assert not underlines(Part(98, 96, 142, 103, (2,)), digit)  # a 5's or 7's loose bar on top
    assert not underlines(Part(110, 130, 120, 160, (2,)), digit)  # a broken stroke


def test_a_flat_single_stroke_is_a_line_but_flat_touching_digits_are_not():
    level, slanted, zeros = np.zeros((12, 200), np.uint8), np.zeros((30, 200), np.uint8), blank(60, 220)
    level[3:9] = 1
    cv2.line(slanted, (0, 26), (199, 3), 1, 5)
    for centre in range(22, 220, 44):
        cv2.ellipse(zeros, (centre, 30), (24, 28), 0, 0, 360, 1, 6)  # "00000", touching
    assert is_line_stroke(level) and is_line_stroke(slanted)
    assert not is_line_stroke(zeros) and not is_line_stroke(np.ones((60, 8), np.uint8))


def tilted(frame: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned as a sheet photographed askew (the table behind it is paper-coloured)."""
    height, width = frame.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    paper = tuple(float(value) * 255 for value in PAPER_BGR)
    return cv2.warpAffine(frame, turn, (width, height), borderValue=paper)


@pytest.fixture(scope="module")
def predictors():
    from digitlab.registry import Registry

    registry = Registry(MODELS)
    return (Predictor.load(registry.path("digits"), reader=registry.path("reader")),
            Predictor.load(registry.path("digits"), reader=None))


def photos(mnist, count: int, seed: int, **paper):
    """(photo, text) pairs of 1-5 MNIST test digits; the same digits and light for every paper."""
    _, (images, labels) = mnist
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        chosen = rng.choice(len(images), int(rng.integers(1, 6)), replace=False)
        frame, _ = paper_frame(list(images[chosen]), gap=(0.1, 0.5), rng=rng, **paper)
        made.append((frame, "".join(str(labels[index]) for index in chosen)))
    return made


@pytest.mark.parametrize("paper, turn", [({"rules": "ruled"}, 0.0),
                                         ({"rules": "ruled", "rule_bgr": (0.55, 0.55, 0.55)}, 0.0),
                                         ({"rules": "squared"}, 0.0),
                                         ({"rules": "ruled"}, 4.0)])
def test_numbers_on_ruled_paper_read_as_on_plain_paper(mnist, predictors, paper, turn):
    plain = photos(mnist, 30, seed=21)
    ruled = photos(mnist, 30, seed=21, **paper)
    for predictor in predictors:  # the line reader and the cut-first path
        on_plain = [predictor.read(tilted(frame, turn)).text for frame, _ in plain]
        on_ruled = [predictor.read(tilted(frame, turn)).text for frame, _ in ruled]
        truth = [text for _, text in ruled]
        assert sum(a == b for a, b in zip(on_plain, on_ruled)) >= 27
        assert sum(a == b for a, b in zip(on_ruled, truth)) >= 26


@pytest.mark.parametrize("drawn", ["underline", "box"])
def test_underlined_and_boxed_numbers_read_as_plain_ones(mnist, predictors, drawn):
    plain = photos(mnist, 30, seed=23)
    marked = photos(mnist, 30, seed=23, drawn=drawn)  # single digits included: the lone-digit path
    for predictor in predictors:
        on_plain = [predictor.read(frame).text for frame, _ in plain]
        on_marked = [predictor.read(frame).text for frame, _ in marked]
        assert sum(a == b for a, b in zip(on_plain, on_marked)) >= 27
        assert sum(a == b for a, (_, b) in zip(on_marked, marked)) >= 26


def test_a_digit_photo_on_dark_ruled_paper_is_recognised(mnist, predictors):
    predictor, _ = predictors
    _, (images, labels) = mnist
    right = same = 0
    for index in range(20):
        crops = []
        for paper in ({}, {"rules": "ruled", "rule_bgr": (0.55, 0.55, 0.55)}):
            frame, ((x, y, width, height),) = paper_frame([images[index]], rng=index, **paper)
            margin = int(0.4 * height)
            crops.append(frame[y - margin:y + height + margin, x - margin:x + width + margin])
        plain, ruled = (predictor.predict_one(crop) for crop in crops)
        right += ruled.digit == labels[index] and not ruled.not_digit
        same += ruled.digit == plain.digit
    assert right >= 18 and same >= 19


def test_a_tightly_cropped_thin_one_is_kept_although_it_crosses_its_image():
    one = np.full((120, 40), 255, np.uint8)
    cv2.line(one, (19, 0), (21, 119), 0, 3)
    image = to_mnist(one)
    assert image.sum() > 5 and image[:, 11:17].sum() > 0.9 * image.sum()


INK = (56, 31, 20)


def plain_page() -> np.ndarray:
    page = np.empty((480, 640, 3), np.uint8)
    page[:] = tuple(round(float(value) * 255) for value in PAPER_BGR)
    return page


def test_long_straight_strokes_of_digits_stay_digits(predictors):
    reader, cut_first = predictors
    sevens = plain_page()  # "77" and "22" written in two strokes: the bar and the base apart
    for left in (120, 330):
        cv2.line(sevens, (left, 140), (left + 110, 140), INK, 8, cv2.LINE_AA)
        cv2.line(sevens, (left + 105, 154), (left + 50, 330), INK, 8, cv2.LINE_AA)
    twos = plain_page()
    for left in (120, 330):
        cv2.ellipse(twos, (left + 55, 190), (55, 50), 0, 180, 390, INK, 8, cv2.LINE_AA)
        cv2.line(twos, (left + 100, 215), (left, 330), INK, 8, cv2.LINE_AA)
        cv2.line(twos, (left + 2, 340), (left + 115, 340), INK, 8, cv2.LINE_AA)
    one = plain_page()  # a thin 1 four fifths of the photo high
    cv2.line(one, (320, 48), (320, 432), INK, 3, cv2.LINE_AA)
    for predictor in predictors:
        assert predictor.read(sevens).text == "77" and predictor.read(one).text == "1"
    assert reader.read(twos).text == "22"
    canvas = np.full((280, 280), 255, np.uint8)  # Recognise mode: a 7 whose bar meets both sides
    cv2.line(canvas, (0, 40), (279, 40), 0, 6)
    cv2.line(canvas, (250, 40), (130, 250), 0, 6)
    assert reader.predict_one(canvas).digit == 7


def test_a_dotted_zero_is_a_zero_and_a_strip_with_one_line_reads_as_nothing(predictors):
    reader, cut_first = predictors
    zeros = plain_page()
    for centre in (155, 315):
        cv2.ellipse(zeros, (centre, 240), (55, 100), 0, 0, 360, INK, 10, cv2.LINE_AA)
    cv2.circle(zeros, (155, 240), 12, INK, -1, cv2.LINE_AA)
    strip = np.full((20, 200), 235, np.uint8)
    cv2.line(strip, (0, 19), (199, 0), 30, 1)
    for predictor in predictors:
        assert predictor.read(zeros).text == "00"
        assert predictor.read(strip).text == ""
