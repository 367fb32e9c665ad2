"""Cut a group of touching ink into digits: a projection split, and a split the model guides.

A scene module (`digitlab.frames`) groups a frame's ink into candidate digits; a group too wide
for one digit is cut at valleys of its column profile, and, when a model is at hand and unsure
of that cut, at the columns where the model reads every piece best. Each piece between two cuts
becomes an MNIST image through `digitlab.preprocess`.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from digitlab.ink import EmptyImageError, member_mask
from digitlab.preprocess import mnist_from_gray


class Group(NamedTuple):
    """Ink that may hold touching digits: its mask cropped to its box, the box's corner and labels."""

    mask: np.ndarray
    left: int
    top: int
    members: tuple


class Piece(NamedTuple):
    """A group's ink between two cut columns (None at the group's ends), its box in frame pixels."""

    x: int
    y: int
    width: int
    height: int
    left_cut: int | None
    right_cut: int | None
    members: tuple

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The box as (x, y, width, height)."""
        return self.x, self.y, self.width, self.height


class PieceScore(NamedTuple):
    """How well the model reads a piece: the gain a segmentation sums, and its confidence."""

    gain: float
    confidence: float


class Way(NamedTuple):
    """The best way found to read a group up to a column: its summed gain and column ranges."""

    gain: float
    spans: list


DIGIT_ASPECT = 0.75
VALLEY_SHARE = 0.5
FORCED_SPLIT = 1.6
CUT_RANGE = 0.35  # cuts are searched this share of a digit's width either side of even spacing
CUT_PULL = 0.5


def column_profile(mask: np.ndarray) -> np.ndarray:
    """Ink per column, smoothed over three columns."""
    return np.convolve(mask.sum(axis=0, dtype=np.float64), np.ones(3) / 3, mode="same")


def split_columns(mask: np.ndarray, split_aspect: float) -> list[tuple[int, int]]:
    """Column ranges of the digits in a box: cuts at projection minima when it is too wide."""
    height, width = mask.shape
    if width <= split_aspect * height:
        return [(0, width)]
    count = max(2, round(width / (DIGIT_ASPECT * height)))
    profile = column_profile(mask)
    typical = float(np.median(profile))
    cuts, step = [0], width / count
    for index in range(1, count):
        ideal = index * step
        window = np.arange(max(cuts[-1] + 1, int(ideal - CUT_RANGE * step)),
                           min(width - 1, int(ideal + CUT_RANGE * step) + 1))
        if window.size:
            cost = profile[window] + CUT_PULL * typical * np.abs(window - ideal) / step
            cut = int(window[np.argmin(cost)])
            # Cut at a narrow joint; cut anyway when the box is far too wide for one digit.
            if profile[cut] <= VALLEY_SHARE * typical or width > FORCED_SPLIT * height:
                cuts.append(cut)
    return list(zip(cuts, cuts[1:] + [width], strict=True))


SCORED_ASPECT = 0.9  # groups this wide (per height) may be touching digits: the model decides
MAX_VALLEYS = 6
MIN_PIECE_WIDTH = 0.08  # of the group's height (a thin "1")
MAX_PIECE_ASPECT = 1.6  # flat MNIST digits (a long "2", a wide "4") reach about 1.5
DIGIT_COST = 0.15  # log-confidence each extra digit must earn: ties go to fewer digits
SURE = 0.98  # when the model reads every piece of the projection split this surely, keep it
ASPECT_WEIGHT = 0.25  # how much a piece's shape counts next to the log-confidence
MOST_GAIN = 1e-6 - DIGIT_COST  # no piece gains more: its log-confidence and shape term are <= 0
# Per digit, mean and spread of log(width / height) of the ink box over the MNIST training set
# (a test recomputes them): a "0" as wide as two digits is unlikely.
LOG_ASPECT = np.array([(-0.108, 0.200), (-0.943, 0.462), (-0.074, 0.222), (-0.240, 0.214),
                       (-0.247, 0.216), (-0.077, 0.263), (-0.333, 0.219), (-0.270, 0.218),
                       (-0.288, 0.224), (-0.403, 0.207)])


def candidate_cuts(member: np.ndarray, heuristic: list[tuple[int, int]]) -> list[int]:
    """Columns where touching digits may join: the deepest profile valleys and the heuristic's."""
    height, width = member.shape
    profile = column_profile(member)
    margin = max(1, int(MIN_PIECE_WIDTH * height))
    inner = np.arange(margin, width - margin)
    valleys = [int(i) for i in inner if profile[i] <= profile[i - 1] and profile[i] <= profile[i + 1]]
    cuts: list[int] = []
    for column in sorted(valleys, key=lambda i: profile[i]):  # deepest first, spread apart
        if len(cuts) < MAX_VALLEYS and all(abs(column - cut) >= 0.1 * height for cut in cuts):
            cuts.append(column)
    return sorted(set(cuts) | {start for start, _ in heuristic[1:]})


