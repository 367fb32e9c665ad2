"""Telling digits from marks that are not digits: the "notdigit" model and its threshold.

The rejector scores a 28x28 MNIST-form image twice: a small CNN's probability that it is *not*
a digit, trained on MNIST and canvas digits against marks drawn in code (`digitlab.negatives`,
outlier exposure), and the image's distance to the nearest digit class in the digit model's
features (`digitlab.digit_distance`). Its card holds one threshold per score, calibrated on
digits it never trained on so that together they reject about 0.3 % of them; an image is not
a digit when any score reaches its threshold. It runs beside the digit model (LiteRT, no
TensorFlow), so a Prediction can say "that doesn't look like a digit".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitlab.backends import load_backend

DEFAULT_REJECTOR = "notdigit"
DEFAULT_THRESHOLD = 0.5
DIGIT_CLASSES = 10


def score_count(outputs: int) -> int:
    """How many of a rejector's outputs are scores: the rest are the ten digit probabilities
    of the digit model it carries (a rejector with a distance score carries one)."""
    return outputs - DIGIT_CLASSES if outputs > DIGIT_CLASSES else outputs


class Rejector:
    """A loaded rejector: scores batches of prepared digits and says which are not digits."""

    def __init__(self, backend, model_id: str, thresholds, registry_name: str | None = None,
                 digit_model: str | None = None):
        self.backend, self.model_id = backend, model_id
        self.digit_model = digit_model  # the digit model whose probabilities it also gives
        self.thresholds = np.atleast_1d(np.asarray(thresholds, np.float32))  # one per score
        self.registry_name = registry_name  # the name it follows to its current version, if any
        self.backend(np.zeros((1, 28, 28, 1), np.float32))  # warm-up

    @classmethod
    def load(cls, spec: str | Path = DEFAULT_REJECTOR, backend: str = "auto") -> Rejector:
        """Load a registry name ("notdigit", "notdigit@2") or a model folder."""
        from digitlab.predict import read_card, resolve_model

        path, model_id, registry_name = resolve_model(spec)
        card = read_card(path)
        calibration = card.get("calibration", {})
        thresholds = calibration.get("not_digit_thresholds",
                                     calibration.get("not_digit_threshold", DEFAULT_THRESHOLD))
        return cls(load_backend(path, backend), model_id, thresholds, registry_name,
                   card.get("digit_model"))

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(marks, digit probabilities or None) for a (N, 28, 28, 1) float32 batch: True where
        an image is not a digit (any score at or above its threshold)."""
        outputs = np.asarray(self.backend(batch), np.float32).reshape(len(batch), -1)
        scores = score_count(outputs.shape[1])
        if scores != len(self.thresholds):
            raise ValueError(f"the rejector gives {scores} scores but its card has "
                             f"{len(self.thresholds)} thresholds")
        marks = (outputs[:, :scores] >= self.thresholds).any(axis=1)
        return marks, (outputs[:, scores:] if outputs.shape[1] > scores else None)

    def rejects(self, batch: np.ndarray) -> np.ndarray:
        """True for each image that is not a digit."""
        return self.run(batch)[0]

