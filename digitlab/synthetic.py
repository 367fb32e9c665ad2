"""Realistic test and benchmark images made in code: user canvases, paper photos, a handwriting style.

- `canvas_from_mnist`: an MNIST digit re-drawn as a drawing-pad canvas (size, offset, stroke width,
  polarity, transparency, noise, uneven light).
- `paper_frame`: a camera frame of digits in dark ink on noisy, unevenly lit paper, with true boxes.
- `render_stroke_digit`: a digit in one consistent human style that differs from MNIST's.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from digitlab.preprocess import to_mnist


def unit_image(image28) -> np.ndarray:
    """An MNIST-style image (uint8 0..255 or float 0..1) as float32 in [0, 1]."""
    image = np.asarray(image28)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D digit image, got shape {image.shape}")
    image = image.astype(np.float32)
    return image / 255.0 if image.max() > 1.0 else image


def gradient(height: int, width: int, angle_degrees: float) -> np.ndarray:
    """A linear ramp from 0 to 1 across the image along the given direction."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = np.deg2rad(angle_degrees)
    ramp = np.cos(angle) * columns + np.sin(angle) * rows
    return (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)


def canvas_from_mnist(image28, size: int = 280, thickness: int = 0, offset=(0, 0), scale: float = 1.0,
                      rgba: bool = False, invert: bool = False, noise: float = 0.0,
                      lighting: float = 0.0, rng=None) -> np.ndarray:
    """Re-draw a 28x28 digit as a user canvas: dark ink on white (light on dark if invert).

    thickness widens strokes by that many canvas pixels, offset=(dx, dy) moves the digit off
    centre, scale resizes it (1.0 fills the canvas as MNIST fills 28x28), rgba gives HxWx4 with a
    transparent background and opaque black ink (an HTML canvas), noise adds Gaussian noise of that
    standard deviation and lighting darkens one side by that fraction.
    """
    ink = unit_image(image28)
    side = max(1, round(size * scale))
    big = cv2.resize(ink, (side, side), interpolation=cv2.INTER_LINEAR)
    if thickness > 0:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thickness + 1, thickness + 1))
        big = cv2.dilate(big, disc)
    coverage = np.zeros((size, size), np.float32)
    left = (size - side) // 2 + int(offset[0])
    top = (size - side) // 2 + int(offset[1])
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(size, left + side), min(size, top + side)
    if x1 > x0 and y1 > y0:
        coverage[y0:y1, x0:x1] = big[y0 - top:y1 - top, x0 - left:x1 - left]
    coverage = np.clip(coverage, 0.0, 1.0)
    if rgba:
        canvas = np.zeros((size, size, 4), np.uint8)
        canvas[:, :, :3] = 255 if invert else 0
        canvas[:, :, 3] = np.rint(coverage * 255)
        return canvas
    gray = coverage if invert else 1.0 - coverage
    if lighting:
        gray = gray * (1.0 - lighting * gradient(size, size, 30.0))
    if noise:
        gray = gray + np.random.default_rng(rng).normal(0.0, noise, gray.shape)
    return np.rint(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8)


def ink_crop(image28) -> np.ndarray:
    """The digit cropped to its ink (pixels above 0.1)."""
    ink = unit_image(image28)
    x, y, width, height = cv2.boundingRect((ink > 0.1).astype(np.uint8))
    if width == 0 or height == 0:
        raise ValueError("the digit image has no ink")
    return ink[y:y + height, x:x + width]


RULE_BGR = np.array([0.86, 0.75, 0.62], np.float32)  # light blue, as exercise books print them
PAPER_BGR = np.array([0.86, 0.91, 0.94], np.float32)
INK_BGR = np.array([0.22, 0.12, 0.08], np.float32)
TABLE_BGR = np.array([0.18, 0.26, 0.34], np.float32)


