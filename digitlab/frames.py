"""Find and read the digits in camera frames and photos, left to right, with their boxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from digitlab.imagefile import shrink
from digitlab.ink import (
    MIN_CONTRAST,
    MIN_THRESHOLD,
    NOISE_MARGIN,
    EmptyImageError,
    as_gray,
    histogram,
    ink_with_background,
    label_components,
    member_mask,
    noise_level,
    quantile_level,
    select_labels,
    to_uint8,
)
from digitlab.paper_marks import (
    drawn_around,
    is_line_stroke,
    on_sheet_edges,
    sheet_edges,
    straight_length,
    stroke_width,
    touching_edge,
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


MIN_SCENE_SIDE = 200  # a frame at least this high and wide may show a sheet's edges
MAX_FRAME_SIDE = 480  # frames are read at this size: 26 % faster on 640x480, same readings
MAX_PARTS = 300
PART_OVERLAP = 0.5  # pieces of one digit overlap horizontally by half the narrower one
MERGED_HEIGHT = 1.9  # ... and stack to less than two digits high
PIECE_GAP = 0.25  # pieces of one digit are at most a quarter of its height apart
INK_SHARE = 0.35  # frame threshold, as a share of the ink level of the darkest digits


def frame_mask(ink: np.ndarray, edges: np.ndarray | None = None) -> np.ndarray | None:
    """Threshold a frame's ink map at a share of its ink level, above the noise; None if blank.

    edges (uint8, from `sheet_edges`) marks where a sheet meets its desk: ink mostly there goes.
    """
    if edges is not None and not edges.any():
        edges = None
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
    if edges is not None:  # a sheet's edge does not set the ink level either
        inside &= ~on_sheet_edges(labels, stats, edges)
    inside[0] = False
    if not inside.any():
        return None
    candidates = select_labels(labels, inside.view(np.uint8))
    level = quantile_level(histogram(ink8, candidates), 0.95)
    if level < MIN_CONTRAST:
        return None
    mask &= (ink8 > 255 * max(floor, INK_SHARE * level)).view(np.uint8)
    if edges is not None:
        _, labels, stats = label_components(mask)
        edge_ink = on_sheet_edges(labels, stats, edges)
        edge_ink[0] = False
        if edge_ink.any():
            mask[member_mask(labels, np.flatnonzero(edge_ink)) > 0] = 0
    return mask


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


def frame_parts(frame, min_height_fraction: float = 0.03, max_height_fraction: float = 0.9,
                work_side: int = MAX_FRAME_SIDE) -> FrameParts | None:
    """The ink parts of a frame or photo that may be digits or touching digits; None if blank.

    The frame is read at most work_side pixels wide or high.
    """
    try:
        gray = as_gray(frame)
    except EmptyImageError:
        return None
    factor = min(1.0, work_side / max(gray.shape))
    if factor < 1.0:
        gray = shrink(gray, factor)
    ink, background = ink_with_background(gray, whole_frame=True)
    # A sheet's edges are looked for in scenes; a photo cropped to its line has none to show.
    mask = frame_mask(ink, sheet_edges(background) if min(gray.shape) >= MIN_SCENE_SIDE else None)
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
    return FrameParts(ink, labels, without_foreign_strokes(kept, labels), factor, min_height)


SHEET_EDGE = 1.6  # a straight stroke this many times longer than the frame's digits is an edge
HAIRLINE = 0.3  # a part whose strokes are this much thinner than the digits' is no pen's ink
TALL = 0.6  # of the tallest part: the parts whose strokes show the pen's width


def without_foreign_strokes(parts: list[Part], labels: np.ndarray) -> list[Part]:
    """The parts but those no pen of this number drew: straight strokes much longer than the
    digits (the edge of a sheet on a desk, of a table or a screen; a 1 is as tall as the digits
    beside it) and hairlines much thinner than the tall parts' strokes (a sheet's edge in
    dashes). The digits' size is the tallest part that is not straight, else the shortest."""
    if len(parts) < 2:
        return parts
    masks = [part_mask(labels, part) for part in parts]
    lengths = [straight_length(mask) for mask in masks]
    curved = [part.bottom - part.top for part, length in zip(parts, lengths) if length is None]
    straight = [length for length in lengths if length is not None]
    digit_size = max(curved) if curved else min(straight)
    drawn = [(part, mask) for part, mask, length in zip(parts, masks, lengths)
             if length is None or length < SHEET_EDGE * digit_size]  # never empty: digit_size's own
    widths = [stroke_width(mask) for _, mask in drawn]
    tallest = max(part.bottom - part.top for part, _ in drawn)
    pen = float(np.median([width for (part, _), width in zip(drawn, widths)
                           if part.bottom - part.top >= TALL * tallest]))
    return [part for (part, _), width in zip(drawn, widths) if width > HAIRLINE * pen]


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
