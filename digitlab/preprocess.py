"""The one preprocessing path: decode uploads, bring any digit image to MNIST form, find digits.

`to_mnist` does what MNIST did to NIST digits (crop to the ink, fit the long side to 20 px, paste
into 28x28 with the centre of mass at the centre) after making the ink bright on black whatever
the polarity, alpha channel, noise or lighting. `find_digits` reads camera frames and photos.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np


class EmptyImageError(ValueError):
    """Raised when an image holds no digit: blank, uniform, too faint or only specks."""


class InvalidImageError(ValueError):
    """Raised when bytes or an array cannot be read as an image."""


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_FRAME_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise InvalidImageError("corrupt PNG: the IHDR header is missing")
    return struct.unpack(">II", data[16:24])


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's first start-of-frame segment."""
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            raise InvalidImageError("corrupt JPEG: expected a segment marker")
        marker = data[index + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:
            index += 1 if marker == 0xFF else 2
            continue
        if marker in JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[index + 5:index + 9])
            return width, height
        if marker == 0xDA:
            break
        index += 2 + struct.unpack(">H", data[index + 2:index + 4])[0]
    raise InvalidImageError("corrupt JPEG: no frame header with the image size")


def bmp_size(data: bytes) -> tuple[int, int]:
    """Width and height from a BMP's DIB header."""
    if len(data) < 26:
        raise InvalidImageError("corrupt BMP: the header is truncated")
    if struct.unpack("<I", data[14:18])[0] == 12:
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def webp_size(data: bytes) -> tuple[int, int]:
    """Width and height from a WebP's VP8, VP8L or VP8X chunk."""
    chunk, body = data[12:16], data[20:30]
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(body) >= 10:
        return int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1
    raise InvalidImageError("corrupt WebP: no VP8, VP8L or VP8X header")


def header_size(data: bytes) -> tuple[str, int, int]:
    """Return (format, width, height) read from the header, before any decoding."""
    if data.startswith(PNG_SIGNATURE):
        return ("PNG", *png_size(data))
    if data.startswith(b"\xff\xd8\xff"):
        return ("JPEG", *jpeg_size(data))
    if data.startswith(b"BM"):
        return ("BMP", *bmp_size(data))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("WebP", *webp_size(data))
    raise InvalidImageError("not an image: expected PNG, JPEG, BMP or WebP bytes")


def decode_image(data: bytes, max_pixels: int = 40_000_000) -> np.ndarray:
    """Decode PNG/JPEG/BMP/WebP bytes to uint8 gray, BGR or BGRA, checking the size first."""
    if not data:
        raise InvalidImageError("empty upload: no image bytes were received")
    data = bytes(data)
    name, width, height = header_size(data)
    if width == 0 or height == 0:
        raise InvalidImageError(f"{name} header says {width}x{height}: an image needs pixels")
    if width * height > max_pixels:
        raise InvalidImageError(f"{name} is {width}x{height} = {width * height:,} pixels, over the "
                                f"limit of {max_pixels:,}: send a smaller image")
    # JPEG: honour the EXIF orientation of phone photos (IMREAD_UNCHANGED ignores it).
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if name == "JPEG" else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        raise InvalidImageError(f"could not decode the {name} data: truncated or corrupt file?")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise InvalidImageError(f"decoded {name} has more than {max_pixels:,} pixels")
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=1.0 / 257.0)
    elif image.dtype != np.uint8:
        image = cv2.convertScaleAbs(np.clip(image, 0.0, 1.0), alpha=255.0)
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


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
    """The 256-bin histogram of a uint8 image."""
    return cv2.calcHist([image8], [0], mask, [256], [0, 256]).ravel()


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
BACKGROUND_KERNEL_FRACTION = 0.35
FRAME_KERNEL_FRACTION = 0.15


