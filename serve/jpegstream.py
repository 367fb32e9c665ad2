"""Split the reference camera's raw stream of back-to-back JPEGs by walking the JPEG markers.

The splitter keeps its place between reads, so each byte is looked at about once however
the stream is chopped up, and the entropy-coded data of a scan is skipped with one regular
expression search (in C) rather than byte by byte: a hostile stream of `FF 00` pairs costs
no more than any other bytes.
"""

from __future__ import annotations

import re
import time

JPEG_START = b"\xff\xd8"
# A real marker inside entropy-coded data: FF, then anything but a stuffed 00, RSTn or fill FF.
SCAN_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


class JpegStreamSplitter:
    """Feed it bytes as they arrive; it returns each JPEG once its last byte is in."""

    def __init__(self):
        self.buffer = bytearray()
        self.position = 0  # where parsing goes on, in the current image
        self.in_image = False  # an SOI was found at buffer[0]
        self.in_scan = False  # inside entropy-coded data: look for the next real marker
        self.image_started: float | None = None  # time.monotonic() of the current SOI

    @property
    def pending_bytes(self) -> int:
        """Bytes held for the image that is still arriving."""
        return len(self.buffer) if self.in_image else 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the JPEGs they completed (junk between images is dropped)."""
        self.buffer += data
        images = []
        while True:
            if not self.in_image and not self.find_start():
                return images
            end = self.walk()
            if end is None:
                return images
            if end > 0:
                images.append(bytes(self.buffer[:end]))
                del self.buffer[:end]
            else:  # not a JPEG after all: look for the next SOI after this one
                del self.buffer[:2]
            self.in_image = False

    def find_start(self) -> bool:
        """Drop bytes up to the next SOI; False (keeping a trailing FF) when there is none."""
        start = self.buffer.find(JPEG_START)
        if start < 0:
            del self.buffer[:len(self.buffer) - (1 if self.buffer[-1:] == b"\xff" else 0)]
            return False
        del self.buffer[:start]
        self.in_image, self.in_scan, self.position = True, False, 2
        self.image_started = time.monotonic()
        return True

    def walk(self) -> int | None:
        """Go on through the current image: its end, None when more bytes are needed, 0 if bad."""
        data, size = self.buffer, len(self.buffer)
        while True:
            if self.in_scan:
                found = SCAN_MARKER.search(data, self.position)
                if found is None:  # keep the last byte: it may be the FF of the next marker
                    self.position = max(self.position, size - 1)
                    return None
                self.position, self.in_scan = found.start(), False
            position = self.position
            if position + 1 >= size:
                return None
            if data[position] != 0xFF:
                return 0
            marker = data[position + 1]
            if marker == 0xFF:  # fill byte before a marker
                self.position += 1
            elif marker == 0xD9:  # EOI
                return position + 2
            elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
                self.position += 2
            else:
                if position + 3 >= size:
                    return None
                length = (data[position + 2] << 8) | data[position + 3]
                if length < 2:
                    return 0
                self.position += 2 + length
                self.in_scan = marker == 0xDA  # start of scan: entropy-coded data follows
