"""Find and read the digits in camera frames and photos, left to right, with their boxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from digitlab.ink import (
    MIN_CONTRAST,
    MIN_THRESHOLD,
    NOISE_MARGIN,
    EmptyImageError,
    as_gray,
    histogram,
    ink_map,
    label_components,
    member_mask,
    noise_level,
    quantile_level,
    select_labels,
    to_uint8,
)
from digitlab.preprocess import MIN_DENSITY, MIN_DIGIT_PIXELS
from digitlab.rules import has_rules, without_rules
from digitlab.segment import (
    SCORED_ASPECT,
    DigitImages,
    Group,
    Piece,
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


def frame_mask(ink: np.ndarray) -> np.ndarray | None:
    """Threshold a frame's ink map at a share of its ink level, above the noise; None if blank."""
    ink8 = to_uint8(ink)
    noise = noise_level(np.ascontiguousarray(ink8[::2, ::2]))
    floor = max(MIN_THRESHOLD, quantile_level(histogram(ink8), 0.5) + NOISE_MARGIN * noise)
    mask = (ink8 > 255 * floor).astype(np.uint8)
    _, labels, stats = label_components(mask)
    outlines = drawn_around(labels, stats)
    if outlines:  # a box or ring drawn around the number is not part of it
        mask[member_mask(labels, outlines) > 0] = 0
        _, labels, stats = label_components(mask)
    along_rows, along_columns = has_rules(stats, mask.shape)
    if along_rows or along_columns:  # ruled or squared paper: digits crossing a rule stay apart
        mask = without_rules(mask, rows=along_rows, columns=along_columns)
        _, labels, stats = label_components(mask)
    inside = ~touching_edge(stats, ink.shape) & (stats[:, cv2.CC_STAT_AREA] >= 4)
    inside[0] = False
    if not inside.any():
        return None
    candidates = select_labels(labels, inside.view(np.uint8))
    level = quantile_level(histogram(ink8, candidates), 0.95)
    if level < MIN_CONTRAST:
        return None
    return mask & (ink8 > 255 * max(floor, INK_SHARE * level)).view(np.uint8)


class Part(NamedTuple):
    """Ink components that may form one digit: their joint box and their labels."""

    left: int
    top: int
    right: int
    bottom: int
    members: tuple


def belong_together(a: Part, b: Part) -> bool:
    """Whether two parts are one digit: stacked, or a small piece beside."""
    width_a, width_b = a.right - a.left, b.right - b.left
    height_a, height_b = a.bottom - a.top, b.bottom - b.top
    tallest = max(height_a, height_b)
    gap_x = max(a.left, b.left) - min(a.right, b.right)  # negative when they overlap
    gap_y = max(a.top, b.top) - min(a.bottom, b.bottom)
    if gap_y > PIECE_GAP * tallest or max(a.bottom, b.bottom) - min(a.top, b.top) > MERGED_HEIGHT * tallest:
        return False
    if underlines(a, b) or underlines(b, a):
        return False
    stacked = -gap_x >= PART_OVERLAP * min(width_a, width_b)
    return stacked or (gap_x <= PIECE_GAP * 0.4 * tallest and min(height_a, height_b) < 0.5 * tallest)


UNDERLINE_WIDTH = 1.5  # a flat stroke this many times wider than a digit, under it, underlines it


def underlines(line: Part, digit: Part) -> bool:
    """Whether `line` is an underline, not a piece of `digit`: a flat stroke below the digit,
    much wider than it, or about as wide with a gap above it (a 7's loose bar lies on top, a
    2's loose base meets the rest of the 2)."""
    width, height = line.right - line.left, line.bottom - line.top
    digit_width, digit_height = digit.right - digit.left, digit.bottom - digit.top
    gap = line.top - digit.bottom
    if height >= 0.25 * width or gap < -0.15 * digit_height:
        return False
    return width >= UNDERLINE_WIDTH * digit_width or (gap >= 0.08 * digit_height and width >= 0.8 * digit_width)


def is_line_stroke(mask: np.ndarray) -> bool:
    """Whether a part's mask is one flat stroke (an underline, a dash): at most 0.3 times as high
    as wide, and nearly every column crossed by a single run of ink (digits have two or more)."""
    height, width = mask.shape
    if height > 0.3 * width:
        return False
    starts = np.count_nonzero(np.diff(mask, axis=0, prepend=0) == 1, axis=0)
    inked = starts > 0
    return bool(inked.any() and np.mean(starts[inked] == 1) >= 0.8)


