"""Read whole lines of digits with the registry's line reader (CRNN + CTC), without TensorFlow.

`LineReader.load()` loads the current `reader` model (LiteRT when its .tflite is there);
`read(lines)` runs every line of one or more frames in as few calls as widths allow and decodes
them in numpy (`digitlab.ctc`; a reader ensemble by the text its members agree on), giving each
digit a confidence and the input columns it was read on, from which
`digitlab.textlines.FoundLine.digit_box` finds its box.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from digitlab.backends import load_backend
from digitlab.ctc import DecodedDigit, agreed_decode, greedy_decode
from digitlab.lineimage import LINE_HEIGHT, LineInput

DEFAULT_READER = "reader"
BLANK = 10  # the CTC blank's class index in the reader's output; 0-9 are the digits
NUM_CLASSES = 11
TIME_STRIDE = 4  # input columns per output time step (digitlab.reader_model's downsampling)


def time_steps(input_width: int) -> int:
    """How many time steps the reader gives for an input this wide."""
    return -(-input_width // TIME_STRIDE)


def decode(probabilities: np.ndarray) -> list[DecodedDigit]:
    """One line's digits from its (time steps, 11 x members) output: a single reader's best
    path, or the text a reader ensemble's members agree on (`digitlab.reader_ensemble`)."""
    members = probabilities.shape[-1] // NUM_CLASSES
    if members <= 1:
        return greedy_decode(probabilities, BLANK)
    return agreed_decode(np.split(probabilities, members, axis=-1), BLANK)


class ReadDigit(NamedTuple):
    """One digit the reader read: the digit, its confidence and its input columns."""

    digit: int
    confidence: float
    start_column: float
    stop_column: float


def digit_columns(decoded: list[DecodedDigit], ink_width: int) -> list[ReadDigit]:
    """Each digit's input columns: from halfway to the digit before to halfway to the one after.

    CTC fires a digit on one or two steps near its middle, so the cut between two digits lies
    between their steps; the first and last digits reach the line's ends.
    """
    centres = [TIME_STRIDE * (digit.start + digit.stop) / 2 for digit in decoded]
    bounds = [0.0] + [(a + b) / 2 for a, b in zip(centres, centres[1:])] + [float(ink_width)]
    return [ReadDigit(digit.digit, digit.confidence, bounds[index], bounds[index + 1])
            for index, digit in enumerate(decoded)]


class LineReader:
    """A loaded line-reading model and its calibrated 'uncertain' threshold."""

    def __init__(self, backend, model_id: str, uncertain_threshold: float,
                 registry_name: str | None = None):
        self.backend = backend
        self.model_id = model_id
        self.uncertain_threshold = uncertain_threshold
        self.registry_name = registry_name  # the name it follows to its current version, if any
        self.backend(np.zeros((1, LINE_HEIGHT, 64, 1), np.float32))  # warm-up

    @classmethod
    def load(cls, spec: str | Path = DEFAULT_READER, backend: str = "auto") -> LineReader:
        """Load a registry name ("reader", "reader@2") or a model folder/file."""
        from digitlab.predict import read_threshold, resolve_model

        path, model_id, registry_name = resolve_model(spec)
        return cls(load_backend(path, backend), model_id, read_threshold(path), registry_name)

    def probabilities(self, inputs: list[LineInput]) -> list[np.ndarray]:
        """Per line, its (time steps, 11 x members) probabilities; lines of one width share a call."""
        by_width = defaultdict(list)
        for index, line in enumerate(inputs):
            by_width[line.image.shape[1]].append(index)
        results: list[np.ndarray | None] = [None] * len(inputs)
        for chosen in by_width.values():
            batch = np.stack([inputs[index].image for index in chosen])[..., None]
            outputs = self.backend(batch.astype(np.float32, copy=False))
            for index, output in zip(chosen, outputs):
                results[index] = output[:time_steps(inputs[index].ink_width)]
        return results

    def read(self, inputs: list[LineInput]) -> list[list[ReadDigit]]:
        """Per line, its digits with confidences and input columns (empty for a line of no digits)."""
        return [digit_columns(decode(probabilities), line.ink_width)
                for probabilities, line in zip(self.probabilities(inputs), inputs)]