def within_pieces(spans, known, width: int, most: float) -> list[tuple[int, int]]:
    """The spans on some way from column 0 to width made of at most `most` spans (known ones too)."""
    every = sorted([*spans, *known])
    before, after = {0: 0}, {width: 0}  # fewest spans from column 0 to a cut, and from it to width
    for start, stop in every:
        if start in before:
            before[stop] = min(before.get(stop, len(every)), before[start] + 1)
    for start, stop in sorted(every, key=lambda span: -span[1]):
        if stop in after:
            after[start] = min(after.get(start, len(every)), after[stop] + 1)
    unreachable = len(every) + 1
    return [(start, stop) for start, stop in spans
            if before.get(start, unreachable) + 1 + after.get(stop, unreachable) <= most]


def read_pieces(spans, group: Group, images: DigitImages, min_height, score) -> dict:
    """(start, stop) -> PieceScore for each column span whose ink reads as one piece."""
    read, aspects, kept = [], [], []
    for start, stop in spans:
        found = piece(group, start, stop, min_height)
        image = None if found is None else images.get(found)
        if image is None:
            continue
        read.append(image)
        aspects.append(found.width / found.height)
        kept.append((start, stop))
    if not read:
        return {}
    probabilities = np.asarray(score(read))
    confidence, digit = probabilities.max(axis=1), probabilities.argmax(axis=1)
    mean, spread = LOG_ASPECT[digit, 0], LOG_ASPECT[digit, 1]
    shape = -0.5 * ((np.log(aspects) - mean) / spread) ** 2  # log-likelihood of the piece's shape
    gain = np.log(np.maximum(confidence, 1e-6)) + ASPECT_WEIGHT * shape - DIGIT_COST
    return {span: PieceScore(float(g), float(c)) for span, g, c in zip(kept, gain, confidence)}


def scored_columns(group: Group, images: DigitImages, min_height, heuristic, score):
    """Column ranges of the digits in a group, chosen by how well the model reads the pieces.

    When the model is unsure of the projection split, every run between candidate cuts that
    lies on a way with few enough pieces to beat that split is read, and the segmentation with
    the highest summed gain (log-confidence plus the piece's shape likelihood, less DIGIT_COST
    per digit) wins: touching digits are cut where both halves read as digits, and one wide
    digit stays whole.
    """
    arguments = (group, images, min_height, score)
    first = read_pieces(heuristic, *arguments)
    if all(span in first and first[span].confidence >= SURE for span in heuristic):
        return heuristic  # MNIST-trained models are sure of digit halves too: trust only doubt
    height, width = group.mask.shape
    positions = [0, *candidate_cuts(group.mask, heuristic), width]
    spans = [(start, stop) for i, start in enumerate(positions) for stop in positions[i + 1:]
             if MIN_PIECE_WIDTH * height <= stop - start <= MAX_PIECE_ASPECT * height
             and (start, stop) not in first]
    if all(span in first for span in heuristic):  # a way of more pieces cannot beat this one
        most = sum(first[span].gain for span in heuristic) / MOST_GAIN
        spans = within_pieces(spans, first, width, most)
    pieces = {**first, **read_pieces(spans, *arguments)}
    best = {0: Way(0.0, [])}  # position -> the best way to read the group up to it
    for stop in positions[1:]:
        options = [Way(best[start].gain + read.gain, best[start].spans + [(start, stop)])
                   for (start, end), read in pieces.items() if end == stop and start in best]
        if options:
            best[stop] = max(options, key=lambda option: option.gain)
    return best[width].spans if width in best else heuristic


def piece(group: Group, start: int, stop: int, min_height) -> Piece | None:
    """A group's ink between two columns, as a Piece in frame pixels; None if too small."""
    part = np.zeros_like(group.mask)
    part[:, start:stop] = group.mask[:, start:stop]
    x, y, width, height = cv2.boundingRect(part)
    if height < 0.5 * min_height:
        return None
    return Piece(group.left + x, group.top + y, width, height,
                 group.left + start if start > 0 else None,
                 group.left + stop if stop < group.mask.shape[1] else None, group.members)


def digit_image(ink: np.ndarray, labels: np.ndarray, found: Piece) -> np.ndarray:
    """to_mnist of one piece's own ink (its components, between its cut columns) on black."""
    x, y, width, height = found.box
    pad = max(2, height // 5)
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(ink.shape[0], y + height + pad), min(ink.shape[1], x + width + pad)
    member = member_mask(labels[top:bottom, left:right], found.members)
    radius = max(1, height // 25)
    member = cv2.dilate(member, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    if found.left_cut is not None:
        member[:, :max(0, found.left_cut - left)] = 0
    if found.right_cut is not None:
        member[:, max(0, found.right_cut - left):] = 0
    crop = np.where(member > 0, ink[top:bottom, left:right], np.float32(0.0))
    # The ink map is float32 in [0, 1] already: what to_mnist's as_gray would give.
    return mnist_from_gray(cv2.copyMakeBorder(crop, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0.0))


class DigitImages:
    """A frame's digit images, each made once: the model-guided cuts and the final read share them."""

    def __init__(self, ink: np.ndarray, labels: np.ndarray):
        self.ink, self.labels, self.made = ink, labels, {}

    def get(self, found: Piece) -> np.ndarray | None:
        """digit_image of one piece of ink, or None where it holds no digit."""
        if found not in self.made:
            try:
                self.made[found] = digit_image(self.ink, self.labels, found)
            except EmptyImageError:
                self.made[found] = None
        return self.made[found]
