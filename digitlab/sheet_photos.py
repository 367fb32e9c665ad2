"""Photos of a sheet lying askew on a desk, made in code for tests and benchmarks.

`on_desk(frame, boxes, rng)` takes a `digitlab.synthetic.paper_frame` photo (the sheet) and lays
a turned, smaller sheet of it on a desk: the desk's own colour and grain, the sheet's soft
shadow on it and the sheet's edges crossing the frame, as a phone photo of a note on a table
shows them. The digits stay where they were, so the frame's true boxes still hold.
"""

from __future__ import annotations

import cv2
import numpy as np

DESK_TINTS = np.array([[0.62, 0.78, 0.95],  # wood (BGR, scaled by the desk's level)
                       [0.95, 0.95, 0.95],  # grey or white laminate
                       [0.95, 0.85, 0.75]], np.float32)  # a blue-grey desk mat
MAX_TURN_DEGREES = 25.0
MAX_ATTEMPTS = 30


def sheet_corners(boxes: list, shape: tuple[int, int], rng) -> np.ndarray | None:
    """The four corners of a turned sheet holding every box with a margin, or None if the
    draws never gave one that does (the number fills too much of the frame)."""
    left, right = min(x for x, _, _, _ in boxes), max(x + w for x, _, w, _ in boxes)
    top, bottom = min(y for _, y, _, _ in boxes), max(y + h for _, y, _, h in boxes)
    height, width = shape
    for _ in range(MAX_ATTEMPTS):
        size = (right - left + rng.uniform(0.08, 0.9) * width, bottom - top + rng.uniform(0.08, 0.9) * height)
        centre = ((left + right) / 2 + rng.uniform(-0.1, 0.1) * width,
                  (top + bottom) / 2 + rng.uniform(-0.1, 0.1) * height)
        corners = cv2.boxPoints((centre, size, rng.uniform(-MAX_TURN_DEGREES, MAX_TURN_DEGREES)))
        sheet = np.zeros(shape, np.uint8)
        cv2.fillPoly(sheet, [np.rint(corners).astype(np.int32)], 1)
        margin = int(0.02 * min(shape))
        if sheet[max(0, top - margin):bottom + margin, max(0, left - margin):right + margin].all():
            return corners
    return None


def on_desk(frame: np.ndarray, boxes: list, rng, desk_level: float | None = None) -> np.ndarray | None:
    """The paper photo `frame` (uint8 BGR) as a turned sheet on a desk of `desk_level` (0 dark
    to 1 white; drawn when None), or None where no sheet around the boxes fits the frame."""
    rng = np.random.default_rng(rng)
    height, width = frame.shape[:2]
    corners = sheet_corners(boxes, (height, width), rng)
    if corners is None:
        return None
    level = rng.uniform(0.15, 0.95) if desk_level is None else float(desk_level)
    tint = DESK_TINTS[rng.integers(len(DESK_TINTS))]
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    grain = 0.05 * np.sin((np.cos(angle) * columns + np.sin(angle) * rows) / rng.uniform(3, 12))
    grain += cv2.GaussianBlur(rng.normal(0, 0.05, (height, width)).astype(np.float32), (0, 0), 2)
    desk = np.clip(level * (1 + grain), 0, 1)[:, :, None] * tint
    sheet = np.zeros((height, width), np.float32)
    cv2.fillPoly(sheet, [np.rint(corners).astype(np.int32)], 1.0, cv2.LINE_AA)
    offset = rng.uniform(2, 10, 2)
    shadow = cv2.warpAffine(sheet, np.float32([[1, 0, offset[0]], [0, 1, offset[1]]]), (width, height))
    desk *= (1 - 0.35 * cv2.GaussianBlur(shadow, (0, 0), 6))[:, :, None]
    photo = frame.astype(np.float32) / 255 * sheet[:, :, None] + desk * (1 - sheet[:, :, None])
    return np.rint(np.clip(photo, 0, 1) * 255).astype(np.uint8)
