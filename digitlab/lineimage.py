"""Bring one line of ink to the reader's input: 32 px high, ink 24 px high, bright on black.

`line_input` is to the line reader what `to_mnist` is to the digit model: the one way a line crop
becomes model input, used alike by the training lines (`digitlab.linesynth`) and by frames and
photos at reading time (`digitlab.frames.find_lines`), so the two can never drift apart.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from digitlab.ink import EmptyImageError

LINE_HEIGHT = 32
INK_HEIGHT = 24  # the line's ink box is scaled to this height, as MNIST fits a digit to 20 of 28
PAD = (LINE_HEIGHT - INK_HEIGHT) // 2
MIN_WIDTH = 32
MAX_WIDTH = 1024  # about 40 digits: longer crops are not one number
MIN_INK_HEIGHT = 6  # a line whose ink is lower than this (in its own pixels) cannot be read
WIDTH_STEP = 16  # inputs are padded to a multiple of this, so few input shapes occur
INK_LEVEL_QUANTILE = 0.9


class LineInput(NamedTuple):
    """A reader input and how its columns map back to the crop: crop x = left + (x - PAD) / scale."""

    image: np.ndarray  # float32 (LINE_HEIGHT, width) in [0, 1]
    left: int
    top: int
    scale: float
    ink_width: int  # columns of the input that hold the line (before the right padding)


def padded_width(width: int) -> int:
    """The input width a line of `width` columns is padded to (a multiple of WIDTH_STEP)."""
    return max(MIN_WIDTH, -(-width // WIDTH_STEP) * WIDTH_STEP)


def line_input(ink: np.ndarray, mask: np.ndarray | None = None,
               box: tuple[int, int, int, int] | None = None) -> LineInput:
    """Crop an ink map (float, ink bright, 0 background) to a line and scale it for the reader.

    mask (uint8, same shape) keeps only the line's own ink, so pieces of the lines above and
    below stay out; box (x, y, w, h) is the line's ink box, else the mask's (or the ink's) box.
    """
    ink = np.asarray(ink, np.float32)
    if ink.ndim != 2:
        raise ValueError(f"a line's ink map must be 2-D, got shape {ink.shape}")
    if mask is None:
        mask = (ink > 0.1).astype(np.uint8)
    if box is None:
        box = cv2.boundingRect(mask)
    left, top, width, height = (int(value) for value in box)
    if width == 0 or height == 0:
        raise EmptyImageError("the line holds no ink")
    if height < MIN_INK_HEIGHT:
        raise EmptyImageError(f"the line is {height} px high; at least {MIN_INK_HEIGHT} px are needed")
    crop = ink[top:top + height, left:left + width] * (mask[top:top + height, left:left + width] > 0)
    scale = INK_HEIGHT / height
    scaled_width = max(1, round(width * scale))
    if scaled_width + 2 * PAD > MAX_WIDTH:
        raise ValueError(f"the line is {width}x{height} px: {scaled_width / INK_HEIGHT:.0f} times "
                         f"wider than high, too long to be one number (at most "
                         f"{(MAX_WIDTH - 2 * PAD) / INK_HEIGHT:.0f})")
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (scaled_width, INK_HEIGHT), interpolation=interpolation)
    strokes = small[small > 0.05]
    level = float(np.quantile(strokes, INK_LEVEL_QUANTILE)) if strokes.size else 0.0
    if level <= 0.0:
        raise EmptyImageError("the line holds no ink")
    image = np.zeros((LINE_HEIGHT, padded_width(scaled_width + 2 * PAD)), np.float32)
    image[PAD:PAD + INK_HEIGHT, PAD:PAD + scaled_width] = np.minimum(small / level, 1.0)
    return LineInput(image, left, top, scale, scaled_width + 2 * PAD)


def to_crop_x(line: LineInput, column: float) -> float:
    """An input column's x in the crop's (or frame's) pixels."""
    return line.left + (column - PAD) / line.scale
