"""Digits that stand apart in a line: their own ink, for the digit model to read again.

The line reader reads a whole line at once; where one of its digits is written apart from the
others (a gap on both sides, and no other digit read on its ink), that digit's own ink parts
are a single digit as Recognise mode sees one, and the digit model, trained on far more digit
shapes than the reader's lines hold, reads it too (`digitlab.scenes`).
"""

from __future__ import annotations

import cv2
import numpy as np

from digitlab.ink import EmptyImageError
from digitlab.preprocess import mnist_from_ink
from digitlab.textlines import FoundLine

APART_MARGIN = 0.2  # of the digit's height: the ink map kept around it
SPAN_SHARE = 0.1  # of the digit's width: how far another part may reach into its read columns


def apart_box(line: FoundLine, edges, owners, index: int) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) of a digit's own parts, in the line's mask pixels, when no
    other digit's part reaches into their columns or the columns it was read on (a neighbour's
    part may hold a piece of it), and no other digit was read on them."""
    mine = [part for part, owner in zip(line.parts, owners) if owner == index]
    if not mine:
        return None
    left, right = min(p[0] for p in mine), max(p[2] for p in mine)
    start, stop = min(left, edges[index][0]), max(right, edges[index][1])
    others = [part for part, owner in zip(line.parts, owners) if owner != index]
    if any(min(part[2], stop) - max(part[0], start) > SPAN_SHARE * (right - left) for part in others):
        return None  # touching a neighbour, or a neighbour's part reaching into its columns
    centres = [(start + stop) / 2 for other, (start, stop) in enumerate(edges) if other != index]
    if any(left <= centre <= right for centre in centres):
        return None  # the reader read more than one digit on this ink
    return left, min(p[1] for p in mine), right, max(p[3] for p in mine)


def own_ink(line: FoundLine, parts: list[tuple[int, int, int, int]],
            box: tuple[int, int, int, int]) -> np.ndarray:
    """The frame's ink map in box (mask pixels) with only the given parts' ink on it, padded."""
    left, top, right, bottom = box
    own = np.zeros((bottom - top, right - left), np.uint8)
    for part_left, part_top, part_right, part_bottom in parts:
        own[part_top - top:part_bottom - top, part_left - left:part_right - left] = \
            line.mask[part_top:part_bottom, part_left:part_right] > 0
    origin_x, origin_y = line.origin
    ink = line.frame_ink[origin_y + top:origin_y + bottom, origin_x + left:origin_x + right]
    near = cv2.dilate(own, np.ones((3, 3), np.uint8))  # the strokes' soft edges
    return np.pad(ink * near, max(2, round(APART_MARGIN * (bottom - top))))


def apart_digits(line: FoundLine, spans: list[tuple[float, float]],
                 wanted: list[bool] | None = None) -> list[np.ndarray | None]:
    """Per read digit (its input columns), its MNIST image when it stands apart, else None;
    wanted, when given, says which digits to look at (the others are None)."""
    wanted = [True] * len(spans) if wanted is None else wanted
    if line.frame_ink is None or len(spans) < 2 or not line.parts or not any(wanted):
        return [None] * len(spans)
    edges = line.column_edges(spans)
    owners = line.part_owners(edges)
    images: list[np.ndarray | None] = []
    for index in range(len(spans)):
        box = apart_box(line, edges, owners, index) if wanted[index] else None
        if box is None:
            images.append(None)
            continue
        parts = [part for part, owner in zip(line.parts, owners) if owner == index]
        try:
            images.append(mnist_from_ink(own_ink(line, parts, box)))
        except EmptyImageError:
            images.append(None)
    return images
