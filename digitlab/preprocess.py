"""Bring one digit image to MNIST form: any polarity, alpha, noise or lighting in, 28x28 out.

`to_mnist` does what MNIST did to NIST digits (crop to the ink, fit the long side to 20 px, paste
into 28x28 with the centre of mass at the centre) after making the ink bright on black with the
primitives of `digitlab.ink`. Decoding uploads lives in `digitlab.imagefile`, digits in camera
frames and photos in `digitlab.frames`.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitlab.imagefile import shrink
from digitlab.ink import (
    EXTREME_FRACTION,
    MIN_CONTRAST,
    MIN_THRESHOLD,
    NOISE_MARGIN,
    EmptyImageError,
    as_gray,
    extreme_levels,
    histogram,
    ink_map,
    label_components,
    noise_level,
    quantile_level,
    select_labels,
    to_uint8,
)
from digitlab.rules import has_rules, without_rules

MIN_DIGIT_PIXELS = 3
MIN_DIGIT_FRACTION = 0.1  # the digit's long side, as a share of the image's long side
LARGE_PART = 0.25
SMALL_PART = 0.02
NEAR_FRACTION = 0.25
MIN_DENSITY = 0.02  # ink share of a digit's box; scattered specks and paper outlines have less
STROKE_QUANTILE = 0.9


def digit_components(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels of the components that form the digit: the largest, big ones and near pieces."""
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.size == 0:
        raise EmptyImageError("no ink found: draw a digit")
    main = int(np.argmax(areas))
    x, y, width, height = stats[1 + main, :4]
    if max(width, height) < max(MIN_DIGIT_PIXELS, MIN_DIGIT_FRACTION * max(shape)):
        raise EmptyImageError("only specks or dots found: draw a digit")
    margin = NEAR_FRACTION * max(width, height)
    left, top = stats[1:, 0], stats[1:, 1]
    right, bottom = left + stats[1:, 2], top + stats[1:, 3]
    near = ((right >= x - margin) & (left <= x + width + margin)
            & (bottom >= y - margin) & (top <= y + height + margin))
    kept = (areas >= LARGE_PART * areas[main]) | (near & (areas >= SMALL_PART * areas[main]))
    box_width = (right[kept].max() - left[kept].min())
    box_height = (bottom[kept].max() - top[kept].min())
    if areas[kept].sum() < MIN_DENSITY * box_width * box_height:
        raise EmptyImageError("only scattered specks found: draw a digit")
    return np.flatnonzero(kept) + 1


EDGE_TO_EDGE = (0.95, 0.95)  # a rule in one digit's image crosses all of it
RULE_MARGIN = 0.05  # ... and the digit left stands this share of the image clear of every edge
CROSSING_RULES = 2  # one stroke across the image is the digit's (a 7's bar on a canvas); two rules
# are what a photo of one digit on ruled paper holds