def paper_frame(digits28: Sequence, height: int = 480, width: int = 640, digit_height=None,
                noise: float = 0.03, shadow: bool = True, gap=(0.2, 0.6), specks: int = 4,
                paper_margin: int = 0, rng=None, gaps: Sequence[float] | None = None,
                rules: str | None = None, rule_bgr=RULE_BGR, drawn: str | None = None,
                ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A BGR photo of the digits in dark ink on paper, left to right, and their true ink boxes.

    gap is a fraction of digit_height (a number, or a (low, high) range drawn per gap; negative
    makes digits touch); gaps, when given, sets each gap instead. shadow adds a light gradient
    and a soft shadow; specks adds small dots away from the digits; paper_margin > 0 shows a
    dark table around the paper; rules ("ruled" or "squared") prints thin lines on the paper;
    drawn ("underline" or "box") draws a pen line under the number or a box around it.
    """
    rng = np.random.default_rng(rng)
    crops = [ink_crop(digit) for digit in digits28]
    low, high = (gap, gap) if np.isscalar(gap) else gap
    gaps = rng.uniform(low, high, max(0, len(crops) - 1)) if gaps is None else np.asarray(gaps, float)
    if len(gaps) != max(0, len(crops) - 1):
        raise ValueError(f"{len(crops)} digits need {max(0, len(crops) - 1)} gaps, got {len(gaps)}")
    inner = width - 2 * (paper_margin + 0.06 * width)
    digit_height = float(digit_height or 0.3 * height)
    needed = sum(crop.shape[1] / crop.shape[0] for crop in crops) + gaps.sum()
    digit_height = min(digit_height, inner / max(needed, 1e-6), 0.8 * (height - 2 * paper_margin))
    coverage = np.zeros((height, width), np.float32)
    boxes = []
    x = paper_margin + 0.06 * width + max(0.0, inner - needed * digit_height) * rng.uniform(0.1, 0.9)
    for index, crop in enumerate(crops):
        size = (max(1, round(crop.shape[1] * digit_height / crop.shape[0])), round(digit_height))
        big = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
        top = round(height / 2 - digit_height / 2 + rng.uniform(-0.05, 0.05) * digit_height)
        left = round(x)
        region = coverage[top:top + size[1], left:left + size[0]]
        np.maximum(region, big[:region.shape[0], :region.shape[1]], out=region)
        bx, by, bw, bh = cv2.boundingRect((big > 0.3).astype(np.uint8))
        boxes.append((left + bx, top + by, bw, bh))
        x += size[0] + (gaps[index] * digit_height if index < len(gaps) else 0)
    if drawn is not None:
        draw_around(coverage, boxes, digit_height, drawn)
    for _ in range(specks):
        for _attempt in range(50):
            cx, cy = int(rng.integers(5, width - 5)), int(rng.integers(5, height - 5))
            far = all(not (bx - 0.3 * digit_height < cx < bx + bw + 0.3 * digit_height
                           and by - 0.3 * digit_height < cy < by + bh + 0.3 * digit_height)
                      for bx, by, bw, bh in boxes)
            if far:
                cv2.circle(coverage, (cx, cy), int(rng.integers(1, 3)), 0.9, -1, cv2.LINE_AA)
                break
    paper = ruled_paper(height, width, digit_height, rules, rule_bgr)
    frame = paper * (1.0 - coverage[:, :, None]) + INK_BGR * coverage[:, :, None]
    if paper_margin > 0:
        outside = np.ones((height, width), bool)
        outside[paper_margin:height - paper_margin, paper_margin:width - paper_margin] = False
        frame[outside] = TABLE_BGR
    if shadow:
        light = 1.0 - 0.3 * gradient(height, width, rng.uniform(0, 360))
        edge = np.clip((gradient(height, width, rng.uniform(0, 360)) - 0.6) * 8.0, 0.0, 1.0)
        light *= 1.0 - 0.3 * cv2.GaussianBlur(edge, (0, 0), 0.02 * width)
        frame *= light[:, :, None]
    frame += rng.normal(0.0, noise, frame.shape).astype(np.float32)
    return np.rint(np.clip(frame, 0.0, 1.0) * 255).astype(np.uint8), boxes


def draw_around(coverage: np.ndarray, boxes: list, digit_height: float, drawn: str) -> None:
    """Draw, in place, a pen line under the digits' boxes ("underline") or a box around them ("box")."""
    left, right = min(x for x, _, _, _ in boxes), max(x + w for x, _, w, _ in boxes)
    top, bottom = min(y for _, y, _, _ in boxes), max(y + h for _, y, _, h in boxes)
    pen = max(2, round(0.07 * digit_height))
    if drawn == "underline":
        below = bottom + round(0.15 * digit_height)
        cv2.line(coverage, (left - pen, below), (right + pen, below + pen // 2), 1.0, pen, cv2.LINE_AA)
    elif drawn == "box":
        margin = round(0.3 * digit_height)
        cv2.rectangle(coverage, (left - margin, top - margin), (right + margin, bottom + margin), 1.0, pen,
                      cv2.LINE_AA)
    else:
        raise ValueError(f"drawn must be 'underline', 'box' or None, got {drawn!r}")


RULE_SPACING = {"ruled": 0.9, "squared": 0.3}  # of the digit height, as people write on them


def ruled_paper(height: int, width: int, digit_height: float, rules: str | None,
                rule_bgr) -> np.ndarray:
    """Blank paper (float BGR), with thin 2 px rules: across ("ruled") or across and down ("squared")."""
    paper = np.empty((height, width, 3), np.float32)
    paper[:] = PAPER_BGR
    if rules is None:
        return paper
    if rules not in RULE_SPACING:
        raise ValueError(f"rules must be one of {sorted(RULE_SPACING)} or None, got {rules!r}")
    step = max(6, round(RULE_SPACING[rules] * digit_height))
    colour = tuple(float(value) for value in rule_bgr)
    for y in range(step // 3, height, step):  # no draw from rng: the same photo without rules
        cv2.line(paper, (0, y), (width, y), colour, 2, cv2.LINE_AA)
    if rules == "squared":
        for x in range(step // 3, width, step):
            cv2.line(paper, (x, 0), (x, height), colour, 2, cv2.LINE_AA)
    return paper


def ink_is_one_blob(frame: np.ndarray) -> bool:
    """Whether a paper frame's dark ink forms one large connected region (its digits touch)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    _, _, stats, _ = cv2.connectedComponentsWithStats((gray < 90).astype(np.uint8))
    return int((stats[1:, cv2.CC_STAT_AREA] > 100).sum()) == 1


def box_overlap(first, second) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = first
    bx, by, bw, bh = second
    overlap = (max(0, min(ax + aw, bx + bw) - max(ax, bx))
               * max(0, min(ay + ah, by + bh) - max(ay, by)))
    return overlap / float(aw * ah + bw * bh - overlap)


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, points: int = 14):
    """Points on an elliptical arc from start to stop degrees (0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, stop, points))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles), strict=True))


# One "continental" hand: strokes in a unit box (x right, y down), each a polyline.
CONTINENTAL = {
    0: [arc(0.5, 0.5, 0.27, 0.46, -80, 290)],
    1: [[(0.28, 0.3), (0.55, 0.04), (0.55, 0.96)], [(0.3, 0.96), (0.8, 0.96)]],
    2: [arc(0.5, 0.3, 0.28, 0.26, 190, 370)[:-1] + [(0.76, 0.38), (0.3, 0.82)]
        + arc(0.3, 0.87, 0.1, 0.09, -90, -450, 10) + [(0.82, 0.94)]],
    3: [[(0.22, 0.05), (0.78, 0.05), (0.42, 0.4)] + arc(0.48, 0.66, 0.3, 0.28, -90, 150)],
    4: [[(0.25, 0.03), (0.2, 0.62), (0.85, 0.62)], [(0.68, 0.08), (0.68, 0.98)]],
    5: [[(0.8, 0.05), (0.3, 0.05)], [(0.3, 0.05), (0.26, 0.45)] + arc(0.46, 0.65, 0.3, 0.28, -130, 150)],
    6: [[(0.7, 0.02), (0.3, 0.55)] + arc(0.5, 0.7, 0.25, 0.26, 180, 540)],
    7: [[(0.2, 0.2), (0.2, 0.05), (0.82, 0.05), (0.38, 0.98)], [(0.3, 0.52), (0.78, 0.52)]],
    8: [arc(0.5, 0.24, 0.2, 0.2, 90, 450), arc(0.5, 0.7, 0.28, 0.26, -90, 270)],
    9: [arc(0.48, 0.3, 0.27, 0.26, 0, 360), [(0.75, 0.3), (0.75, 0.98)]],
}
STYLES = {"continental": {"strokes": CONTINENTAL, "slant": 0.12, "width": 0.09}}


def render_stroke_digit(label: int, rng=None, size: int = 28, style: str = "continental") -> np.ndarray:
    """A digit drawn in a consistent human style (jittered by rng), through `to_mnist`."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {sorted(STYLES)}")
    if label not in CONTINENTAL:
        raise ValueError(f"label must be a digit 0-9, got {label!r}")
    rng = np.random.default_rng(rng)
    hand = STYLES[style]
    side = 112
    slant = hand["slant"] + rng.normal(0.0, 0.04)
    angle = np.deg2rad(rng.normal(0.0, 4.0))
    stretch = rng.normal(1.0, 0.05, 2)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    canvas = np.zeros((side, side), np.uint8)
    thickness = max(2, round(side * hand["width"] * rng.uniform(0.8, 1.2)))
    for stroke in hand["strokes"][label]:
        points = np.asarray(stroke, np.float64) - 0.5
        points += rng.normal(0.0, 0.012, points.shape) + rng.normal(0.0, 0.02, 2)
        points[:, 0] -= slant * points[:, 1]
        points = (points * stretch) @ rotation.T
        pixels = np.rint((points * 0.7 + 0.5) * side * 16).astype(np.int32)  # 4 fraction bits
        cv2.polylines(canvas, [pixels], False, 255, thickness, cv2.LINE_AA, shift=4)
    image = to_mnist(canvas)
    if size != image.shape[0]:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


# Seven-segment "blocky" handwriting: readable to people, and a style MNIST rarely shows
# (the default model reads about three in four of them; 3 and 6 are mostly wrong).
SEGMENTS = {0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc", 5: "afgcd", 6: "afgedc",
            7: "abc", 8: "abcdefg", 9: "abcdfg"}
SEGMENT_ENDS = {"a": ((0, 0), (1, 0)), "b": ((1, 0), (1, 0.5)), "c": ((1, 0.5), (1, 1)),
                "d": ((0, 1), (1, 1)), "e": ((0, 0.5), (0, 1)), "f": ((0, 0), (0, 0.5)),
                "g": ((0, 0.5), (1, 0.5))}


def render_segment_digit(label: int, rng=None, slant: float = 0.12) -> np.ndarray:
    """A digit drawn as straight seven-segment strokes (jittered by rng), through `to_mnist`."""
    if label not in SEGMENTS:
        raise ValueError(f"label must be a digit 0-9, got {label!r}")
    rng = np.random.default_rng(rng)
    canvas = np.full((200, 200), 255, np.uint8)
    width, height = rng.uniform(50, 70), rng.uniform(110, 130)
    left, top = 100 - width / 2, 100 - height / 2
    shear = rng.uniform(0, slant)
    thickness = int(rng.integers(9, 15))

    def point(unit_x: float, unit_y: float) -> tuple[int, int]:
        jitter = rng.normal(0, 2.5, 2)
        return (int(left + unit_x * width + (1 - unit_y) * shear * height + jitter[0]),
                int(top + unit_y * height + jitter[1]))

    for segment in SEGMENTS[label]:
        start, stop = SEGMENT_ENDS[segment]
        cv2.line(canvas, point(*start), point(*stop), 0, thickness, cv2.LINE_AA)
    return to_mnist(canvas)
