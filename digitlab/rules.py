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
MIN_RULES = 3  # parallel rules needed before any is taken out: one long straight stroke is a
# digit's (a tall thin 1, a 7's bar across a canvas), printed paper repeats its lines
RULE_SLACK = 1  # px either side of a rule's row that still count as the rule (tilt left over)
MAX_TILT = 0.14  # slope (8 degrees) of the most tilted rules looked for
TILT_STEPS = (0.02, 0.005, 0.00125)  # slopes tried from -MAX_TILT to MAX_TILT, then around the
# best in finer steps: the last moves a 480 px rule 0.3 px


def has_rules(stats: np.ndarray, shape: tuple[int, int], span=LOOK_SPAN) -> tuple[bool, bool]:
    """Whether any component (label 0 is the background) is long enough to hold a rule along
    the rows, and along the columns."""
    width, height = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    return bool((width >= span[0] * shape[1]).any()), bool((height >= span[1] * shape[0]).any())


def rule_slope(mask: np.ndarray) -> float:
    """The slope (rows per column) along which the mask's thin ink lines up into the sharpest rows
    (thick ink, such as a dark table around the sheet, is left out: it would outweigh the rules)."""
    solid = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((RULE_THICKNESS + 2,) * 2, np.uint8))
    rows, columns = np.nonzero(cv2.subtract(mask, solid))
    if rows.size == 0:
        return 0.0
    rows, columns = rows[::2].astype(np.float64), columns[::2]  # half the ink finds the tilt as well

    def sharpness(slope: float) -> float:
        levels = np.rint(rows - slope * columns).astype(np.int64)
        counts = np.bincount(levels - levels.min())
        return float(counts @ counts)

    best, span = 0.0, MAX_TILT
    for step in TILT_STEPS:
        tried = best + np.arange(-span, span + step / 2, step)
        best = float(max(tried[np.abs(tried) <= MAX_TILT + step / 2], key=sharpness))
        span = step
    return best


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


def without_row_rules(mask: np.ndarray, length: float, min_rules: int = MIN_RULES) -> np.ndarray:
    """The mask less level rules along its rows (at least `length` long), strokes across kept.

    Nothing is taken out unless min_rules bands of rows hold such runs. A rule is taken with
    whatever ink lies within RULE_SLACK of it: ink thicker than a rule there is kept, a stroke
    that crosses it is joined again across the gap, and a curve that only touches it loses what
    lay along it.
    """
    def shape(columns, rows):
        return cv2.getStructuringElement(cv2.MORPH_RECT, (columns, rows))

    band = cv2.dilate(mask, shape(1, 2 * RULE_SLACK + 1))
    runs = cv2.bitwise_and(cv2.morphologyEx(band, cv2.MORPH_OPEN, shape(max(3, round(length)), 1)), mask)
    rows = np.flatnonzero(runs.max(axis=1))
    if rows.size == 0 or 1 + np.count_nonzero(np.diff(rows) > 1) < min_rules:
        return mask  # fewer than min_rules bands of rows hold a long run
    reach = RULE_THICKNESS + 2 * RULE_SLACK
    thin = cv2.subtract(runs, cv2.morphologyEx(runs, cv2.MORPH_OPEN, shape(1, reach + 1)))
    kept = cv2.subtract(mask, thin)
    crossing = cv2.bitwise_and(cv2.morphologyEx(kept, cv2.MORPH_CLOSE, shape(1, reach + 2)), thin)
    return cv2.bitwise_or(kept, crossing)


def without_rules(mask: np.ndarray, span=RULE_SPAN, rows: bool = True, columns: bool = True,
                  min_rules: int = MIN_RULES) -> np.ndarray:
    """The uint8 mask less its rules (along rows, along columns, or both): rows first, so
    squared paper's crossings are thin by the time the columns are looked at."""
    mask = np.asarray(mask).astype(np.uint8)
    height, width = mask.shape
    if rows:
        mask = level_rows(mask, rule_slope(mask),
                          lambda level: without_row_rules(level, span[0] * width, min_rules))
    if columns:
        turned = np.ascontiguousarray(mask.T)
        turned = level_rows(turned, rule_slope(turned),
                            lambda level: without_row_rules(level, span[1] * height, min_rules))
        mask = np.ascontiguousarray(turned.T)
    return mask
