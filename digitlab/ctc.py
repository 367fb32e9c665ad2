"""CTC decoding in numpy (no TensorFlow): best path and prefix beam search, with digit spans.

The reader's output is, per time step, probabilities over ten digits and a blank. Best-path
(greedy) decoding takes the likeliest class per step, merges repeats and drops blanks; beam
search keeps the likeliest prefixes summed over all their alignments. Both give each digit the
steps it was read on, so a digit's box can be found in the line.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class DecodedDigit(NamedTuple):
    """One digit of a decoded line: its class, confidence and the time steps it spans."""

    digit: int
    confidence: float
    start: int  # first time step
    stop: int  # one past the last time step


def greedy_decode(probabilities: np.ndarray, blank: int) -> list[DecodedDigit]:
    """Best path: likeliest class per step, repeats merged, blanks dropped.

    A digit's confidence is the highest probability it reached on its steps.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2:
        raise ValueError(f"expected (time steps, classes) probabilities, got {probabilities.shape}")
    best = probabilities.argmax(axis=1)
    digits, step = [], 0
    while step < len(best):
        label = int(best[step])
        stop = step + 1
        while stop < len(best) and best[stop] == label:
            stop += 1
        if label != blank:
            confidence = float(probabilities[step:stop, label].max())
            digits.append(DecodedDigit(label, confidence, step, stop))
        step = stop
    return digits


def beam_decode(probabilities: np.ndarray, blank: int, beam_width: int = 8) -> tuple[str, float]:
    """Prefix beam search: the likeliest text over all alignments and its probability."""
    probabilities = np.asarray(probabilities, np.float64)
    beams = {(): (1.0, 0.0)}  # prefix -> (P(ends in blank), P(ends in its last digit))
    for step in probabilities:
        fresh: dict[tuple, list[float]] = {}
        for prefix, (ends_blank, ends_digit) in beams.items():
            total = ends_blank + ends_digit
            entry = fresh.setdefault(prefix, [0.0, 0.0])
            entry[0] += total * step[blank]
            if prefix:  # the same last digit again without a blank continues it
                entry[1] += ends_digit * step[prefix[-1]]
            for label in range(len(step)):
                if label == blank:
                    continue
                extended = fresh.setdefault(prefix + (label,), [0.0, 0.0])
                # after its own digit, a repeat needs a blank in between
                source = ends_blank if prefix and prefix[-1] == label else total
                extended[1] += source * step[label]
        ranked = sorted(fresh.items(), key=lambda item: -(item[1][0] + item[1][1]))[:beam_width]
        beams = {prefix: (pair[0], pair[1]) for prefix, pair in ranked}
    prefix, (ends_blank, ends_digit) = max(beams.items(), key=lambda item: sum(item[1]))
    return "".join(str(label) for label in prefix), ends_blank + ends_digit
