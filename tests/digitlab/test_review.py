"""The review queue: ranking by the model's margin, answers, skips, undo, refills and sets."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.review import ReviewQueue, margins, model_set, waiting_count, waiting_samples
from digitlab.store import SampleStore, StoreError


def image_with_margin(margin_step: int) -> np.ndarray:
    """A distinct 28x28 image whose first pixel encodes how sure the oracle is about it."""
    image = np.random.default_rng(margin_step).integers(0, 200, (28, 28), dtype=np.uint8)
    image[0, 0] = margin_step * 51  # the queue hands the model images scaled to 0-1: 0.2 a step
    return image


def oracle(batch: np.ndarray) -> np.ndarray:
    """Probabilities whose top-1 minus top-2 margin is the first pixel (0-1): a known ranking."""
    rows = []
    for image in batch:
        margin = float(image[0, 0])
        top, second = (1 + margin) / 2, (1 - margin) / 2
        rows.append([top, second] + [0.0] * 8)
    return np.array(rows)


@pytest.fixture
def store(store_location):
    return SampleStore(store_location)


def test_margins_are_top_one_minus_top_two():
    np.testing.assert_allclose(margins(np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])), [0.2, 0.7])


def test_the_most_uncertain_sample_comes_first_and_answers_are_stored(store):
    ids = {step: store.add(image_with_margin(step), None, "camera").id for step in (3, 1, 4, 2)}
    store.add(image_with_margin(0), 5, "canvas")  # labelled: never in the queue
    queue = ReviewQueue(store, oracle)
    assert queue.current.sample.id == ids[1] and queue.current.margin == pytest.approx(0.2)
    assert queue.waiting() == 4
    assert queue.answer(7).label == 7
    assert queue.current.sample.id == ids[2]
    queue.answer(None, not_digit=True)
    assert store.get(ids[2]).not_digit and waiting_count(store) == 2
    assert queue.undo().item.sample.id == ids[2]  # back first in line, waiting again
    assert queue.current.sample.id == ids[2] and not store.get(ids[2]).not_digit
    assert waiting_count(store) == 3 and store.total() == 2


def test_a_skipped_sample_is_asked_again_after_the_others(store):
    first, second = (store.add(image_with_margin(step), None, "canvas").id for step in (1, 2))
    queue = ReviewQueue(store, oracle)
    assert queue.skip().sample.id == first
    assert queue.current.sample.id == second
    queue.answer(3)
    assert queue.current.sample.id == first  # nothing else waits: the skipped one again
    queue.answer(4)
    assert queue.current is None and queue.skip() is None and queue.answer(1) is None


def test_new_samples_join_the_queue_as_it_runs_low(store):
    queue = ReviewQueue(store, oracle)
    assert queue.current is None
    late = store.add(image_with_margin(2), None, "camera", camera="cam-1").id
    assert queue.current.sample.id == late


def test_a_queue_reviews_one_set_only(store):
    store.add(image_with_margin(1), None, "canvas", set_name="alice")
    pooled = store.add(image_with_margin(2), None, "canvas").id
    queue = ReviewQueue(store, oracle)
    assert queue.current.sample.id == pooled and queue.waiting() == 1
    queue.answer(2)
    queue.select(None)  # the same set again (after a mode switch): its answers can be undone
    assert queue.undo().item.sample.id == pooled
    queue.select("alice")
    assert queue.current.sample.set_name == "alice" and queue.undo() is None
    assert [s.id for s in waiting_samples(store, None, exclude={pooled})] == []


def test_undo_skips_a_sample_deleted_meanwhile(store):
    kept, removed = (store.add(image_with_margin(step), None, "canvas").id for step in (1, 2))
    queue = ReviewQueue(store, oracle)
    queue.answer(1)
    queue.answer(2)
    store.delete(removed)
    assert queue.undo().item.sample.id == kept and queue.undo() is None


def test_each_model_learns_from_its_own_set():
    assert model_set("digits") is None and model_set(None) is None
    assert model_set("alice") == "alice"
    with pytest.raises(StoreError, match="set name"):
        model_set("*")
