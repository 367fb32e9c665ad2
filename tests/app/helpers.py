"""App test helpers: a stand-in predictor, stroke shapes and a registry with a real model."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from digitlab.frames import find_digits
from digitlab.predict import Prediction
from digitlab.preprocess import to_mnist
from digitlab.reading import DigitReading, Reading

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is tests/app/helpers.py)
COMMITTED_MODEL = ROOT / "models" / "digits" / "1"
COMMITTED_READER = ROOT / "models" / "reader" / "1"
COMMITTED_REJECTOR = ROOT / "models" / "notdigit" / "1"  # fused with digits@1

# Pen paths in a 336x336 pad, drawn the way a person would (used by unit and browser tests).
SHAPES = {
    1: [[(170, 60), (170, 280)]],
    7: [[(95, 75), (245, 75), (150, 285)]],
    0: [[(168 + 62 * math.sin(2 * math.pi * t / 40), 168 - 100 * math.cos(2 * math.pi * t / 40))
         for t in range(41)]],
}


class FakePredictor:
    """Answers a fixed digit, but through the real preprocessing (so blank pads still raise)."""

    reader_id = None  # no line reader: numbers are cut into digits

    def __init__(self, digit: int = 7, confidence: float = 0.9, model_id: str = "digits@1",
                 not_digit: bool = False):
        self.digit, self.confidence, self.not_digit = digit, confidence, not_digit
        self.model_id, self.spec = model_id, model_id.partition("@")[0]
        self.calls = 0

    def predict_one(self, image) -> Prediction:
        """A prediction of the fixed digit for the image's 28x28 form."""
        self.calls += 1
        image28 = to_mnist(image)
        probabilities = np.full(10, (1 - self.confidence) / 9, np.float32)
        probabilities[self.digit] = self.confidence
        order = np.argsort(probabilities)[::-1]
        return Prediction(self.digit, self.confidence,
                          [(int(d), float(probabilities[d])) for d in order[:3]], probabilities,
                          self.confidence < 0.7, image28, self.not_digit)

    def prepared_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """The fixed digit first and the next one second, surer the more ink an image has."""
        batch = np.asarray(batch, np.float32).reshape(-1, 28 * 28)
        rows = np.zeros((len(batch), 10), np.float32)
        sureness = np.clip(batch.mean(axis=1) * 2, 0.0, 1.0)
        rows[:, self.digit] = (1 + sureness) / 2
        rows[:, (self.digit + 1) % 10] = (1 - sureness) / 2
        return rows

    def read(self, frame) -> Reading:
        """Every digit found reads as the fixed digit (or, with not_digit, is left out as a mark)."""
        boxes = find_digits(frame)
        if self.not_digit:
            return Reading("", [], marks=len(boxes))
        digits = [DigitReading(self.digit, self.confidence, box.box, False) for box in boxes]
        return Reading("".join(str(d.digit) for d in digits), digits)

    def reload_if_changed(self, force: bool = False) -> bool:
        """Never changes."""
        return False


def draw(recorder, shape: list[list[tuple[float, float]]], dx: float = 0.0) -> None:
    """Replay a shape's strokes into a StrokeRecorder (as pointer events would)."""
    for stroke in shape:
        recorder.begin(stroke[0][0] + dx, stroke[0][1])
        for x, y in stroke[1:]:
            recorder.extend(x + dx, y)
        recorder.end()


def write_number(session, digits, lefts, scale=0.6):
    """Draw digits from SHAPES at these x offsets on a wide pad."""
    for digit, left in zip(digits, lefts):
        draw(session.recorder, [[(left + scale * x, 10 + scale * y) for x, y in stroke]
                                for stroke in SHAPES[digit]])


def registry_with_model(models_root: Path, trained=None) -> str:
    """Put a real model at models_root/digits/1: the committed default, else `trained`'s model."""
    target = models_root / "digits" / "1"
    if (COMMITTED_MODEL / "model.tflite").exists():
        shutil.copytree(COMMITTED_MODEL, target)
        return "committed"
    if trained is None:
        raise FileNotFoundError("no committed default model and no trained model given")
    from digitlab.registry import Registry

    Registry(models_root).save(trained.model, "digits", trained.card())
    return "trained"


def registry_with_reader(models_root: Path, rejector: bool = False) -> None:
    """Put the committed line reader at models_root/reader/1 (and digits@1's rejector)."""
    shutil.copytree(COMMITTED_READER, models_root / "reader" / "1")
    if rejector:
        shutil.copytree(COMMITTED_REJECTOR, models_root / "notdigit" / "1")
