"""What a stored sample is: the Sample record, its checks, its PNG encoding and its split."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from dataclasses import dataclass, field, fields

import numpy as np

from digitlab.imagefile import PNG_SIGNATURE

SOURCES = ("canvas", "correction", "upload", "camera")
SPLITS = ("train", "holdout")
HOLDOUT_PERCENT = 10
ALL_SETS = "*"
MAX_SET_NAME_LENGTH = 100


class StoreError(ValueError):
    """Base class for sample store errors (bad input, unknown sample, unknown schema)."""


class SampleNotFoundError(StoreError):
    """Raised when no sample has the given id."""


class StoreVersionError(StoreError):
    """Raised when the database has a schema version newer than this code knows."""


@dataclass
class Sample:
    """One stored sample; ``duplicate`` is True when add() found it already stored.

    label is None while the sample waits for review (or for good, when ``not_digit``)."""

    id: int
    image: np.ndarray = field(repr=False)  # uint8 (28, 28)
    label: int | None
    source: str
    split: str
    content_hash: str
    created: str
    set_name: str | None = None
    predicted: int | None = None
    confidence: float | None = None
    model_version: str | None = None
    original_png: bytes | None = field(default=None, repr=False)
    updated: str | None = None
    not_digit: bool = False
    camera: str | None = None  # the camera a crop came from, and its frame's sequence number
    frame_id: int | None = None
    duplicate: bool = False

    def to_dict(self) -> dict:
        """JSON-friendly fields (no image data)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("image", "original_png")}


@dataclass
class ImportReport:
    """What import_pngs did: samples added, duplicates already stored, files skipped and why."""

    added: int = 0
    duplicates: int = 0
    skipped: int = 0
    skipped_files: list[str] = field(default_factory=list)


def to_uint8_image(image) -> np.ndarray:
    """Check a 28x28 image (uint8 0-255 or float 0-1, or 28x28x1) and return it as uint8."""
    array = np.asarray(image)
    array = array[..., 0] if array.shape == (28, 28, 1) else array
    if array.shape != (28, 28):
        raise StoreError(f"a sample image must be 28x28 (or 28x28x1), got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < -1e-6 or array.max() > 1 + 1e-6:
            raise StoreError("a float image must hold finite values in [0, 1] "
                             f"(got [{array.min():.3g}, {array.max():.3g}]); pass uint8 for 0-255")
        return np.rint(np.clip(array, 0, 1) * 255).astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255:
        raise StoreError(f"an image must be uint8 0-255 or float 0-1, got {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """Encode a uint8 grayscale image as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes into a uint8 grayscale array."""
    from PIL import Image

    if bytes(data[:8]) != PNG_SIGNATURE:
        raise StoreError("not a PNG file")
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("L"), dtype=np.uint8)


def content_hash(image: np.ndarray, set_name: str | None) -> str:
    """sha256 over the 28x28 uint8 bytes and the set name: a sample's identity."""
    digest = hashlib.sha256(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
    digest.update(b"\0" + (set_name or "").encode("utf-8"))
    return digest.hexdigest()


def split_for(hash_hex: str) -> str:
    """The split a content hash falls in: deterministic, about 10 % holdout."""
    return "holdout" if int(hash_hex[:8], 16) % 100 < HOLDOUT_PERCENT else "train"


def check_label(label) -> int:
    """Return the label as an int 0-9, or raise StoreError."""
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) \
            or not 0 <= label <= 9:
        raise StoreError(f"a label must be an integer 0-9, got {label!r}")
    return int(label)


def check_source(source: str) -> str:
    """Return the source if it is a known one, or raise StoreError."""
    if source not in SOURCES:
        raise StoreError(f"unknown source {source!r}; use one of: {', '.join(SOURCES)}")
    return source


def check_set_name(set_name: str | None, allow_all: bool = False) -> str | None:
    """Return a valid set name (None is the default pool, "*" every set), or raise StoreError."""
    if set_name is None or (allow_all and set_name == ALL_SETS):
        return set_name
    if not isinstance(set_name, str) or not set_name.strip() or set_name == ALL_SETS \
            or len(set_name) > MAX_SET_NAME_LENGTH or any(ord(c) < 32 for c in set_name):
        raise StoreError(f"a set name must be 1-{MAX_SET_NAME_LENGTH} printable characters "
                         f"other than {ALL_SETS!r}, or None; got {set_name!r}")
    return set_name


def sample_from_row(row: sqlite3.Row, duplicate: bool = False) -> Sample:
    """Build a Sample from a database row."""
    values = {key: row[key] for key in row.keys() if key not in ("image", "original")}
    if "not_digit" in values:
        values["not_digit"] = bool(values["not_digit"])
    return Sample(image=decode_png(row["image"]), original_png=row["original"],
                  duplicate=duplicate, **values)
