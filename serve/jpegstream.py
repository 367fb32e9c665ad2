"""Split the reference camera's raw stream of back-to-back JPEGs by walking the JPEG markers."""

from __future__ import annotations

JPEG_START = b"\xff\xd8"


def jpeg_end(data: bytes | bytearray, start: int) -> int | None:
    """The end of the JPEG starting at data[start] (its SOI), None if incomplete; ValueError if bad."""
    position, size = start + 2, len(data)
    while True:
        if position + 1 >= size:
            return None
        if data[position] != 0xFF:
            raise ValueError(f"expected a JPEG marker at byte {position - start}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker == 0xD9:  # EOI
            return position + 2
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            position += 2
        else:
            if position + 3 >= size:
                return None
            length = (data[position + 2] << 8) | data[position + 3]
            if length < 2:
                raise ValueError(f"JPEG segment length {length} is too small")
            position += 2 + length
            if marker == 0xDA:  # start of scan: skip the entropy-coded data up to the next marker
                position = next_marker(data, position)
                if position is None:
                    return None


def next_marker(data: bytes | bytearray, position: int) -> int | None:
    """Index of the next real marker in entropy-coded data (skips FF00 and RSTn), None if not yet."""
    size = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= size:
            return None
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


def split_jpeg_stream(buffer: bytes | bytearray) -> tuple[list[bytes], int]:
    """Complete JPEGs at the front of a raw stream and how many bytes they (and junk) used."""
    images, consumed = [], 0
    while True:
        start = buffer.find(JPEG_START, consumed)
        if start < 0:  # keep a trailing FF: it may be the first half of the next SOI
            keep = 1 if buffer[-1:] == b"\xff" else 0
            return images, max(consumed, len(buffer) - keep)
        try:
            end = jpeg_end(buffer, start)
        except ValueError:  # not a JPEG after all: resynchronise after this SOI
            consumed = start + 2
            continue
        if end is None:
            return images, start
        images.append(bytes(buffer[start:end]))
        consumed = end
