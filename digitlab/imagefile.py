"""Read uploaded image bytes safely: sizes from the header first, then a bounded decode."""

from __future__ import annotations

import struct

import cv2
import numpy as np


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
    return jpeg_frame(data)[:2]


def jpeg_frame(data: bytes) -> tuple[int, int, int]:
    """Width, height and number of colour components from a JPEG's start-of-frame segment."""
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
            return width, height, data[index + 9]
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


PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # by IHDR colour type (a palette decodes to BGR)


def decoded_bytes(data: bytes, name: str, width: int, height: int) -> int:
    """How many bytes the decoded image takes (what decoding costs), from the header alone."""
    channels, sample_bytes = 4, 1  # BMP and WebP: at most BGRA, 8 bits
    if name == "PNG" and len(data) >= 26:
        channels, sample_bytes = PNG_CHANNELS.get(data[25], 4), 2 if data[24] == 16 else 1
    elif name == "JPEG":
        channels = jpeg_frame(data)[2]
    return width * height * channels * sample_bytes


def decode_image(data: bytes, max_pixels: int = 40_000_000,
                 max_decoded_bytes: int | None = None) -> np.ndarray:
    """Decode PNG/JPEG/BMP/WebP bytes to uint8 gray, BGR or BGRA, checking the size first.

    Both limits are checked on the header, before any pixel is decoded: max_pixels on
    width x height, max_decoded_bytes on width x height x channels x bytes per sample (a small
    16-bit RGBA PNG of many megapixels costs seconds to decode).
    """
    if not data:
        raise InvalidImageError("empty upload: no image bytes were received")
    data = bytes(data)
    name, width, height = header_size(data)
    if width == 0 or height == 0:
        raise InvalidImageError(f"{name} header says {width}x{height}: an image needs pixels")
    if width * height > max_pixels:
        raise InvalidImageError(f"{name} is {width}x{height} = {width * height:,} pixels, over the "
                                f"limit of {max_pixels:,}: send a smaller image")
    if max_decoded_bytes is not None:
        cost = decoded_bytes(data, name, width, height)
        if cost > max_decoded_bytes:
            raise InvalidImageError(
                f"{name} is {width}x{height} and would decode to {cost / 2**20:,.0f} MiB, over "
                f"the limit of {max_decoded_bytes / 2**20:,.0f} MiB: send a smaller image"
                + ("" if cost <= width * height * 4 else " or an 8-bit one"))
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


def shrink(image: np.ndarray, factor: float, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    """The image scaled by factor (<= 1) as cv2.resize scales it, but never to a side of 0 px:
    a 1 x 3000 strip shrunk to 480 px wide stays 1 px high instead of failing."""
    height, width = image.shape[:2]
    if min(height, width) * factor > 0.5:  # cv2 rounds each side: both stay at least 1 px
        return cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=interpolation)
