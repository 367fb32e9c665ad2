"""Number lines made in code for the line reader: MNIST digits written in a row and photographed.

Each line is 1-8 digits from one MNIST split with per-digit scale, slant, rotation, stroke width and
baseline jitter, gaps from overlapping (digits touch) to wide, then "photographed": paper and ink
levels, uneven light, blur, a random size in pixels, noise, JPEG and, now and then, light ink on a
dark board. The photo then goes through the reading path itself (ink map, mask, `line_input`), so
the reader trains on exactly what it sees in frames. Everything is drawn from one seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from digitlab.frames import frame_mask
from digitlab.handwriting import handwrite
from digitlab.ink import EmptyImageError, ink_map
from digitlab.lineimage import LineInput, line_input
from digitlab.pen import pen_redraw


@dataclass(frozen=True)
class LineRecipe:
    """How lines are drawn; saved on the reader's card so a line set can be made again."""

    min_digits: int = 1
    max_digits: int = 8
    min_gap: float = -0.25  # gaps between digits, as a share of the digit height (< 0: touching)
    max_gap: float = 0.9
    touching_share: float = 0.45  # lines whose gaps are all drawn from [min_gap, 0.05]
    min_scale: float = 0.75  # a digit's height against the line's tallest
    max_slant: float = 0.35
    max_rotation_degrees: float = 8.0
    baseline_jitter: float = 0.08
    min_height_pixels: float = 11.0  # the photographed digit height, drawn log-uniform
    max_height_pixels: float = 70.0
    max_blur: float = 1.3
    max_noise: float = 0.06
    jpeg_share: float = 0.5
    inverted_share: float = 0.1
    speck_share: float = 0.3
    elastic_share: float = 0.0  # digits changed as other hands write (`digitlab.handwriting`)
    elastic_pixels: float = 1.6
    broken_share: float = 0.0
    coarse_share: float = 0.0
    faint_share: float = 0.0
    pen_share: float = 0.0  # lines written again with an even pen (`digitlab.pen`)
    min_pen_width: float = 0.03  # the pen's width, as a share of the digit height
    max_pen_width: float = 0.14

    @classmethod
    def handwriting(cls) -> LineRecipe:
        """The default lines, their digits changed as the digit model's handwriting recipe does."""
        return cls(elastic_share=0.5, broken_share=0.12, coarse_share=0.15, faint_share=0.2)

    @classmethod
    def pen(cls) -> LineRecipe:
        """The handwriting lines, half of them written again with a ball-point or felt pen."""
        return replace(cls.handwriting(), pen_share=0.5)

    @classmethod
    def writers(cls) -> LineRecipe:
        """The pen lines with wider changes of hand: stronger wobble, slant and rotation, more touching."""
        return replace(cls.pen(), pen_share=0.4, elastic_share=0.7, elastic_pixels=2.0, max_slant=0.45,
                       max_rotation_degrees=10.0, touching_share=0.5)

    def to_dict(self) -> dict:
        """The recipe as a JSON object."""
        return asdict(self)


WORK_HEIGHT = 48  # digits are composed at this height, then photographed at their own size


def digit_strokes(image28: np.ndarray, height: float, slant: float, rotation: float,
                  thickness: int, rng) -> np.ndarray:
    """One MNIST digit warped to `height` px with slant and rotation, its strokes widened or thinned."""
    ink = image28.astype(np.float32) / 255.0
    ys, xs = np.nonzero(ink > 0.1)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    scale = height / (bottom - top)
    squash = rng.uniform(0.85, 1.15)
    angle = np.deg2rad(rotation)
    linear = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array(
        [[scale * squash, -slant * scale], [0.0, scale]])
    corners = np.array([[left, top], [right, top], [left, bottom], [right, bottom]], np.float64)
    moved = corners @ linear.T
    low = moved.min(axis=0)
    size = np.ceil(moved.max(axis=0) - low).astype(int) + 2
    matrix = np.hstack([linear, (1 - low)[:, None]])
    warped = cv2.warpAffine(ink, matrix, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR)
    if thickness > 0:
        warped = cv2.dilate(warped, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thickness,) * 2))
    elif thickness < 0:
        thinner = cv2.erode(warped, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-thickness,) * 2))
        if thinner.max() >= 0.6 and (thinner > 0.3).sum() >= 0.4 * (warped > 0.3).sum():
            warped = thinner  # a thin pen, unless thinning would wipe strokes out
    return warped


def gap_shares(count: int, recipe: LineRecipe, rng) -> np.ndarray:
    """The gaps between `count` digits, as shares of the digit height."""
    if rng.random() < recipe.touching_share:
        return rng.uniform(recipe.min_gap, 0.05, max(0, count - 1))
    return rng.uniform(recipe.min_gap, recipe.max_gap, max(0, count - 1))


