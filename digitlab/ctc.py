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


def log_likelihood(probabilities: np.ndarray, text: str, blank: int) -> float:
    """log P(text) under per-step probabilities, summed over every CTC alignment (forward pass)."""
    log_steps = np.log(np.asarray(probabilities, np.float64) + 1e-12)
    extended = np.full(2 * len(text) + 1, blank)  # blank, d1, blank, d2, ..., blank
    extended[1::2] = [int(character) for character in text]
    may_skip = np.zeros(len(extended), bool)  # a digit may follow the digit before it directly
    may_skip[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    alpha = np.full(len(extended), -np.inf)
    alpha[:2] = log_steps[0, extended[:2]]
    for step in log_steps[1:]:
        moved = alpha.copy()
        moved[1:] = np.logaddexp(moved[1:], alpha[:-1])
        moved[2:] = np.where(may_skip[2:], np.logaddexp(moved[2:], alpha[:-2]), moved[2:])
        alpha = moved + step[extended]
    return float(np.logaddexp.reduce(alpha[-2:]))


def agreed_decode(member_probabilities: list[np.ndarray], blank: int) -> list[DecodedDigit]:
    """Several readers' best paths; the text all of them together find likeliest wins.

    Each member proposes its best-path text; the one with the highest log-likelihood summed
    over the members is read, with the steps and confidences of a member that proposed it.
    CTC outputs of separately trained readers fire on different steps, so they are combined
    per text, never averaged per step. Confidences are scaled by the share of members whose
    own best path reads that text, so a disagreement marks the line uncertain. When the members
    together find no digits likeliest (a speck one of them read), the line reads as nothing.
    """
    proposals = [greedy_decode(probabilities, blank) for probabilities in member_probabilities]
    texts = ["".join(str(digit.digit) for digit in proposal) for proposal in proposals]
    if len(set(texts)) == 1:
        return proposals[0]
    candidates = list(dict.fromkeys(texts))
    scores = [sum(log_likelihood(probabilities, text, blank) for probabilities in member_probabilities)
              for text in candidates]
    chosen = candidates[int(np.argmax(scores))]
    agreement = texts.count(chosen) / len(texts)
    return [digit._replace(confidence=digit.confidence * agreement)
            for digit in proposals[texts.index(chosen)]]
