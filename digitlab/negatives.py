"""Marks that are not digits, drawn in code, for teaching and testing "that is not a digit".

Each kind draws dark ink on white paper (like a canvas or a photo) and goes through the one
preprocessing path, `preprocess.to_mnist`, so a mark reaches the models exactly as a user's
would. The training kinds teach the rejector (outlier exposure); the validation kinds choose
between trained rejectors; the held-out kinds are used for neither and measure, once, whether
the rejection generalises to marks it has never seen.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cv2
import numpy as np

from digitlab.ink import EmptyImageError
from digitlab.preprocess import to_mnist

SIDE = 112  # the paper each mark is drawn on, in pixels
# Letters that no one would take for a digit (no O, D, Q, I, l, Z, S, B, G, b, g, q, T, J, L).
LETTERS = "ACEFHKMNPRUVWXYacdefhkmnprtuvwxy"
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
         cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
         cv2.FONT_HERSHEY_SCRIPT_COMPLEX, cv2.FONT_HERSHEY_PLAIN)


def paper() -> np.ndarray:
    """A blank white page to draw on."""
    return np.full((SIDE, SIDE), 255, np.uint8)


def pen(rng) -> int:
    """A stroke width from a fine pen to a marker."""
    return int(rng.integers(3, 12))


def point(rng, margin: int = 12) -> tuple[int, int]:
    """A random point on the page, away from its edge."""
    return int(rng.integers(margin, SIDE - margin)), int(rng.integers(margin, SIDE - margin))


def polyline(page: np.ndarray, points, width: int, closed: bool = False) -> np.ndarray:
    """Draw connected strokes in dark ink."""
    cv2.polylines(page, [np.asarray(points, np.int32).reshape(-1, 1, 2)], closed, 0, width,
                  cv2.LINE_AA)
    return page


# -- the kinds the rejector trains on ---------------------------------------------------------

def letter(rng) -> np.ndarray:
    """One letter of a font, not one that looks like a digit."""
    page, text = paper(), LETTERS[int(rng.integers(len(LETTERS)))]
    font, scale = FONTS[int(rng.integers(len(FONTS)))], float(rng.uniform(2.0, 3.4))
    thickness = int(rng.integers(2, 8))
    (width, height), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = ((SIDE - width) // 2, (SIDE + height) // 2)
    cv2.putText(page, text, origin, font, scale, 0, thickness, cv2.LINE_AA)
    return page


def scribble(rng) -> np.ndarray:
    """A random smooth scrawl: a pen wandering with momentum."""
    position, velocity = np.array(point(rng, 30), float), rng.normal(0, 6, 2)
    points = []
    for _ in range(int(rng.integers(40, 90))):  # long enough not to be one digit
        velocity = 0.85 * velocity + rng.normal(0, 4, 2)
        position = np.clip(position + velocity, 8, SIDE - 8)
        points.append(position.copy())
    return polyline(paper(), points, pen(rng))


def blob(rng) -> np.ndarray:
    """One or a few filled shapes: an ink spill, a smudge."""
    page = paper()
    for _ in range(int(rng.integers(1, 4))):
        axes = (int(rng.integers(6, 30)), int(rng.integers(6, 30)))
        cv2.ellipse(page, point(rng, 25), axes, float(rng.uniform(0, 180)), 0, 360, 0, -1)
    return page


def bars(rng) -> np.ndarray:
    """Two to seven parallel bars at one angle (a tally, a barcode, a fence)."""
    page, count = paper(), int(rng.integers(2, 8))
    angle = float(rng.normal(0, 0.25)) + (np.pi / 2 if rng.random() < 0.3 else 0.0)
    length, spacing = rng.uniform(50, 90), rng.uniform(9, 18)
    direction = np.array([np.sin(angle), np.cos(angle)])
    across = np.array([direction[1], -direction[0]])
    centre, width = np.array([SIDE / 2, SIDE / 2]), pen(rng)
    for index in range(count):
        middle = centre + across * spacing * (index - (count - 1) / 2)
        polyline(page, [middle - direction * length / 2, middle + direction * length / 2], width)
    return page


def strokes(rng) -> np.ndarray:
    """An open path of three to eight straight strokes at random angles (a doodle)."""
    position, points = np.array(point(rng, 30), float), []
    for _ in range(int(rng.integers(4, 10))):
        points.append(position.copy())
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(15, 45)
        position = np.clip(position + length * np.array([np.cos(angle), np.sin(angle)]), 8,
                           SIDE - 8)
    return polyline(paper(), points, pen(rng))


def fragments(rng) -> np.ndarray:
    """Two to five short broken strokes scattered on the page."""
    page, width = paper(), pen(rng)
    for _ in range(int(rng.integers(2, 6))):
        start = np.array(point(rng), float)
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(8, 30)
        polyline(page, [start, start + length * np.array([np.cos(angle), np.sin(angle)])], width)
    return page


def pair(rng, digits: np.ndarray) -> np.ndarray:
    """Two MNIST digits squeezed side by side into one crop: a number, not one digit."""
    first, second = (digits[int(rng.integers(len(digits)))] for _ in range(2))
    both = np.concatenate([first, second], axis=1).astype(np.uint8)
    return 255 - cv2.resize(both, (SIDE, SIDE // 2 + int(rng.integers(0, SIDE // 2))))


# -- kinds kept out of training: they measure how far the rejection generalises -------------

def shape(rng) -> np.ndarray:
    """The outline of a triangle, square, diamond or star."""
    sides = int(rng.choice([3, 4, 5]))
    radius, turn = rng.uniform(25, 45), rng.uniform(0, 2 * np.pi)
    star = sides == 5
    corners = sides * (2 if star else 1)
    points = []
    for index in range(corners):
        reach = radius * (0.45 if star and index % 2 else 1.0)
        angle = turn + 2 * np.pi * index / corners
        points.append((SIDE / 2 + reach * np.cos(angle), SIDE / 2 + reach * np.sin(angle)))
    return polyline(paper(), points, pen(rng), closed=True)


def grid(rng) -> np.ndarray:
    """A hash sign or a tic-tac-toe grid: crossing lines."""
    page, width = paper(), pen(rng)
    count, tilt = int(rng.integers(2, 4)), rng.normal(0, 0.15)
    for index in range(count):
        offset = SIDE * (index + 1) / (count + 1)
        polyline(page, [(offset + 25 * tilt, 15), (offset - 25 * tilt, SIDE - 15)], width)
        polyline(page, [(15, offset - 25 * tilt), (SIDE - 15, offset + 25 * tilt)], width)
    return page


def wave(rng) -> np.ndarray:
    """A sine wave or a zigzag across the page."""
    x = np.linspace(12, SIDE - 12, 60)
    periods, height = rng.uniform(1.5, 4), rng.uniform(8, 25)
    phase = 2 * np.pi * periods * (x - 12) / (SIDE - 24)
    y = np.sin(phase) if rng.random() < 0.5 else 2 / np.pi * np.arcsin(np.sin(phase))
    return polyline(paper(), np.stack([x, SIDE / 2 + height * y], axis=1), pen(rng))


def dots(rng) -> np.ndarray:
    """Three to twelve dots scattered on the page."""
    page = paper()
    for _ in range(int(rng.integers(3, 13))):
        cv2.circle(page, point(rng), int(rng.integers(3, 7)), 0, -1, cv2.LINE_AA)
    return page


def arrow(rng) -> np.ndarray:
    """An arrow in any direction, with its head."""
    angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(55, 85)
    direction = np.array([np.cos(angle), np.sin(angle)])
    tail, tip = SIDE / 2 - direction * length / 2, SIDE / 2 + direction * length / 2
    page, width = paper(), pen(rng)
    polyline(page, [tail, tip], width)
    for side in (-1, 1):
        barb = angle + np.pi + side * 0.5
        polyline(page, [tip, tip + 22 * np.array([np.cos(barb), np.sin(barb)])], width)
    return page


# -- kinds for choosing between rejectors (neither trained on nor the final test) ------------

def cross(rng) -> np.ndarray:
    """Two to four strokes through one centre: an x, a plus sign, an asterisk."""
    page, width, count = paper(), pen(rng), int(rng.integers(2, 5))
    centre, reach, turn = np.array([SIDE / 2, SIDE / 2]), rng.uniform(25, 45), rng.uniform(0, np.pi)
    for index in range(count):
        angle = turn + np.pi * index / count
        direction = reach * np.array([np.cos(angle), np.sin(angle)])
        polyline(page, [centre - direction, centre + direction], width)
    return page


def spiral(rng) -> np.ndarray:
    """A spiral of one and a half to three turns."""
    turns = rng.uniform(1.5, 3.0)
    angle = np.linspace(0, 2 * np.pi * turns, 120) + rng.uniform(0, 2 * np.pi)
    radius = np.linspace(3, rng.uniform(30, 48), 120)
    points = np.stack([SIDE / 2 + radius * np.cos(angle), SIDE / 2 + radius * np.sin(angle)], 1)
    return polyline(paper(), points, pen(rng))


def check(rng) -> np.ndarray:
    """A tick, long arm up and to the right."""
    start = np.array([rng.uniform(15, 35), rng.uniform(45, 65)])
    bottom = start + np.array([rng.uniform(15, 25), rng.uniform(20, 35)])
    end = bottom + np.array([rng.uniform(35, 50), -rng.uniform(55, 75)])
    return polyline(paper(), [start, bottom, end], pen(rng))


TRAINING_KINDS: dict[str, Callable] = {"letters": letter, "scribbles": scribble, "blobs": blob,
                                       "bars": bars, "strokes": strokes, "fragments": fragments,
                                       "pairs": pair}
VALIDATION_KINDS: dict[str, Callable] = {"crosses": cross, "spirals": spiral, "checks": check}
HELD_OUT_KINDS: dict[str, Callable] = {"shapes": shape, "grids": grid, "waves": wave,
                                       "dots": dots, "arrows": arrow}
ALL_KINDS = {**TRAINING_KINDS, **VALIDATION_KINDS, **HELD_OUT_KINDS}


def make_marks(kind: str, count: int, seed: int, digits: np.ndarray | None = None) -> np.ndarray:
    """`count` marks of one kind as float32 (count, 28, 28) MNIST-form images, deterministic."""
    draw = ALL_KINDS.get(kind)
    if draw is None:
        raise ValueError(f"unknown kind {kind!r}; kinds: {sorted(ALL_KINDS)}")
    if kind == "pairs" and digits is None:
        raise ValueError("pairs are drawn from digits: pass the MNIST images to draw them from")
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])  # kinds draw independently
    marks = []
    while len(marks) < count:
        page = draw(rng, digits) if kind == "pairs" else draw(rng)
        try:
            marks.append(to_mnist(page))
        except EmptyImageError:  # a mark too small to see: draw another
            continue
    return np.stack(marks).astype(np.float32)
