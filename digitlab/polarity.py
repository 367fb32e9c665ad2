"""Which way round a photo's ink is, judged by which side of its sharpest edges is thin.

A frame's median level says where the paper is when paper fills most of it. A sheet on a dark
desk breaks that: the desk is the median, and the white sheet looks like the ink. Strokes are
thin whatever lies around them, so at the sharpest edges of the photo the ink's side ends again
a few pixels on (the stroke's far edge), while the paper's side goes on to the next stroke or
further, and both sides of a sheet's own edge go on. `thin_side_votes` counts, over those
edges, how often each side is the shorter run.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitlab.imagefile import shrink

VOTE_SIDE = 160  # edges are looked at in the frame shrunk to this long side
STRONG_EDGE = 0.4  # the least Sobel magnitude (0..1 gray) an edge may have to vote
STRONG_SHARE = 0.02  # and only the sharpest 2 % of the frame's pixels vote
MAX_RUN = 12  # pixels (at VOTE_SIDE) an edge's two sides are followed for
DECISIVE = 2.5  # one side must win by this factor to overrule the frame's median
MIN_VOTES = 30


def thin_side_votes(gray: np.ndarray) -> tuple[int, int]:
    """(dark, bright): how often the dark or the bright side of a strong edge is the shorter run."""
    factor = min(1.0, VOTE_SIDE / max(gray.shape))
    small = shrink(gray, factor)
    along_x = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    along_y = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(along_x, along_y)
    sharpest = magnitude.ravel()
    cut = int((1 - STRONG_SHARE) * (sharpest.size - 1))
    rows, columns = np.nonzero(magnitude > max(STRONG_EDGE, float(np.partition(sharpest, cut)[cut])))
    if rows.size == 0:
        return 0, 0
    strength = magnitude[rows, columns]
    step_x, step_y = along_x[rows, columns] / strength, along_y[rows, columns] / strength  # to brighter
    height, width = small.shape
    # the gray levels 1..MAX_RUN pixels from each edge, towards its bright side (+) and dark side (-)
    distances = np.concatenate([-np.arange(1, MAX_RUN + 1), np.arange(1, MAX_RUN + 1)])
    y = np.clip(np.rint(rows[:, None] + distances * step_y[:, None]).astype(np.int64), 0, height - 1)
    x = np.clip(np.rint(columns[:, None] + distances * step_x[:, None]).astype(np.int64), 0, width - 1)
    levels = small[y, x]
    dark_levels, bright_levels = levels[:, :MAX_RUN], levels[:, MAX_RUN:]
    middle = (dark_levels[:, :1] + bright_levels[:, :1]) / 2
    dark_side, bright_side = dark_levels[:, 1:] > middle, bright_levels[:, 1:] < middle
    # how far each side runs before the level crosses back (MAX_RUN + 1: it goes on)
    dark_run = np.where(dark_side.any(axis=1), dark_side.argmax(axis=1), MAX_RUN + 1)
    bright_run = np.where(bright_side.any(axis=1), bright_side.argmax(axis=1), MAX_RUN + 1)
    return int(np.count_nonzero(dark_run < bright_run)), int(np.count_nonzero(bright_run < dark_run))


def ink_is_dark(gray: np.ndarray, by_levels: bool) -> bool:
    """Whether the ink is darker than its paper: the levels' guess (by_levels), unless the edges
    say the other side is thin by a wide margin (a white sheet on a dark desk)."""
    dark, bright = thin_side_votes(gray)
    if by_levels and bright >= MIN_VOTES and bright > DECISIVE * (dark + 1):
        return False
    if not by_levels and dark >= MIN_VOTES and dark > DECISIVE * (bright + 1):
        return True
    return by_levels