def compose_line(images28: np.ndarray, recipe: LineRecipe, rng) -> np.ndarray:
    """Ink coverage (float, WORK_HEIGHT-scale) of the digits written left to right with margins."""
    slant = rng.uniform(-0.3, 1.0) * recipe.max_slant  # one hand: mostly forward, a little back
    pen = recipe.pen_share > 0 and rng.random() < recipe.pen_share  # one pen for the whole line
    pen_width = rng.uniform(recipe.min_pen_width, recipe.max_pen_width) if pen else 0.0
    pieces = []
    for image in images28:
        image = handwrite(image, recipe, rng)
        height = WORK_HEIGHT * rng.uniform(recipe.min_scale, 1.0)
        thickness = int(rng.choice([-5, -3, -3, 0, 0, 0, 3, 3, 5]))
        piece = digit_strokes(image, height, slant + rng.normal(0, 0.08),
                              rng.normal(0, recipe.max_rotation_degrees / 2), 0 if pen else thickness, rng)
        pieces.append(pen_redraw(piece, max(1.0, pen_width * height)) if pen else piece)
    gaps = np.round(gap_shares(len(pieces), recipe, rng) * WORK_HEIGHT).astype(int)
    margin = WORK_HEIGHT // 2
    width = sum(piece.shape[1] for piece in pieces) + int(gaps.sum()) + 2 * margin
    tallest = max(piece.shape[0] for piece in pieces)
    canvas = np.zeros((tallest + 2 * margin + WORK_HEIGHT // 4, max(width, 2 * margin + 1)), np.float32)
    x, baseline = margin, margin + tallest
    for index, piece in enumerate(pieces):
        jitter = int(round(rng.normal(0, recipe.baseline_jitter) * WORK_HEIGHT))
        bottom = int(np.clip(baseline + jitter, piece.shape[0], canvas.shape[0]))
        x = max(0, min(x, canvas.shape[1] - piece.shape[1]))
        region = canvas[bottom - piece.shape[0]:bottom, x:x + piece.shape[1]]
        np.maximum(region, piece[:region.shape[0], :region.shape[1]], out=region)
        x += piece.shape[1] + (int(gaps[index]) if index < len(gaps) else 0)
    return np.clip(canvas, 0.0, 1.0)


def add_specks(coverage: np.ndarray, rng) -> None:
    """Dots of dust or a pen's tap within the line's band (the line finder keeps those)."""
    rows = np.flatnonzero(coverage.max(axis=1) > 0.3)
    if rows.size == 0:
        rows = np.arange(coverage.shape[0])
    for _ in range(int(rng.integers(1, 4))):
        centre = (int(rng.integers(0, coverage.shape[1])), int(rng.integers(rows[0], rows[-1] + 1)))
        cv2.circle(coverage, centre, int(rng.integers(1, 3)), float(rng.uniform(0.5, 1.0)), -1)


def photograph(coverage: np.ndarray, recipe: LineRecipe, rng) -> np.ndarray:
    """A gray uint8 photo of the ink: paper, light, blur, size, noise, JPEG, sometimes inverted."""
    if rng.random() < recipe.speck_share:
        add_specks(coverage, rng)
    paper = rng.uniform(0.55, 1.0)
    ink = rng.uniform(0.0, paper - 0.25)
    gray = paper - (paper - ink) * coverage
    rows, columns = np.mgrid[0:gray.shape[0], 0:gray.shape[1]].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * columns + np.sin(angle) * rows
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    gray = gray * (1.0 - rng.uniform(0.0, 0.35) * ramp)
    if rng.random() < recipe.inverted_share:
        gray = 1.0 - gray
    blur = rng.uniform(0.0, recipe.max_blur)
    if blur > 0.3:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    height = np.exp(rng.uniform(np.log(recipe.min_height_pixels), np.log(recipe.max_height_pixels)))
    factor = height / WORK_HEIGHT
    size = (max(8, round(gray.shape[1] * factor)), max(8, round(gray.shape[0] * factor)))
    gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    gray = gray + rng.normal(0.0, rng.uniform(0.0, recipe.max_noise), gray.shape).astype(np.float32)
    photo = np.rint(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8)
    if rng.random() < recipe.jpeg_share:
        _, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        photo = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return photo


def photo_line(photo: np.ndarray) -> LineInput:
    """The reader input of a photo holding one line, through the frames' ink map and mask."""
    ink = ink_map(photo.astype(np.float32) / 255.0)
    mask = frame_mask(ink)
    if mask is None:
        raise EmptyImageError("the photo holds no ink")
    return line_input(ink, mask)


def make_lines(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
               recipe: LineRecipe | None = None) -> tuple[list[np.ndarray], list[str]]:
    """`count` reader inputs (uint8 32xW) and their texts, from these digits, deterministic in seed."""
    recipe = recipe or LineRecipe()
    rng = np.random.default_rng(seed)
    inputs, texts = [], []
    while len(inputs) < count:
        length = int(rng.integers(recipe.min_digits, recipe.max_digits + 1))
        chosen = rng.integers(0, len(images), length)
        try:
            line = photo_line(photograph(compose_line(images[chosen], recipe, rng), recipe, rng))
        except (EmptyImageError, ValueError):
            continue  # too faint after the photo's noise: not a readable line, draw another
        inputs.append(np.rint(line.image[:, :line.ink_width] * 255).astype(np.uint8))
        texts.append("".join(str(int(label)) for label in labels[chosen]))
    return inputs, texts
