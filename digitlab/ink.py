"""Ink primitives shared by the image paths: gray levels, ink maps, noise, histograms and components."""

from __future__ import annotations

import cv2
import numpy as np

from digitlab.imagefile import InvalidImageError, shrink
from digitlab.polarity import ink_is_dark


class EmptyImageError(ValueError):
    """Raised when an image holds no digit: blank, uniform, too faint or only specks."""


MIN_CONTRAST = 0.12  # ink fainter than this (0..1 above the background) is no ink
MIN_THRESHOLD = 0.1
NOISE_MARGIN = 5.0  # ink must stand this many noise deviations above the background


def unit_float(array: np.ndarray) -> np.ndarray:
    """Scale uint8, uint16, bool, int or float pixels to float32 in [0, 1]."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1 / 255)
    if array.dtype == np.uint16:
        return array.astype(np.float32) * np.float32(1 / 65535)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InvalidImageError(f"pixels of dtype {array.dtype} are not an image")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise InvalidImageError("the image contains NaN or infinite values")
    top = float(array.max())
    if top > 1.001:  # floats above 1 (beyond rounding) and wide integers are 0..255 (or 0..max)
        array = array * np.float32(1.0 / (255.0 if top <= 255.0 else top))
    return np.clip(array, 0.0, 1.0)


def as_gray(image) -> np.ndarray:
    """Return float32 HxW in [0, 1] from gray, BGR or BGRA (composited by alpha) input."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImageError(f"expected gray HxW, BGR HxWx3 or BGRA HxWx4, got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"the image has no pixels (shape {array.shape})")
    if array.ndim == 2:
        return unit_float(array)
    if array.dtype not in (np.uint8, np.uint16):  # floats share one scale across channels
        array = unit_float(array)
    # Colour to gray in the native dtype (cheaper), then each plane to [0, 1].
    gray = unit_float(cv2.cvtColor(np.ascontiguousarray(array[:, :, :3]), cv2.COLOR_BGR2GRAY))
    alpha = unit_float(array[:, :, 3]) if array.shape[2] == 4 else None
    if alpha is None or alpha.min() >= 0.99:
        return gray
    opaque = (alpha > 0.5).astype(np.uint8)
    if not opaque.any():
        raise EmptyImageError("the image is fully transparent: draw a digit first")
    # Put the canvas on the backdrop that contrasts with its opaque (drawn) pixels.
    backdrop = 1.0 if cv2.mean(gray, mask=opaque)[0] < 0.5 else 0.0
    return gray * alpha + np.float32(backdrop) * (1.0 - alpha)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 0..255 (rounded, saturated)."""
    return cv2.convertScaleAbs(image, alpha=255.0)


def histogram(image8: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The 256-bin histogram of a uint8 image (of its pixels where the uint8 mask is not 0)."""
    if mask is None:
        return cv2.calcHist([image8], [0], None, [256], [0, 256]).ravel()
    return np.bincount(image8[mask > 0], minlength=256)  # calcHist's mask is about 4x slower


def quantile_level(counts: np.ndarray, fraction: float) -> float:
    """The level (0..1) below which `fraction` of the histogram's pixels lie."""
    cumulative = np.cumsum(counts)
    return float(np.searchsorted(cumulative, fraction * cumulative[-1])) / 255.0


def extreme_levels(counts: np.ndarray, count: int) -> tuple[float, float]:
    """The darkest and brightest levels (0..1) reached by at least `count` pixels."""
    cumulative = np.cumsum(counts)
    low = np.searchsorted(cumulative, count)
    high = np.searchsorted(cumulative, cumulative[-1] - count, side="right")
    return float(low) / 255.0, float(min(high, 255)) / 255.0


EXTREME_FRACTION = 0.0005  # the brightest 0.05 % of pixels may be hot pixels or salt noise
UNEVEN_LIGHTING = 0.06  # border sides whose medians differ more than this need a background model
BACKGROUND_WORK_SIDE = 96
FRAME_WORK_SIDE = 240
BACKGROUND_KERNEL_FRACTION = 0.35
FRAME_KERNEL_FRACTION = 0.15


