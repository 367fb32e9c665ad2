"""The review queue: samples waiting for a label, most uncertain first, labelled one at a time.

Cameras (`digitlab serve --collect-uncertain`) and the app ("Review later") store samples with
no label. A `ReviewQueue` ranks a set's waiting samples by the margin between the model's two
likeliest digits (smallest first: where a label teaches the model most), and records each
answer: a digit, "not a digit", or skip. Undo puts the last answer back at the front.
Labelled samples then feed fine-tuning like any correction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitlab.samples import Sample, check_set_name, sample_from_row
from digitlab.store import SampleStore
from digitlab.store_schema import COLUMNS

DEFAULT_MODEL_NAME = "digits"  # its samples are the default pool; other models have their own set
PAGE_SIZE = 200  # waiting samples ranked at a time
REFILL_BELOW = 5  # fetch more when fewer than this remain on the page


def model_set(model_name: str | None) -> str | None:
    """The sample set a registry model learns from: the default pool for "digits", else the
    set named like the model (a model trained from a set is named after it)."""
    if model_name is None or model_name == DEFAULT_MODEL_NAME:
        return None
    return check_set_name(model_name)


def waiting_clause(set_name: str | None) -> tuple[str, list]:
    """The WHERE clause selecting a set's samples that wait for review."""
    set_name = check_set_name(set_name)
    where = "label IS NULL AND not_digit = 0 AND "
    if set_name is None:
        return where + "set_name IS NULL", []
    return where + "set_name = ?", [set_name]


def waiting_count(store: SampleStore, set_name: str | None = None) -> int:
    """How many samples of a set wait for a label."""
    where, parameters = waiting_clause(set_name)
    return store.query(f"SELECT COUNT(*) FROM samples WHERE {where}", parameters)[0][0]


def waiting_samples(store: SampleStore, set_name: str | None = None, limit: int = PAGE_SIZE,
                    exclude: set[int] | frozenset[int] = frozenset()) -> list[Sample]:
    """Up to `limit` waiting samples of a set, oldest first, leaving out the ids in `exclude`."""
    where, parameters = waiting_clause(set_name)
    if exclude:
        where += f" AND id NOT IN ({', '.join('?' * len(exclude))})"
        parameters = [*parameters, *sorted(exclude)]
    rows = store.query(f"SELECT {COLUMNS} FROM samples WHERE {where} ORDER BY id LIMIT ?",
                       [*parameters, int(limit)])
    return [sample_from_row(row) for row in rows]


def camera_saves_since(store: SampleStore, camera: str, since: str) -> int:
    """How many samples a camera has added since an ISO time (for the per-hour cap)."""
    return store.query("SELECT COUNT(*) FROM samples WHERE camera = ? AND created >= ?",
                       (camera, since))[0][0]


def margins(probabilities: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row: 0 is a coin toss, 1 is certain."""
    ordered = np.sort(np.asarray(probabilities, np.float64), axis=1)
    return ordered[:, -1] - ordered[:, -2]


@dataclass
class ReviewItem:
    """One sample to label, with what the model says about it now."""

    sample: Sample
    probabilities: np.ndarray
    margin: float

    @property
    def guess(self) -> int:
        """The model's likeliest digit."""
        return int(np.argmax(self.probabilities))


@dataclass
class Answer:
    """What the reviewer said about a sample (undo restores what it was before)."""

    item: ReviewItem
    label: int | None
    not_digit: bool


class ReviewQueue:
    """A set's waiting samples, ranked by the model's margin, and the answers given to them."""

    def __init__(self, store: SampleStore, probabilities, set_name: str | None = None):
        self.store = store
        self.probabilities = probabilities  # (N, 28, 28) float batch -> (N, 10)
        self.set_name = check_set_name(set_name)
        self.items: list[ReviewItem] = []
        self.skipped: set[int] = set()  # skipped on this page: asked again after the others
        self.answers: list[Answer] = []

    def select(self, set_name: str | None) -> None:
        """Rank a set's waiting samples afresh (the model may have changed); the answers to the
        same set can still be taken back, another set's cannot."""
        set_name = check_set_name(set_name)
        if set_name != self.set_name:
            self.answers = []
        self.set_name, self.items, self.skipped = set_name, [], set()
        self.refill()

    def refill(self) -> None:
        """Rank more waiting samples when the page runs low (new camera crops join here)."""
        if len(self.items) >= REFILL_BELOW:
            return
        held = {item.sample.id for item in self.items}
        fresh = waiting_samples(self.store, self.set_name, PAGE_SIZE, held | self.skipped)
        if not fresh and self.skipped and not self.items:  # only skipped ones left: ask again
            self.skipped.clear()
            fresh = waiting_samples(self.store, self.set_name, PAGE_SIZE)
        if not fresh:
            return
        batch = np.stack([sample.image for sample in fresh]).astype(np.float32) / 255.0
        probabilities = np.asarray(self.probabilities(batch))
        ranked = [ReviewItem(sample, row, float(margin))
                  for sample, row, margin in zip(fresh, probabilities, margins(probabilities))]
        self.items = sorted(self.items + ranked, key=lambda item: item.margin)

    @property
    def current(self) -> ReviewItem | None:
        """The sample to label now, or None when nothing waits."""
        self.refill()
        return self.items[0] if self.items else None

    def waiting(self) -> int:
        """How many samples of the set wait (the store's count, cameras included)."""
        return waiting_count(self.store, self.set_name)

    def answer(self, label: int | None, not_digit: bool = False) -> Sample | None:
        """Label the current sample (or mark it not a digit); None when nothing waits."""
        item = self.current
        if item is None:
            return None
        stored = self.store.relabel(item.sample.id, label, not_digit=not_digit)
        self.items.pop(0)
        self.answers.append(Answer(item, label, not_digit))
        return stored

    def skip(self) -> ReviewItem | None:
        """Leave the current sample unlabelled and ask for it after the others on the page."""
        item = self.current
        if item is not None:
            self.items.pop(0)
            self.skipped.add(item.sample.id)
        return item

    def undo(self) -> Answer | None:
        """Take back the last answer: the sample waits again, first in line; None if none."""
        while self.answers:
            answer = self.answers.pop()
            try:
                self.store.relabel(answer.item.sample.id, None)
            except ValueError:  # deleted meanwhile (SampleNotFoundError): nothing to restore
                continue
            self.items.insert(0, answer.item)
            return answer
        return None
