"""Cut a group of touching ink into digits: a projection split, and a split the model guides.

`find_digits` (in `digitlab.frames`) groups a frame's ink into candidate digits; a group too
wide for one digit is cut at valleys of its column profile, and, when a model is at hand and
unsure of that cut, at the columns where the model reads every piece best.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitlab.preprocess import EmptyImageError, mnist_from_gray

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


def read_pieces(spans, member, made, members, origin, min_height, score) -> dict:
    """(start, stop) -> (gain, confidence) for each column span whose ink reads as one piece."""
    images, aspects, kept = [], [], []
    for start, stop in spans:
        found = piece(member, origin, start, stop, min_height)
        image = None if found is None else made.get(members, found[:4], found[4])
        if image is None:
            continue
        images.append(image)
        aspects.append(found[2] / found[3])
        kept.append((start, stop))
    if not images:
        return {}
    probabilities = np.asarray(score(images))
    confidence, digit = probabilities.max(axis=1), probabilities.argmax(axis=1)
    mean, spread = LOG_ASPECT[digit, 0], LOG_ASPECT[digit, 1]
    shape = -0.5 * ((np.log(aspects) - mean) / spread) ** 2  # log-likelihood of the piece's shape
    gain = np.log(np.maximum(confidence, 1e-6)) + ASPECT_WEIGHT * shape - DIGIT_COST
    return {span: (float(g), float(c)) for span, g, c in zip(kept, gain, confidence)}


def scored_columns(member, made, members, origin, min_height, heuristic, score):
    """Column ranges of the digits in a group, chosen by how well the model reads the pieces.

    When the model is unsure of the projection split, every run between candidate cuts that
    lies on a way with few enough pieces to beat that split is read, and the segmentation with the highest summed gain (log-confidence plus the piece's
    shape likelihood, less DIGIT_COST per digit) wins: touching digits are cut where both
    halves read as digits, and one wide digit stays whole.
    """
    arguments = (member, made, members, origin, min_height, score)
    first = read_pieces(heuristic, *arguments)
    if all(span in first and first[span][1] >= SURE for span in heuristic):
        return heuristic  # MNIST-trained models are sure of digit halves too: trust only doubt
    height, width = member.shape
    positions = [0, *candidate_cuts(member, heuristic), width]
    spans = [(start, stop) for i, start in enumerate(positions) for stop in positions[i + 1:]
             if MIN_PIECE_WIDTH * height <= stop - start <= MAX_PIECE_ASPECT * height
             and (start, stop) not in first]
    if all(span in first for span in heuristic):  # a way of more pieces cannot beat this one
        most = sum(first[span][0] for span in heuristic) / MOST_GAIN
        spans = within_pieces(spans, first, width, most)
    pieces = {**first, **read_pieces(spans, *arguments)}
    best = {0: (0.0, [])}  # position -> (score, column ranges) of the best way to read up to it
    for stop in positions[1:]:
        options = [(best[start][0] + gain, best[start][1] + [(start, stop)])
                   for (start, end), (gain, _) in pieces.items() if end == stop and start in best]
        if options:
            best[stop] = max(options, key=lambda option: option[0])
    return best[width][1] if width in best else heuristic


def piece(member, origin, start, stop, min_height):
    """(x, y, w, h, cuts) in frame pixels of a group's ink between two columns; None if too small."""
    part = np.zeros_like(member)
    part[:, start:stop] = member[:, start:stop]
    x, y, width, height = cv2.boundingRect(part)
    if height < 0.5 * min_height:  # cut columns, or None where the group ends
        return None
    cuts = (origin[0] + start if start > 0 else None,
            origin[0] + stop if stop < member.shape[1] else None)
    return origin[0] + x, origin[1] + y, width, height, cuts


def member_mask(labels: np.ndarray, members: list[int]) -> np.ndarray:
    """uint8 mask (0 or 1) of the pixels whose label is one of members."""
    if len(members) > 4:
        return np.isin(labels, members).view(np.uint8)
    mask = labels == members[0]
    for label in members[1:]:
        mask |= labels == label
    return mask.view(np.uint8)


def digit_image(ink, labels, members, box, cuts) -> np.ndarray:
    """to_mnist of one digit's own ink (its components, between its cut columns) on black."""
    x, y, width, height = box
    pad = max(2, height // 5)
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(ink.shape[0], y + height + pad), min(ink.shape[1], x + width + pad)
    member = member_mask(labels[top:bottom, left:right], members)
    radius = max(1, height // 25)
    member = cv2.dilate(member, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    if cuts[0] is not None:
        member[:, :max(0, cuts[0] - left)] = 0
    if cuts[1] is not None:
        member[:, max(0, cuts[1] - left):] = 0
    crop = np.where(member > 0, ink[top:bottom, left:right], np.float32(0.0))
    # The ink map is float32 in [0, 1] already: what to_mnist's as_gray would give.
    return mnist_from_gray(cv2.copyMakeBorder(crop, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0.0))


class DigitImages:
    """A frame's digit images, each made once: the model-guided cuts and the final read share them."""

    def __init__(self, ink: np.ndarray, labels: np.ndarray):
        self.ink, self.labels, self.made = ink, labels, {}

    def get(self, members, box, cuts) -> np.ndarray | None:
        """digit_image of one piece of ink, or None where it holds no digit."""
        key = (tuple(members), tuple(box), cuts)
        if key not in self.made:
            try:
                self.made[key] = digit_image(self.ink, self.labels, members, box, cuts)
            except EmptyImageError:
                self.made[key] = None
        return self.made[key]