def without_crossing_rules(mask: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """The mask (its components' stats given) less rules that cross the whole image past the
    digit (a digit on ruled paper); the same array when there are none.

    A tightly cropped thin "1" or "7" also crosses its image; what is left of it then reaches
    an edge, so the mask is kept as it is.
    """
    along_rows, along_columns = has_rules(stats, mask.shape, EDGE_TO_EDGE)
    if not (along_rows or along_columns):
        return mask
    cleaned = without_rules(mask, EDGE_TO_EDGE, along_rows, along_columns, min_rules=CROSSING_RULES)
    x, y, width, height = cv2.boundingRect(cleaned)
    rows, columns = mask.shape
    clear = min(x / columns, (columns - x - width) / columns, y / rows, (rows - y - height) / rows)
    return cleaned if width and clear >= RULE_MARGIN else mask


BOX_SIDE = 20
MNIST_SIDE = 28
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates


def centre_digit(soft: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit the long side to 20 px, paste centre of mass at (14, 14)."""
    x, y, width, height = cv2.boundingRect((soft > 0).astype(np.uint8))
    crop = soft[y:y + height, x:x + width]
    scale = BOX_SIDE / max(width, height)
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    # numpy, not cv2.moments: cv2 reads an (N, 2) array (a thin "1") as a list of points
    mass = float(crop.sum())
    if mass <= 0:
        raise EmptyImageError("no ink left after cleaning: draw a digit")
    centre_x = float(crop.sum(axis=0) @ np.arange(crop.shape[1])) / mass
    centre_y = float(crop.sum(axis=1) @ np.arange(crop.shape[0])) / mass
    # Integer shift like MNIST: no resampling blur, centre of mass within half a pixel.
    left = int(np.floor(CENTRE - centre_x + 0.5))
    top = int(np.floor(CENTRE - centre_y + 0.5))
    output = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    rows, columns = crop.shape
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(MNIST_SIDE, top + rows), min(MNIST_SIDE, left + columns)
    output[y0:y1, x0:x1] = crop[y0 - top:y1 - top, x0 - left:x1 - left]
    return np.clip(output, 0.0, 1.0, out=output)  # resampling can overshoot 1 by a rounding error


NOISY = 0.02


def mnist_from_ink(ink: np.ndarray) -> np.ndarray:
    """Threshold, drop specks, keep anti-aliased grey levels, then centre like MNIST."""
    ink8 = to_uint8(ink)
    counts = histogram(ink8)
    noise = noise_level(ink8)
    if noise > NOISY:  # average the grain away; strokes are wider than it
        ink = cv2.GaussianBlur(ink, (0, 0), 1.0)
        ink8 = to_uint8(ink)
        counts = histogram(ink8)
        noise = noise_level(ink8)
    _, peak = extreme_levels(counts, max(2, int(EXTREME_FRACTION * ink.size)))
    if peak < MIN_CONTRAST:
        raise EmptyImageError("the image is blank or too faint: draw a digit")
    otsu, _ = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    noise_floor = quantile_level(counts, 0.5) + NOISE_MARGIN * noise
    threshold = max(otsu, 255 * MIN_THRESHOLD, 0.3 * 255 * peak, 255 * noise_floor)
    mask = (ink8 > threshold).astype(np.uint8)
    count, labels, stats = label_components(mask)
    cleaned = without_crossing_rules(mask, stats)
    if cleaned is not mask:
        count, labels, stats = label_components(cleaned)
    lookup = np.zeros(count, np.uint8)
    lookup[digit_components(stats, ink.shape)] = 255
    digit_mask = select_labels(labels, lookup)
    _, _, width, height = cv2.boundingRect(digit_mask)
    radius = max(2, round(max(width, height) / 40))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    support = cv2.dilate(digit_mask, disc)
    mean, deviation = cv2.meanStdDev(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]]))
    floor = min(float(mean[0, 0] + 3 * deviation[0, 0]), 0.5 * threshold / 255)
    stroke = max(quantile_level(histogram(ink8, digit_mask), STROKE_QUANTILE), floor + 0.05)
    soft = np.clip((ink - floor) * np.float32(1.0 / (stroke - floor)), 0.0, 1.0)
    soft[support == 0] = 0.0
    return centre_digit(soft)


WORK_SIDE = 128  # larger images are shrunk first: the digit ends up 20 px tall anyway


def to_mnist(image) -> np.ndarray:
    """Any digit image (gray/BGR/BGRA, uint8/uint16/float, any size) to (28, 28) float32 MNIST."""
    return mnist_from_gray(as_gray(image))


def mnist_from_gray(gray: np.ndarray) -> np.ndarray:
    """A float32 gray image in [0, 1] (what `as_gray` gives) to (28, 28) float32 MNIST."""
    if max(gray.shape) > WORK_SIDE:
        factor = 1.0 / np.ceil(max(gray.shape) / WORK_SIDE)  # whole factors take a fast path
        gray = shrink(gray, factor)
    return mnist_from_ink(ink_map(gray))
