"""Measure a model: accuracy, per-class precision/recall, confusion, calibration, mistakes.

Works with a Keras model, a `Predictor` or a path/registry name; every plot lives in
`digitlab.plots` and takes the `Evaluation` this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_CLASSES = 10


@dataclass
class Evaluation:
    """Everything measured on one labelled set."""

    labels: np.ndarray
    probabilities: np.ndarray
    images: np.ndarray  # uint8 or float (N, 28, 28), kept for the mistakes gallery

    @property
    def predictions(self) -> np.ndarray:
        """The argmax digit per image."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidences(self) -> np.ndarray:
        """The top probability per image."""
        return self.probabilities.max(axis=1)

    @property
    def accuracy(self) -> float:
        """Share of images predicted right."""
        return float((self.predictions == self.labels).mean())

    def confusion_matrix(self) -> np.ndarray:
        """Counts: rows are true digits, columns predicted digits."""
        matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
        np.add.at(matrix, (self.labels.astype(int), self.predictions), 1)
        return matrix

    def per_class(self) -> list[dict]:
        """Precision, recall, F1 and support for each digit."""
        matrix = self.confusion_matrix()
        rows = []
        for digit in range(NUM_CLASSES):
            true_positive = matrix[digit, digit]
            predicted = matrix[:, digit].sum()
            actual = matrix[digit, :].sum()
            precision = true_positive / predicted if predicted else 0.0
            recall = true_positive / actual if actual else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append({"digit": digit, "precision": float(precision), "recall": float(recall),
                         "f1": float(f1), "support": int(actual)})
        return rows

    def reliability(self, bins: int = 15) -> list[dict]:
        """Per confidence bin: count, mean confidence and accuracy."""
        edges = np.linspace(0.0, 1.0, bins + 1)
        correct = self.predictions == self.labels
        rows = []
        for low, high in zip(edges[:-1], edges[1:]):
            inside = (self.confidences > low) & (self.confidences <= high)
            count = int(inside.sum())
            rows.append({"low": float(low), "high": float(high), "count": count,
                         "confidence": float(self.confidences[inside].mean()) if count else 0.0,
                         "accuracy": float(correct[inside].mean()) if count else 0.0})
        return rows

    def expected_calibration_error(self, bins: int = 15) -> float:
        """ECE: the count-weighted gap between confidence and accuracy over the bins."""
        total = len(self.labels)
        return float(sum(row["count"] / total * abs(row["confidence"] - row["accuracy"])
                         for row in self.reliability(bins)))

    def mistakes(self, limit: int = 25) -> list[dict]:
        """The most confident mistakes first: index, true, predicted, confidence."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        wrong = wrong[np.argsort(-self.confidences[wrong])][:limit]
        return [{"index": int(i), "true": int(self.labels[i]), "predicted": int(self.predictions[i]),
                 "confidence": float(self.confidences[i])} for i in wrong]

    def uncertain_threshold(self, target_error_rate: float = 0.25) -> float:
        """The largest confidence t whose predictions below t are wrong at least this often."""
        correct = self.predictions == self.labels
        best = 0.5
        for threshold in np.arange(0.50, 0.995, 0.01):
            below = self.confidences < threshold
            if below.sum() >= 5 and 1.0 - correct[below].mean() >= target_error_rate:
                best = float(round(threshold, 2))
        return best

    def summary(self) -> dict:
        """A JSON-friendly summary for cards and notes."""
        return {"accuracy": self.accuracy, "count": int(len(self.labels)),
                "ece": self.expected_calibration_error(), "per_class": self.per_class(),
                "uncertain_threshold": self.uncertain_threshold()}


def probabilities_of(model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """(N, 10) probabilities from a Keras model, a Predictor, or a registry name/path."""
    from digitlab.predict import Predictor

    if isinstance(model, (str, Path)):
        model = Predictor.load(model)
    images = np.asarray(images)
    batch = (images.astype(np.float32) / 255.0) if images.dtype == np.uint8 else images.astype(np.float32)
    if isinstance(model, Predictor):
        return model.prepared_probabilities(batch)  # the backend runs big batches in chunks
    return np.asarray(model.predict(batch[..., None], batch_size=batch_size, verbose=0))


def evaluate(model, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Run the model over a labelled set (uint8 0-255 or float 0-1 images, 28x28)."""
    return Evaluation(labels=np.asarray(labels).astype(int), probabilities=probabilities_of(model, images),
                      images=np.asarray(images))


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """Share right; nan for an empty set."""
    if len(labels) == 0:
        return float("nan")
    return evaluate(model, images, labels).accuracy


def mean_and_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value) of per-seed results."""
    values = np.asarray(list(values), dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


MIN_CALIBRATION_IMAGES = 100  # fewer held-out images than this cannot place a threshold


def held_out_calibration(model, held_out: tuple[np.ndarray, np.ndarray], what: str) -> dict:
    """The card's calibration from images kept out of training (never MNIST test).

    With fewer than MIN_CALIBRATION_IMAGES of them, the predictor's default threshold is
    recorded instead, and the card says so.
    """
    from digitlab.predict import DEFAULT_UNCERTAIN_THRESHOLD

    count = len(held_out[1])
    if count < MIN_CALIBRATION_IMAGES:
        return {"uncertain_threshold": DEFAULT_UNCERTAIN_THRESHOLD,
                "measured_on": f"default: only {count} held-out images ({what})"}
    return {"uncertain_threshold": evaluate(model, *held_out).uncertain_threshold(),
            "measured_on": f"{what} ({count} images)"}


def card_validation_set(card: dict, mnist=None) -> tuple[np.ndarray, np.ndarray] | None:
    """The validation split a model was trained with, rebuilt from its card (None if unknown)."""
    return split_validation_set(card.get("config", {}), mnist)


def split_validation_set(settings: dict, mnist=None) -> tuple[np.ndarray, np.ndarray] | None:
    """The MNIST training images and labels that split settings hold out (None without a split).

    settings are a card's config or a held_out_split: seed, validation_split, train_subset.
    """
    from digitlab.data import load_mnist, split_validation_indices

    if not settings.get("validation_split"):
        return None
    (x_train, y_train), _ = mnist if mnist is not None else load_mnist()
    validation = split_validation_indices(len(x_train), settings)
    return x_train[validation], y_train[validation]