def merge_parts(parts: list[Part]) -> list[Part]:
    """Join the parts of one digit (a broken stroke, a detached bar)."""
    merged = True
    while merged:
        merged = False
        for first in range(len(parts)):
            for second in range(first + 1, len(parts)):
                a, b = parts[first], parts[second]
                if belong_together(a, b):
                    parts[first] = Part(min(a.left, b.left), min(a.top, b.top), max(a.right, b.right),
                                        max(a.bottom, b.bottom), a.members + b.members)
                    del parts[second]
                    merged = True
                    break
            if merged:
                break
    return parts


def reading_order(pieces: list[Piece]) -> list[Piece]:
    """Sort pieces into lines top to bottom, each left to right."""
    lines: list[list[Piece]] = []
    for found in sorted(pieces, key=lambda item: item.y + item.height / 2):
        for line in lines:
            top, bottom = min(b.y for b in line), max(b.y + b.height for b in line)
            overlap = min(bottom, found.y + found.height) - max(top, found.y)
            if overlap >= 0.5 * min(found.height, bottom - top):
                line.append(found)
                break
        else:
            lines.append([found])
    return [found for line in lines for found in sorted(line, key=lambda item: item.x)]


class FrameParts(NamedTuple):
    """A frame's ink at the working size, its component labels and the digit-sized parts."""

    ink: np.ndarray
    labels: np.ndarray
    parts: list[Part]
    factor: float  # working size / frame size
    min_height: float


def frame_parts(frame, min_height_fraction: float = 0.03,
                max_height_fraction: float = 0.9) -> FrameParts | None:
    """The ink parts of a frame or photo that may be digits or touching digits; None if blank."""
    try:
        gray = as_gray(frame)
    except EmptyImageError:
        return None
    factor = min(1.0, MAX_FRAME_SIDE / max(gray.shape))
    if factor < 1.0:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    ink = ink_map(gray, whole_frame=True)
    mask = frame_mask(ink)
    if mask is None:
        return None
    frame_height = mask.shape[0]
    min_height = max(MIN_DIGIT_PIXELS * 2, min_height_fraction * frame_height)
    _, labels, stats = label_components(mask)
    edge = touching_edge(stats, mask.shape)
    parts = []
    for label in np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:MAX_PARTS] + 1:
        x, y, width, height, area = (int(value) for value in stats[label])
        if not edge[label] and area >= max(4, (0.15 * min_height) ** 2):
            parts.append(Part(x, y, x + width, y + height, (label,)))
    kept = []
    for part in merge_parts(parts):
        height = part.bottom - part.top
        if not min_height <= height <= max_height_fraction * frame_height:
            continue
        own = part_mask(labels, part)
        if own.mean() < MIN_DENSITY:
            continue  # scattered specks, a paper outline
        if is_line_stroke(own):
            continue  # an underline or a dash
        kept.append(part)
    return FrameParts(ink, labels, kept, factor, min_height)


def part_mask(labels: np.ndarray, part: Part) -> np.ndarray:
    """uint8 mask of a part's own components, cropped to its box."""
    return member_mask(labels[part.top:part.bottom, part.left:part.right], part.members)


def find_digits(frame, min_height_fraction: float = 0.03, max_height_fraction: float = 0.9,
                split_aspect: float = 1.3, score=None) -> list[DigitBox]:
    """Digits in a camera frame or photo, in reading order, each with its box and MNIST image.

    score, when given, maps a list of 28x28 images to the model's (N, 10) probabilities; wide
    groups (touching digits) are then cut where the model reads the pieces best.
    """
    found_parts = frame_parts(frame, min_height_fraction, max_height_fraction)
    if found_parts is None:
        return []
    ink, labels, parts, factor, min_height = found_parts
    found, images = [], DigitImages(ink, labels)
    for part in parts:
        group = Group(part_mask(labels, part), part.left, part.top, part.members)
        columns = split_columns(group.mask, split_aspect)
        if score is not None and group.mask.shape[1] >= SCORED_ASPECT * (part.bottom - part.top):
            columns = scored_columns(group, images, min_height, columns, score)
        pieces = (piece(group, start, stop, min_height) for start, stop in columns)
        found.extend(found_piece for found_piece in pieces if found_piece is not None)
    digits = []
    for found_piece in reading_order(found):
        image = images.get(found_piece)
        if image is None:
            continue
        box = [round(value / factor) for value in found_piece.box]
        digits.append(DigitBox(*box, image=image))
    return digits
