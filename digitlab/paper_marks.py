"""Ink on a photo that is not a digit: outlines drawn around a number, underlines and dashes,
and the edges of a sheet lying on a desk.

`digitlab.frames` asks these before it looks for digits (`drawn_around`, `sheet_edges`) and when
it keeps the digit-sized parts (`is_line_stroke`, `straight_length`, `stroke_width`).
"""

from __future__ import annotations

import cv2
import numpy as np

from digitlab.imagefile import shrink


def touching_edge(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Which components touch the frame's edge (paper edges, table, borders)."""
    right, bottom = stats[:, 0] + stats[:, 2], stats[:, 1] + stats[:, 3]
    return (stats[:, 0] == 0) | (stats[:, 1] == 0) | (right == shape[1]) | (bottom == shape[0])


MIN_ENCLOSED = 0.35  # of the outline's height: the least a digit inside a box or ring stands
CLEAN_OUTLINE = 0.02  # the most of an outline's ink that may lie deep inside it (a digit it touches)


def drawn_around(labels: np.ndarray, stats: np.ndarray) -> list[int]:
    """Components clear of the frame's edge, with a digit-sized component in one of their holes,
    that are only an outline: a box or ring drawn around digits and touching none of them
    (a dot in a 0 is not digit-sized; a box a digit touches stays, so nothing is lost unseen)."""
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    tall = np.flatnonzero(heights >= max(6, 0.03 * labels.shape[0]))
    tall = tall[tall > 0]
    edge = touching_edge(stats, labels.shape)
    found = []
    for outer in tall[~edge[tall]]:
        x, y, width, height = (int(value) for value in stats[outer, :4])
        inside = [inner for inner in tall if inner != outer and x < stats[inner, 0]
                  and stats[inner, 0] + stats[inner, 2] < x + width and y < stats[inner, 1]
                  and stats[inner, 1] + stats[inner, 3] < y + height
                  and heights[inner] >= MIN_ENCLOSED * height]
        if not inside:
            continue
        crop = labels[y:y + height, x:x + width]
        own = (crop == outer).astype(np.uint8)
        outside = np.pad(1 - own, 1, constant_values=1)
        cv2.floodFill(outside, None, (0, 0), 0)  # what is left is the outline's holes
        holes = outside[1:-1, 1:-1]
        if not any((holes[crop == inner]).any() for inner in inside):
            continue
        thickness = 2 * float(cv2.distanceTransform(own, cv2.DIST_L2, 3).max()) + 1
        reach = int(thickness + 0.1 * min(width, height))
        core = cv2.erode(own | holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2),
                         borderType=cv2.BORDER_CONSTANT, borderValue=0)
        if cv2.countNonZero(own & core) <= CLEAN_OUTLINE * cv2.countNonZero(own):
            found.append(int(outer))
    return found


def is_line_stroke(mask: np.ndarray) -> bool:
    """Whether a part's mask is one flat stroke (an underline, a dash): at most 0.3 times as high
    as wide, and nearly every column crossed by a single run of ink (digits have two or more)."""
    height, width = mask.shape
    if height > 0.3 * width:
        return False
    starts = np.count_nonzero(np.diff(mask, axis=0, prepend=0) == 1, axis=0)
    inked = starts > 0
    return bool(inked.any() and np.mean(starts[inked] == 1) >= 0.8)


STRAIGHT = 0.05  # how far off its axis a straight stroke's ink lies, as a share of its length
ON_AXIS = 0.9  # the share of its ink that lies that close (a hook or a speck at an end allowed)
MIN_STRAIGHT_PIXELS = 10


def straight_length(mask: np.ndarray) -> float | None:
    """The length of a part's ink if it is one straight stroke at any angle (a sheet's edge, a
    plain 1), else None: nine tenths of its outline lies within STRAIGHT of the length of its
    main axis, so a hook or a blot at one end does not make an edge a digit."""
    moments = cv2.moments(mask, binaryImage=True)
    if moments["m00"] < MIN_STRAIGHT_PIXELS:
        return None
    centre = np.array([moments["m10"], moments["m01"]]) / moments["m00"]
    _, axes = np.linalg.eigh(np.array([[moments["mu20"], moments["mu11"]],
                                       [moments["mu11"], moments["mu02"]]]))
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = np.concatenate(contours)[:, 0].astype(np.float64) - centre  # thin ink: its outline
    along, across = points @ axes[:, 1], points @ axes[:, 0]
    low, high = np.percentile(along, [1, 99])
    length = float(high - low) + 1.0
    return length if np.mean(np.abs(across) <= STRAIGHT * length) >= ON_AXIS else None


def stroke_width(mask: np.ndarray) -> float:
    """A part's typical stroke width in pixels: 4 times its ink's mean distance to the paper
    (1 for a hairline, about 10 for a stroke 10 px wide)."""
    inked = np.pad(mask > 0, 1)  # the paper around the box: the ink reaches its sides
    if not inked.any():
        return 0.0
    distance = cv2.distanceTransform(inked.astype(np.uint8), cv2.DIST_L2, 3)
    return max(1.0, 4.0 * float(distance[inked].mean()) - 2.0)


STEP = 0.012  # a background this much steeper per pixel than light and shadow change: a sheet's edge
STEP_REACH = 4  # pixels around such a step whose ink is the edge's (its line, its shadow)
ON_STEP = 0.8  # the share of a component's ink by a step that makes it the edge's
EDGE_SIDE = 240  # the background's finest working size (digitlab.ink.FRAME_WORK_SIDE)
SHEET_SIZE = 0.5  # of the frame's long side: the least a sheet's outline spans (a blob spans less)


def sheet_edges(background: np.ndarray) -> np.ndarray:
    """uint8 mask of where the background steps along a sheet's edge on a desk (or a table's):
    steps that reach the frame's border or span half of it. The background is what
    `digitlab.ink.ink_with_background` took away, smooth under shadows; a big blob of ink is
    in it too, and its smaller outline stays ink. Looked for at EDGE_SIDE px (the background is
    no finer), the mask given back at the background's size."""
    factor = min(1.0, EDGE_SIDE / max(background.shape))
    small = shrink(background, factor)
    along_x = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    along_y = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    steep = (np.hypot(along_x, along_y) > 8 * STEP / factor).astype(np.uint8)  # Sobel: 8 x slope
    if not steep.any():
        return np.zeros(background.shape, np.uint8)
    reach = max(1, round(STEP_REACH * factor))
    band = cv2.dilate(steep, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(band, connectivity=8)
    spans = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    sheet = (spans >= SHEET_SIZE * max(band.shape)) | touching_edge(stats, band.shape)
    sheet[0] = False
    return cv2.resize(sheet.astype(np.uint8)[labels], (background.shape[1], background.shape[0]),
                      interpolation=cv2.INTER_NEAREST)


def on_sheet_edges(labels: np.ndarray, stats: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Which components lie mostly by a sheet's edge (ink of the edge, not of the number: a digit
    that crosses a hard shadow keeps most of its ink away from it)."""
    by_edge = np.bincount(labels[edges > 0].ravel(), minlength=len(stats))
    return by_edge >= ON_STEP * np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
