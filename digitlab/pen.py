"""A digit redrawn with a pen of even width along its skeleton, for the line reader's lines.

MNIST's digits were written with a broad pen and scanned soft: their strokes swell and fade.
A ball-point or felt pen photographed by a camera draws one even width, often much thinner
than MNIST's (2-6 % of the digit's height). `pen_redraw` thins a digit's strokes to their
centre line (Zhang-Suen thinning) and draws that line again with a round pen.
"""

from __future__ import annotations

import cv2
import numpy as np

# The 8 neighbours of a pixel clockwise from north, each with its bit in a neighbourhood code.
NEIGHBOUR_BITS = np.zeros((3, 3), np.float32)
for bit, (row, column) in enumerate([(0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0)]):
    NEIGHBOUR_BITS[row, column] = 2 ** bit


def removal_table(first: bool) -> np.ndarray:
    """For each neighbourhood code, whether a Zhang-Suen sub-iteration removes the pixel."""
    table = np.zeros(256, bool)
    for code in range(256):
        north, north_east, east, south_east, south, south_west, west, north_west = (
            (code >> bit) & 1 for bit in range(8))
        ring = [north, north_east, east, south_east, south, south_west, west, north_west, north]
        crossings = sum(a == 0 and b == 1 for a, b in zip(ring, ring[1:]))
        if first:
            ends = north * east * south == 0 and east * south * west == 0
        else:
            ends = north * east * west == 0 and north * south * west == 0
        table[code] = 2 <= sum(ring[:8]) <= 6 and crossings == 1 and ends
    return table


REMOVE_FIRST, REMOVE_SECOND = removal_table(True), removal_table(False)


def thin(mask: np.ndarray, max_passes: int = 64) -> np.ndarray:
    """The one-pixel centre lines of a mask's strokes (uint8 0/1), by Zhang-Suen thinning."""
    image = (np.asarray(mask) > 0).astype(np.float32)
    for _ in range(max_passes):
        removed = False
        for table in (REMOVE_FIRST, REMOVE_SECOND):
            codes = cv2.filter2D(image, -1, NEIGHBOUR_BITS, borderType=cv2.BORDER_CONSTANT)
            remove = (image > 0) & table[codes.astype(np.uint8)]
            if remove.any():
                image[remove] = 0.0
                removed = True
        if not removed:
            break
    return image.astype(np.uint8)


def pen_redraw(ink: np.ndarray, pen_width: float) -> np.ndarray:
    """An ink map (float, ink bright) redrawn as its skeleton in a round pen `pen_width` px wide.

    Returns the ink unchanged when it holds no stroke to thin.
    """
    if pen_width <= 0:
        raise ValueError(f"pen_width must be positive, got {pen_width}")
    ink = np.asarray(ink, np.float32)
    if ink.size == 0 or ink.max() <= 0.0:
        return ink
    skeleton = thin(ink > 0.5 * float(ink.max()))
    if not skeleton.any():
        return ink
    radius = max(0, int(round((pen_width - 1) / 2)))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    drawn = cv2.dilate(skeleton.astype(np.float32), pen)
    soft = cv2.GaussianBlur(drawn, (0, 0), 0.6)  # the edge a camera sees
    return np.clip(soft / max(float(soft.max()), 1e-6), 0.0, 1.0)
