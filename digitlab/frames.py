"""Find and read the digits in camera frames and photos, left to right, with their boxes."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digitlab.preprocess import (
    MIN_CONTRAST,
    MIN_DENSITY,
    MIN_DIGIT_PIXELS,
    MIN_THRESHOLD,
    NOISE_MARGIN,
    EmptyImageError,
    as_gray,
    histogram,
    ink_map,
    label_components,
    noise_level,
    quantile_level,
    select_labels,
    to_uint8,
)
from digitlab.segment import (
    SCORED_ASPECT,
    DigitImages,
    member_mask,
    piece,
    scored_columns,
    split_columns,
)


@dataclass
class DigitBox:
    """One digit found in a frame: its ink box in frame pixels and its 28x28 MNIST image."""

    x: int
    y: int
    w: int
    h: int
    image: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The box as (x, y, w, h)."""
        return self.x, self.y, self.w, self.h


MAX_FRAME_SIDE = 480  # frames are read at this size: 26 % faster on 640x480, same readings
MAX_PARTS = 300
PART_OVERLAP = 0.5  # pieces of one digit overlap horizontally by half the narrower one
MERGED_HEIGHT = 1.9  # ... and stack to less than two digits high
PIECE_GAP = 0.25  # pieces of one digit are at most a quarter of its height apart
INK_SHARE = 0.35  # frame threshold, as a share of the ink level of the darkest digits


def touching_edge(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Which components touch the frame's edge (paper edges, table, borders)."""
    right, bottom = stats[:, 0] + stats[:, 2], stats[:, 1] + stats[:, 3]
    return (stats[:, 0] == 0) | (stats[:, 1] == 0) | (right == shape[1]) | (bottom == shape[0])


def frame_mask(ink: np.ndarray) -> np.ndarray | None:
    """Threshold a frame's ink map at a share of its ink level, above the noise; None if blank."""
    ink8 = to_uint8(ink)
    noise = noise_level(np.ascontiguousarray(ink8[::2, ::2]))
    floor = max(MIN_THRESHOLD, quantile_level(histogram(ink8), 0.5) + NOISE_MARGIN * noise)
    _, labels, stats = label_components((ink8 > 255 * floor).astype(np.uint8))
    inside = ~touching_edge(stats, ink.shape) & (stats[:, cv2.CC_STAT_AREA] >= 4)
    inside[0] = False
    if not inside.any():
        return None
    candidates = select_labels(labels, inside.view(np.uint8))
    level = quantile_level(histogram(ink8, candidates), 0.95)
    if level < MIN_CONTRAST:
        return None
    return (ink8 > 255 * max(floor, INK_SHARE * level)).astype(np.uint8)


def belong_together(a: list, b: list) -> bool:
    """Whether two pieces [x0, y0, x1, y1, ...] are one digit: stacked, or a small piece beside."""
    width_a, width_b, height_a, height_b = a[2] - a[0], b[2] - b[0], a[3] - a[1], b[3] - b[1]
    tallest = max(height_a, height_b)
    gap_x = max(a[0], b[0]) - min(a[2], b[2])  # negative when they overlap
    gap_y = max(a[1], b[1]) - min(a[3], b[3])
    if gap_y > PIECE_GAP * tallest or max(a[3], b[3]) - min(a[1], b[1]) > MERGED_HEIGHT * tallest:
        return False
    stacked = -gap_x >= PART_OVERLAP * min(width_a, width_b)
    return stacked or (gap_x <= PIECE_GAP * 0.4 * tallest and min(height_a, height_b) < 0.5 * tallest)


def merge_parts(parts: list[list]) -> list[list]:
    """Join pieces [x0, y0, x1, y1, labels] of one digit (a broken stroke, a detached bar)."""
    merged = True
    while merged:
        merged = False
        for first in range(len(parts)):
            for second in range(first + 1, len(parts)):
                a, b = parts[first], parts[second]
                if belong_together(a, b):
                    parts[first] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                                    max(a[3], b[3]), a[4] + b[4]]
                    del parts[second]
                    merged = True
                    break
            if merged:
                break
    return parts


def reading_order(boxes: list[tuple]) -> list[tuple]:
    """Sort boxes (x, y, w, h, ...) into lines top to bottom, each left to right."""
    lines: list[list[tuple]] = []
    for box in sorted(boxes, key=lambda item: item[1] + item[3] / 2):
        for line in lines:
            top, bottom = min(b[1] for b in line), max(b[1] + b[3] for b in line)
            if min(bottom, box[1] + box[3]) - max(top, box[1]) >= 0.5 * min(box[3], bottom - top):
                line.append(box)
                break
        else:
            lines.append([box])
    return [box for line in lines for box in sorted(line, key=lambda item: item[0])]


def find_digits(frame, min_height_fraction: float = 0.03, max_height_fraction: float = 0.9,
                split_aspect: float = 1.3, score=None) -> list[DigitBox]:
    """Digits in a camera frame or photo, in reading order, each with its box and MNIST image.

    score, when given, maps a list of 28x28 images to the model's (N, 10) probabilities; wide
    groups (touching digits) are then cut where the model reads the pieces best.
    """
    try:
        gray = as_gray(frame)
    except EmptyImageError:
        return []
    factor = min(1.0, MAX_FRAME_SIDE / max(gray.shape))
    if factor < 1.0:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    ink = ink_map(gray, whole_frame=True)
    mask = frame_mask(ink)
    if mask is None:
        return []
    frame_height, frame_width = mask.shape
    min_height = max(MIN_DIGIT_PIXELS * 2, min_height_fraction * frame_height)
    _, labels, stats = label_components(mask)
    edge = touching_edge(stats, mask.shape)
    parts = []
    for label in np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:MAX_PARTS] + 1:
        x, y, width, height, area = (int(value) for value in stats[label])
        if not edge[label] and area >= max(4, (0.15 * min_height) ** 2):
            parts.append([x, y, x + width, y + height, [label]])
    found, images = [], DigitImages(ink, labels)
    for x0, y0, x1, y1, members in merge_parts(parts):
        height = y1 - y0
        if not min_height <= height <= max_height_fraction * frame_height:
            continue
        member = member_mask(labels[y0:y1, x0:x1], members)
        if member.mean() < MIN_DENSITY:
            continue
        columns = split_columns(member, split_aspect)
        if score is not None and member.shape[1] >= SCORED_ASPECT * height:
            columns = scored_columns(member, images, members, (x0, y0), min_height, columns, score)
        for start, stop in columns:
            found_piece = piece(member, (x0, y0), start, stop, min_height)
            if found_piece is not None:
                x, y, width, height, cuts = found_piece
                found.append((x, y, width, height, members, cuts))
    digits = []
    for x, y, width, height, members, cuts in reading_order(found):
        image = images.get(members, (x, y, width, height), cuts)
        if image is None:
            continue
        box = [round(value / factor) for value in (x, y, width, height)]
        digits.append(DigitBox(*box, image=image))
    return digits