def middle(values: np.ndarray) -> float:
    """The (upper) median, faster than np.median on small arrays."""
    flat = values.ravel()
    return float(np.partition(flat, flat.size // 2)[flat.size // 2])


def estimate_background(bright: np.ndarray, whole_frame: bool = False) -> np.ndarray:
    """Background of an ink-bright image: a morphological opening wider than any stroke."""
    height, width = bright.shape
    factor = min(1.0, BACKGROUND_WORK_SIDE / max(height, width))
    small = cv2.resize(bright, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
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
    opened = cv2.blur(cv2.morphologyEx(small - plane, cv2.MORPH_OPEN, element), (3, 3)) + plane
    return cv2.resize(opened, (width, height), interpolation=cv2.INTER_LINEAR)


def ink_map(gray: np.ndarray, whole_frame: bool = False) -> np.ndarray:
    """Ink strength in [0, 1] on a 0 background, for either polarity and uneven lighting."""
    ring = max(1, min(gray.shape) // 50)
    sides = [gray[:ring], gray[-ring:], gray[:, :ring], gray[:, -ring:]]
    level = middle(gray if whole_frame else np.concatenate([side.ravel() for side in sides]))
    low, high = extreme_levels(histogram(to_uint8(gray)), max(2, int(EXTREME_FRACTION * gray.size)))
    dark_ink = level - low > high - level
    bright = 1.0 - gray if dark_ink else gray
    side_levels = [middle(side) for side in sides]
    if whole_frame or max(side_levels) - min(side_levels) > UNEVEN_LIGHTING:
        background = estimate_background(bright, whole_frame)
    else:
        background = np.float32(1.0 - level if dark_ink else level)
    # Divide by the paper's brightness: shading scales ink and paper alike.
    return np.clip((bright - background) / np.maximum(1.0 - background, 0.05), 0.0, 1.0)


MIN_CONTRAST = 0.12
MIN_THRESHOLD = 0.1
MIN_DIGIT_PIXELS = 3
MIN_DIGIT_FRACTION = 0.1  # the digit's long side, as a share of the image's long side
LARGE_PART = 0.25
SMALL_PART = 0.02
NEAR_FRACTION = 0.25
MIN_DENSITY = 0.02  # ink share of a digit's box; scattered specks and paper outlines have less
STROKE_QUANTILE = 0.9


def digit_components(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels of the components that form the digit: the largest, big ones and near pieces."""
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.size == 0:
        raise EmptyImageError("no ink found: draw a digit")
    main = int(np.argmax(areas))
    x, y, width, height = stats[1 + main, :4]
    if max(width, height) < max(MIN_DIGIT_PIXELS, MIN_DIGIT_FRACTION * max(shape)):
        raise EmptyImageError("only specks or dots found: draw a digit")
    margin = NEAR_FRACTION * max(width, height)
    left, top = stats[1:, 0], stats[1:, 1]
    right, bottom = left + stats[1:, 2], top + stats[1:, 3]
    near = ((right >= x - margin) & (left <= x + width + margin)
            & (bottom >= y - margin) & (top <= y + height + margin))
    kept = (areas >= LARGE_PART * areas[main]) | (near & (areas >= SMALL_PART * areas[main]))
    box_width = (right[kept].max() - left[kept].min())
    box_height = (bottom[kept].max() - top[kept].min())
    if areas[kept].sum() < MIN_DENSITY * box_width * box_height:
        raise EmptyImageError("only scattered specks found: draw a digit")
    return np.flatnonzero(kept) + 1


BOX_SIDE = 20
MNIST_SIDE = 28
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates


def centre_digit(soft: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit the long side to 20 px, paste centre of mass at (14, 14)."""
    x, y, width, height = cv2.boundingRect((soft > 0).astype(np.uint8))
    crop = soft[y:y + height, x:x + width]
    scale = BOX_SIDE / max(width, height)
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    # numpy, not cv2.moments: cv2 reads an (N, 2) array (a thin "1") as a list of points
    mass = float(crop.sum())
    if mass <= 0:
        raise EmptyImageError("no ink left after cleaning: draw a digit")
    centre_x = float(crop.sum(axis=0) @ np.arange(crop.shape[1])) / mass
    centre_y = float(crop.sum(axis=1) @ np.arange(crop.shape[0])) / mass
    # Integer shift like MNIST: no resampling blur, centre of mass within half a pixel.
    left = int(np.floor(CENTRE - centre_x + 0.5))
    top = int(np.floor(CENTRE - centre_y + 0.5))
    output = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    rows, columns = crop.shape
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(MNIST_SIDE, top + rows), min(MNIST_SIDE, left + columns)
    output[y0:y1, x0:x1] = crop[y0 - top:y1 - top, x0 - left:x1 - left]
    return np.clip(output, 0.0, 1.0, out=output)  # resampling can overshoot 1 by a rounding error


def noise_level(ink8: np.ndarray) -> float:
    """Robust standard deviation (0..1) of pixel noise: the median gap to a 3x3 median."""
    residual = cv2.absdiff(ink8, cv2.medianBlur(ink8, 3))
    return 1.4826 * quantile_level(histogram(residual), 0.5)


NOISY = 0.02
NOISE_MARGIN = 5.0  # ink must stand this many noise deviations above the background


def mnist_from_ink(ink: np.ndarray) -> np.ndarray:
    """Threshold, drop specks, keep anti-aliased grey levels, then centre like MNIST."""
    ink8 = to_uint8(ink)
    counts = histogram(ink8)
    noise = noise_level(ink8)
    if noise > NOISY:  # average the grain away; strokes are wider than it
        ink = cv2.GaussianBlur(ink, (0, 0), 1.0)
        ink8 = to_uint8(ink)
        counts = histogram(ink8)
        noise = noise_level(ink8)
    _, peak = extreme_levels(counts, max(2, int(EXTREME_FRACTION * ink.size)))
    if peak < MIN_CONTRAST:
        raise EmptyImageError("the image is blank or too faint: draw a digit")
    otsu, _ = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    noise_floor = quantile_level(counts, 0.5) + NOISE_MARGIN * noise
    threshold = max(otsu, 255 * MIN_THRESHOLD, 0.3 * 255 * peak, 255 * noise_floor)
    mask = (ink8 > threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    kept = digit_components(stats, ink.shape)
    lookup = np.zeros(count, np.uint8)
    lookup[kept] = 255
    digit_mask = lookup[labels]
    _, _, width, height = cv2.boundingRect(digit_mask)
    radius = max(2, round(max(width, height) / 40))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    support = cv2.dilate(digit_mask, disc)
    mean, deviation = cv2.meanStdDev(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]]))
    floor = min(float(mean[0, 0] + 3 * deviation[0, 0]), 0.5 * threshold / 255)
    stroke = max(quantile_level(histogram(ink8, digit_mask), STROKE_QUANTILE), floor + 0.05)
    soft = np.clip((ink - floor) * np.float32(1.0 / (stroke - floor)), 0.0, 1.0)
    soft[support == 0] = 0.0
    return centre_digit(soft)


WORK_SIDE = 128  # larger images are shrunk first: the digit ends up 20 px tall anyway


def to_mnist(image) -> np.ndarray:
    """Any digit image (gray/BGR/BGRA, uint8/uint16/float, any size) to (28, 28) float32 MNIST."""
    gray = as_gray(image)
    if max(gray.shape) > WORK_SIDE:
        factor = 1.0 / np.ceil(max(gray.shape) / WORK_SIDE)  # whole factors take a fast path
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return mnist_from_ink(ink_map(gray))


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
DIGIT_ASPECT = 0.75
VALLEY_SHARE = 0.5
FORCED_SPLIT = 1.6
CUT_RANGE = 0.35  # cuts are searched this share of a digit's width either side of even spacing
CUT_PULL = 0.5
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
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink8 > 255 * floor).astype(np.uint8))
    inside = ~touching_edge(stats, ink.shape) & (stats[:, cv2.CC_STAT_AREA] >= 4)
    inside[0] = False
    if not inside.any():
        return None
    candidates = inside[labels].astype(np.uint8)
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


def split_columns(mask: np.ndarray, split_aspect: float) -> list[tuple[int, int]]:
    """Column ranges of the digits in a box: cuts at projection minima when it is too wide."""
    height, width = mask.shape
    if width <= split_aspect * height:
        return [(0, width)]
    count = max(2, round(width / (DIGIT_ASPECT * height)))
    profile = np.convolve(mask.sum(axis=0, dtype=np.float64), np.ones(3) / 3, mode="same")
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
                split_aspect: float = 1.3) -> list[DigitBox]:
    """Digits in a camera frame or photo, in reading order, each with its box and MNIST image."""
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
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    edge = touching_edge(stats, mask.shape)
    parts = []
    for label in np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:MAX_PARTS] + 1:
        x, y, width, height, area = (int(value) for value in stats[label])
        if not edge[label] and area >= max(4, (0.15 * min_height) ** 2):
            parts.append([x, y, x + width, y + height, [label]])
    found = []
    for x0, y0, x1, y1, members in merge_parts(parts):
        height = y1 - y0
        if not min_height <= height <= max_height_fraction * frame_height:
            continue
        member = np.isin(labels[y0:y1, x0:x1], members).astype(np.uint8)
        if member.mean() < MIN_DENSITY:
            continue
        for start, stop in split_columns(member, split_aspect):
            part = np.zeros_like(member)
            part[:, start:stop] = member[:, start:stop]
            x, y, width, height = cv2.boundingRect(part)
            if height >= 0.5 * min_height:  # cut columns, or None where the group ends
                cuts = (x0 + start if start > 0 else None, x0 + stop if stop < x1 - x0 else None)
                found.append((x0 + x, y0 + y, width, height, members, cuts))
    digits = []
    for x, y, width, height, members, cuts in reading_order(found):
        try:
            image = digit_image(ink, labels, members, (x, y, width, height), cuts)
        except EmptyImageError:
            continue
        box = [round(value / factor) for value in (x, y, width, height)]
        digits.append(DigitBox(*box, image=image))
    return digits


def digit_image(ink, labels, members, box, cuts) -> np.ndarray:
    """to_mnist of one digit's own ink (its components, between its cut columns) on black."""
    x, y, width, height = box
    pad = max(2, height // 5)
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(ink.shape[0], y + height + pad), min(ink.shape[1], x + width + pad)
    member = np.isin(labels[top:bottom, left:right], members).astype(np.uint8)
    radius = max(1, height // 25)
    member = cv2.dilate(member, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    if cuts[0] is not None:
        member[:, :max(0, cuts[0] - left)] = 0
    if cuts[1] is not None:
        member[:, max(0, cuts[1] - left):] = 0
    crop = np.where(member > 0, ink[top:bottom, left:right], np.float32(0.0))
    return to_mnist(cv2.copyMakeBorder(crop, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0.0))
