"""Lines of digits people corrected, kept in the sample store for fine-tuning the line reader.

A line sample is the reader's input (`digitlab.lineimage.line_input`, 32 px high, as a PNG) and
the number it shows, typed by the person who wrote it. It lives in the same SQLite file as the
digit samples (table ``line_samples``), with the same content hash, holdout split and sets.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from digitlab.lineimage import LINE_HEIGHT
from digitlab.records import utc_now
from digitlab.samples import (
    StoreError,
    check_set_name,
    check_source,
    decode_png,
    encode_png,
    split_for,
)
from digitlab.store import SampleStore, set_clause

MAX_TEXT_LENGTH = 40


class LineSample(NamedTuple):
    """One stored line: its id, text, split, whether it was stored already, and its old text."""

    id: int
    text: str
    split: str
    duplicate: bool = False
    relabelled_from: str | None = None  # the text it had, when adding it again changed it


def check_text(text) -> str:
    """The number a line shows: 1-40 digits, else StoreError."""
    if not isinstance(text, str) or not text.isdigit() or not text.isascii() \
            or not 1 <= len(text) <= MAX_TEXT_LENGTH:
        raise StoreError(f"a line's text must be 1-{MAX_TEXT_LENGTH} digits 0-9, got {text!r}")
    return text


def line_uint8(image) -> np.ndarray:
    """A reader input (float in [0, 1] or uint8) as a uint8 LINE_HEIGHT x width array."""
    image = np.asarray(image)
    if image.ndim != 2 or image.shape[0] != LINE_HEIGHT or image.shape[1] < 1:
        raise StoreError(f"a line image is {LINE_HEIGHT} px high (a reader input), got {image.shape}")
    if image.dtype == np.uint8:
        return image
    return np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def line_hash(image: np.ndarray, set_name: str | None) -> str:
    """sha256 over the line's shape, bytes and set name: its identity."""
    digest = hashlib.sha256(np.asarray(image.shape, np.int64).tobytes())
    digest.update(np.ascontiguousarray(image).tobytes())
    digest.update(b"\0" + (set_name or "").encode("utf-8"))
    return digest.hexdigest()


class LineSamples:
    """The store's lines: add a corrected line, count them, hand them to reader training."""

    def __init__(self, store: SampleStore | None = None):
        self.store = store or SampleStore()

    def add(self, image, text: str, source: str = "correction", original_png: bytes | None = None,
            predicted: str | None = None, confidence: float | None = None,
            model_version: str | None = None, set_name: str | None = None) -> LineSample:
        """Store a line and its text; the same line in the same set is stored once (a new text
        for it replaces the old one)."""
        image, text, source = line_uint8(image), check_text(text), check_source(source)
        set_name = check_set_name(set_name)
        hash_hex = line_hash(image, set_name)
        select = "SELECT id, text, split FROM line_samples WHERE content_hash = ?"
        with self.store.transaction() as connection:
            row = connection.execute(select, (hash_hex,)).fetchone()
            if row is not None and row["text"] != text:  # the same line typed again: a correction
                connection.execute("UPDATE line_samples SET text = ?, source = ? WHERE id = ?",
                                   (text, "correction", row["id"]))
                return LineSample(row["id"], text, row["split"], True, row["text"])
            if row is not None:
                return LineSample(row["id"], row["text"], row["split"], duplicate=True)
            connection.execute(
                "INSERT INTO line_samples (image, original, text, source, predicted, confidence, "
                "model_version, created, content_hash, split, set_name) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO NOTHING",
                (encode_png(image), original_png, text, source, predicted,
                 None if confidence is None else float(confidence), model_version, utc_now(),
                 hash_hex, split_for(hash_hex), set_name))
            row = connection.execute(select, (hash_hex,)).fetchone()
            return LineSample(row["id"], row["text"], row["split"])

    def count(self, split: str | None = None) -> int:
        """How many lines are stored (in one split, or all)."""
        if split is None:
            return self.store.query("SELECT COUNT(*) FROM line_samples")[0][0]
        return self.store.query("SELECT COUNT(*) FROM line_samples WHERE split = ?", (split,))[0][0]

    def recent(self, limit: int = 8, set_name: str | None = None) -> list[LineSample]:
        """The newest stored lines of one set (None: those saved without a set), newest first."""
        where, parameters = set_clause(check_set_name(set_name))
        rows = self.store.query(f"SELECT id, text, split FROM line_samples WHERE {where} "
                                "ORDER BY id DESC LIMIT ?", [*parameters, int(limit)])
        return [LineSample(row["id"], row["text"], row["split"]) for row in rows]

    def set_text(self, line_id: int, text: str) -> bool:
        """Give a stored line another text (a relabel taken back); False when there was none."""
        text = check_text(text)
        with self.store.transaction() as connection:
            return connection.execute(
                "UPDATE line_samples SET text = ?, source = CASE WHEN predicted = ? THEN 'canvas' "
                "ELSE 'correction' END WHERE id = ?", (text, text, int(line_id))).rowcount > 0

    def delete(self, line_id: int) -> bool:
        """Delete a stored line; False when there was none with this id."""
        with self.store.transaction() as connection:
            return connection.execute("DELETE FROM line_samples WHERE id = ?",
                                      (int(line_id),)).rowcount > 0

    def lines(self, split: str = "train") -> tuple[list[np.ndarray], list[str]]:
        """The stored lines of one split (uint8 reader inputs) and their texts, oldest first."""
        rows = self.store.query("SELECT image, text FROM line_samples WHERE split = ? ORDER BY id",
                                (split,))
        return [decode_png(row["image"]) for row in rows], [row["text"] for row in rows]
