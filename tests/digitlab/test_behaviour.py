"""Behavioural tests of the committed default model: variations of a digit keep its label.

Each variant is compared with the plain digits' rate through the same preprocessing path, so
the tests check the pipeline's invariances rather than a hard-coded accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digitlab.ink import EmptyImageError
from digitlab.predict import Predictor
from digitlab.synthetic import canvas_from_mnist, paper_frame

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "digits" / "1"
SAMPLE_SIZE = 300
ALLOWED_DROP = 0.02  # a variant may lose at most 2 points against the plain digits


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load(DEFAULT_MODEL, reader=None)  # the digit model and its cut-first path


@pytest.fixture(scope="module")
def sample(mnist):
    (_, _), (x_test, y_test) = mnist
    index = np.random.default_rng(0).choice(len(x_test), SAMPLE_SIZE, replace=False)
    return x_test[index], y_test[index]


def accuracy_of(predictor, images, labels) -> float:
    return float(np.mean([p.digit for p in predictor.predict(list(images))] == labels))


@pytest.fixture(scope="module")
def plain_accuracy(predictor, sample):
    images, labels = sample
    return accuracy_of(predictor, [canvas_from_mnist(image) for image in images], labels)


VARIANTS = {
    "shifted": lambda image, rng: canvas_from_mnist(image, offset=tuple(rng.integers(-70, 70, 2))),
    "scaled_down": lambda image, rng: canvas_from_mnist(image, scale=rng.uniform(0.3, 0.6)),
    "thicker": lambda image, rng: canvas_from_mnist(image, thickness=int(rng.integers(8, 16))),
    "inverted": lambda image, rng: canvas_from_mnist(image, invert=True),
    "rgba_on_transparent": lambda image, rng: canvas_from_mnist(image, rgba=True),
    "noisy_uneven_light": lambda image, rng: canvas_from_mnist(image, noise=0.05, lighting=0.4, rng=rng),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_keep_their_label(variant, predictor, sample, plain_accuracy):
    images, labels = sample
    rng = np.random.default_rng(1)
    varied = [VARIANTS[variant](image, rng) for image in images]
    assert accuracy_of(predictor, varied, labels) >= plain_accuracy - ALLOWED_DROP
    assert plain_accuracy > 0.97


def test_blank_canvases_are_refused_not_guessed(predictor):
    for blank in (np.full((280, 280), 255, np.uint8), np.zeros((280, 280, 4), np.uint8),
                  np.full((280, 280, 3), 128, np.uint8)):
        with pytest.raises(EmptyImageError):
            predictor.predict_one(blank)


def test_reading_digits_on_paper(predictor, mnist):
    (_, _), (x_test, y_test) = mnist
    rng = np.random.default_rng(5)
    correct = 0
    for _ in range(20):
        index = rng.choice(len(x_test), int(rng.integers(2, 6)), replace=False)
        frame, _ = paper_frame(list(x_test[index]), rng=rng)
        correct += predictor.read(frame).text == "".join(str(d) for d in y_test[index])
    assert correct >= 17


def test_committed_model_accuracy_matches_its_card(predictor, mnist):
    (_, _), (x_test, y_test) = mnist
    probabilities = predictor.probabilities(x_test.astype(np.float32) / 255.0)
    accuracy = float((probabilities.argmax(1) == y_test).mean())
    card = json.loads((DEFAULT_MODEL / "card.json").read_text())
    assert abs(accuracy - card["metrics"]["mnist_test_accuracy"]) < 0.0005
    assert accuracy >= 0.99


def read_scenes(predictor, mnist, digits: int, gap, touching: bool, count: int, guided: bool):
    """Share of paper scenes read right, with or without the model guiding the cuts."""
    from digitlab.frames import find_digits
    from digitlab.synthetic import ink_is_one_blob

    (_, _), (x_test, y_test) = mnist
    rng = np.random.default_rng(7)
    right = done = 0
    while done < count:
        chosen = rng.choice(len(x_test), digits, replace=False)
        frame, _ = paper_frame(list(x_test[chosen]), gap=gap, shadow=False, rng=rng)
        if touching and not ink_is_one_blob(frame):
            continue  # the premise: the digits' ink is one blob
        boxes = find_digits(frame, score=predictor.probabilities if guided else None)
        text = "".join(str(p.digit) for p in predictor.predict([b.image for b in boxes])) if boxes else ""
        right += text == "".join(str(y_test[i]) for i in chosen)
        done += 1
    return right / count


def test_the_model_guides_cuts_between_touching_digits(predictor, mnist):
    projection_only = read_scenes(predictor, mnist, 2, -0.1, True, 60, guided=False)
    guided = read_scenes(predictor, mnist, 2, -0.1, True, 60, guided=True)
    assert guided >= projection_only + 0.1, (projection_only, guided)


def test_guided_cuts_leave_separate_digits_alone(predictor, mnist):
    projection_only = read_scenes(predictor, mnist, 4, (0.2, 0.6), False, 40, guided=False)
    guided = read_scenes(predictor, mnist, 4, (0.2, 0.6), False, 40, guided=True)
    assert guided >= projection_only - 0.05, (projection_only, guided)


def touching_frames(mnist, count: int = 12):
    """Paper frames of two or three touching MNIST digits (the model guides their cuts)."""
    from digitlab.synthetic import ink_is_one_blob

    (_, _), (x_test, _) = mnist
    rng = np.random.default_rng(11)
    frames = []
    while len(frames) < count:
        chosen = rng.choice(len(x_test), 2 + len(frames) % 2, replace=False)
        frame, _ = paper_frame(list(x_test[chosen]), gap=-0.1, shadow=False, rng=rng)
        if ink_is_one_blob(frame):
            frames.append(frame)
    return frames


def test_pruned_cut_search_finds_what_the_full_search_finds(predictor, mnist, monkeypatch):
    from digitlab import segment
    from digitlab.frames import find_digits

    (_, _), (x_test, _) = mnist
    rng = np.random.default_rng(0)  # the camera frames of bench/serve.py: one wide, unsure digit
    frames = [paper_frame(list(x_test[rng.choice(len(x_test), 4, replace=False)]), rng=index)[0]
              for index in range(8)] + touching_frames(mnist)
    dropped, prune = [], segment.within_pieces

    def counted(spans, *rest):
        """within_pieces, noting how many spans it left out."""
        kept = prune(spans, *rest)
        dropped.append(len(spans) - len(kept))
        return kept

    monkeypatch.setattr(segment, "within_pieces", counted)
    pruned = [[box.box for box in find_digits(frame, score=predictor.probabilities)] for frame in frames]
    assert sum(dropped) > 0  # the premise: some searches were cut short
    monkeypatch.setattr(segment, "within_pieces", lambda spans, *_: spans)
    full = [[box.box for box in find_digits(frame, score=predictor.probabilities)] for frame in frames]
    assert pruned == full


def test_reading_runs_the_model_once_per_crop(predictor, mnist, monkeypatch):
    from digitlab.frames import find_digits

    seen = []
    backend = predictor.backend
    monkeypatch.setattr(predictor, "backend", lambda batch: seen.append(len(batch)) or backend(batch))
    for frame in touching_frames(mnist, 6):
        seen.clear()
        reading = predictor.read(frame)
        read_images = sum(seen)
        seen.clear()
        boxes = find_digits(frame, score=predictor.probabilities)
        predictions = predictor.predict([box.image for box in boxes])
        kept = [p for p in predictions if not p.not_digit]  # marks (the rejector's) are left out
        assert reading.text == "".join(str(p.digit) for p in kept)
        assert [d.confidence for d in reading.digits] == [p.confidence for p in kept]
        assert read_images == sum(seen) - len(boxes)  # the final crops were all read while cutting
