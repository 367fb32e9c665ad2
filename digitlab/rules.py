"""Take the printed lines of ruled or squared paper (and form lines) out of an ink mask.

Numbers are often written on exercise-book paper. Its rules are thin, straight and long, and
every digit that crosses one joins it into one component that reaches the frame's edge, where
no digit can be found. A rule here is a run of ink across RULE_SPAN of the image, at most
RULE_THICKNESS thick, level or tilted by up to MAX_TILT (a sheet photographed askew).
"""

from __future__ import annotations

import cv2
import numpy as np

RULE_SPAN = (0.3, 0.6)  # a ruled line runs across this share of the width (rows) or height (columns)
LOOK_SPAN = (0.5, 0.6)  # rules are looked for only where a component is this long (a touching
# pair of big digits spans 0.3 of the width)
RULE_THICKNESS = 4  # px at the frames' working size; a stroke is thicker where it crosses a rule
RULE_SLACK = 1  # px either side of a rule's row that still count as the rule (tilt left over)
MAX_TILT = 0.14  # slope (8 degrees) of the most tilted rules looked for
COARSE_STEP = 0.02  # slopes tried from -MAX_TILT to MAX_TILT, then around the best ...
FINE_STEP = 0.005  # ... in steps that move a 480 px rule 1.2 px


def has_rules(stats: np.ndarray, shape: tuple[int, int], span=LOOK_SPAN) -> tuple[bool, bool]:
    """Whether any component (label 0 is the background) is long enough to hold a rule along
    the rows, and along the columns."""
    width, height = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    return bool((width >= span[0] * shape[1]).any()), bool((height >= span[1] * shape[0]).any())


def rule_slope(mask: np.ndarray) -> float:
    """The slope (rows per column) along which the mask's ink lines up into the sharpest rows."""
    rows, columns = np.nonzero(mask)
    rows, columns = rows[::2].astype(np.float64), columns[::2]  # half the ink finds the tilt as well

    def sharpness(slope: float) -> float:
        levels = np.rint(rows - slope * columns).astype(np.int64)
        counts = np.bincount(levels - levels.min())
        return float(counts @ counts)

    coarse = np.arange(-MAX_TILT, MAX_TILT + 1e-9, COARSE_STEP)
    best = max(coarse, key=sharpness)
    fine = best + np.arange(-COARSE_STEP, COARSE_STEP + 1e-9, FINE_STEP)
    return float(max(fine[np.abs(fine) <= MAX_TILT + 1e-9], key=sharpness))


def shifts_of(slope: float, width: int) -> list[tuple[int, int, int]]:
    """(shift, first column, stop column) runs that bring lines of that slope level."""
    offsets = np.rint(slope * np.arange(width)).astype(np.int64)
    edges = np.flatnonzero(np.diff(offsets)) + 1
    starts, stops = np.r_[0, edges], np.r_[edges, width]
    return [(int(offsets[start]), int(start), int(stop)) for start, stop in zip(starts, stops)]


def level_rows(mask: np.ndarray, slope: float, rows_pass) -> np.ndarray:
    """rows_pass applied to the mask with each column shifted so rules of that slope lie level."""
    height, width = mask.shape
    shifts = shifts_of(slope, width)
    if len(shifts) == 1:
        return rows_pass(mask)
    low, high = min(s for s, _, _ in shifts), max(s for s, _, _ in shifts)
    level = np.zeros((height + high - low, width), mask.dtype)
    for shift, start, stop in shifts:
        level[high - shift:high - shift + height, start:stop] = mask[:, start:stop]
    level = rows_pass(level)
    result = np.empty_like(mask)
    for shift, start, stop in shifts:
        result[:, start:stop] = level[high - shift:high - shift + height, start:stop]
    return result


def without_row_rules(mask: np.ndarray, length: float) -> np.ndarray:
    """The mask less level rules along its rows (at least `length` long), strokes across kept.

    The rule is taken with whatever ink lies within RULE_SLACK of it; ink thicker than a rule
    there is kept, a stroke that crosses it is joined again across the gap, and a curve that
    only touches it loses what lay along it.
    """
    def shape(columns, rows):
        return cv2.getStructuringElement(cv2.MORPH_RECT, (columns, rows))

    band = cv2.dilate(mask, shape(1, 2 * RULE_SLACK + 1))
    runs = cv2.bitwise_and(cv2.morphologyEx(band, cv2.MORPH_OPEN, shape(max(3, round(length)), 1)), mask)
    if not cv2.countNonZero(runs):
        return mask
    reach = RULE_THICKNESS + 2 * RULE_SLACK
    thin = cv2.subtract(runs, cv2.morphologyEx(runs, cv2.MORPH_OPEN, shape(1, reach + 1)))
    kept = cv2.subtract(mask, thin)
    crossing = cv2.bitwise_and(cv2.morphologyEx(kept, cv2.MORPH_CLOSE, shape(1, reach + 2)), thin)
    return cv2.bitwise_or(kept, crossing)


def without_rules(mask: np.ndarray, span=RULE_SPAN, rows: bool = True, columns: bool = True) -> np.ndarray:
    """The uint8 mask less its rules (along rows, along columns, or both): rows first, so
    squared paper's crossings are thin by the time the columns are looked at."""
    height, width = mask.shape
    if rows:
        mask = level_rows(mask, rule_slope(mask), lambda level: without_row_rules(level, span[0] * width))
    if columns:
        turned = np.ascontiguousarray(mask.T)
        turned = level_rows(turned, rule_slope(turned), lambda level: without_row_rules(level, span[1] * height))
        mask = np.ascontiguousarray(turned.T)
    return mask