def middle(values: np.ndarray) -> float:
    """The (upper) median, faster than np.median on small arrays."""
    flat = values.ravel()
    return float(np.partition(flat, flat.size // 2)[flat.size // 2])


def estimate_background(bright: np.ndarray, whole_frame: bool = False) -> np.ndarray:
    """Background of an ink-bright image: a morphological opening wider than any stroke."""
    height, width = bright.shape
    # A frame's background is finer (half its size, up to FRAME_WORK_SIDE), so it steps where a
    # sheet meets its desk; a small frame (one line, cropped tight) keeps the digit crops' size.
    side = min(FRAME_WORK_SIDE, max(BACKGROUND_WORK_SIDE, max(height, width) // 2)) if whole_frame \
        else BACKGROUND_WORK_SIDE
    factor = min(1.0, side / max(height, width))
    small = shrink(bright, factor)
    # A digit crop may be all stroke; in a frame a digit is a small part and shadows are local.
    span = FRAME_KERNEL_FRACTION * min(small.shape) if whole_frame else (
        BACKGROUND_KERNEL_FRACTION * max(small.shape))
    kernel = 2 * int(span / 2) + 1
    # A plane through the four sides' medians takes out a lighting ramp, which an opening
    # alone flattens near the image's edges; the opening then follows shadows.
    rows, columns = small.shape
    top, bottom, left, right = (middle(side) for side in (small[:2], small[-2:], small[:, :2], small[:, -2:]))
    plane = ((top + bottom + left + right) / 4
             + np.linspace(-0.5, 0.5, columns, dtype=np.float32)[None, :] * (right - left)
             + np.linspace(-0.5, 0.5, rows, dtype=np.float32)[:, None] * (bottom - top))
    element = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel))
    flat = small - plane
    if whole_frame:  # at the finer size, noise first: an opening's minimum would follow it down
        opened = cv2.morphologyEx(cv2.blur(flat, (3, 3)), cv2.MORPH_OPEN, element)
    else:
        opened = cv2.blur(cv2.morphologyEx(flat, cv2.MORPH_OPEN, element), (3, 3))
    opened += plane
    return cv2.resize(opened, (width, height), interpolation=cv2.INTER_LINEAR)


def ink_map(gray: np.ndarray, whole_frame: bool = False) -> np.ndarray:
    """Ink strength in [0, 1] on a 0 background, for either polarity and uneven lighting."""
    return ink_with_background(gray, whole_frame)[0]


def ink_with_background(gray: np.ndarray, whole_frame: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`ink_map` and the background it took away (ink-bright levels: 0 is white paper for dark ink)."""
    ring = max(1, min(gray.shape) // 50)
    sides = [gray[:ring], gray[-ring:], gray[:, :ring], gray[:, -ring:]]
    counts = histogram(to_uint8(gray))
    low, high = extreme_levels(counts, max(2, int(EXTREME_FRACTION * gray.size)))
    # A frame's level only picks the polarity: the histogram's median is exact enough.
    level = quantile_level(counts, 0.5) if whole_frame else middle(
        np.concatenate([side.ravel() for side in sides]))
    dark_ink = level - low > high - level
    if whole_frame:  # a white sheet on a dark desk: the desk is the median, the strokes are thin
        dark_ink = ink_is_dark(gray, by_levels=dark_ink)
    bright = 1.0 - gray if dark_ink else gray
    side_levels = [middle(side) for side in sides]
    if whole_frame or max(side_levels) - min(side_levels) > UNEVEN_LIGHTING:
        background = estimate_background(bright, whole_frame)
        paper = np.maximum(1.0 - background, np.float32(0.05))
    else:
        background = np.float32(1.0 - level if dark_ink else level)
        paper = max(1.0 - background, np.float32(0.05))
    # Divide by the paper's brightness: shading scales ink and paper alike (in place: frames are big).
    ink = np.subtract(bright, background, dtype=np.float32)
    np.divide(ink, paper, out=ink)
    return np.clip(ink, 0.0, 1.0, out=ink), np.broadcast_to(np.float32(background), gray.shape)


def noise_level(ink8: np.ndarray) -> float:
    """Robust standard deviation (0..1) of pixel noise: the median gap to a 3x3 median."""
    # On float32 the 3x3 median is exact for these whole levels and stays fast on the narrow
    # images where cv2's uint8 one falls back to a path ten times slower (under 80 columns).
    plane = ink8.astype(np.float32)
    residual = cv2.absdiff(plane, cv2.medianBlur(plane, 3)).astype(np.uint8)
    if 2 * cv2.countNonZero(residual) <= residual.size:  # most gaps are 0, and so is the median
        return 0.0
    return 1.4826 * quantile_level(histogram(residual), 0.5)


def label_components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components (count, labels, stats); 16-bit labels where they fit (2.5x faster)."""
    most = ((mask.shape[0] + 1) // 2) * ((mask.shape[1] + 1) // 2)  # 8-connected: one per 2x2
    kind = cv2.CV_16U if most < 65535 else cv2.CV_32S
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=kind)
    return count, labels, stats


def select_labels(labels: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """uint8 mask of the pixels whose label is chosen (chosen: a uint8 value per label)."""
    if chosen.size <= 256:  # a table look-up in cv2 beats numpy's fancy indexing
        table = np.zeros(256, np.uint8)
        table[:chosen.size] = chosen
        return cv2.LUT(labels.astype(np.uint8), table)
    return np.take(chosen, labels)


def member_mask(labels: np.ndarray, members) -> np.ndarray:
    """uint8 mask (0 or 1) of the pixels whose label is one of members."""
    if len(members) > 4:
        return np.isin(labels, members).view(np.uint8)
    mask = labels == members[0]
    for label in members[1:]:
        mask |= labels == label
    return mask.view(np.uint8)
