"""The line reader's card: line accuracy on validation and test lines, per length, and calibration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitlab.reader_data import batches, stack_lines

if TYPE_CHECKING:
    from digitlab.reader_train import ReaderResult


def read_lines(model_call, inputs: list[np.ndarray], batch_size: int = 256) -> list[list]:
    """Readings (DecodedDigit lists) of lines with a callable from batches to probabilities."""
    from digitlab.reader import decode, time_steps

    readings: list[list] = [[] for _ in inputs]
    for chosen in batches(inputs, batch_size):
        probabilities = np.asarray(model_call(stack_lines(inputs, chosen)))
        for row, index in enumerate(chosen):
            readings[index] = decode(probabilities[row, :time_steps(inputs[index].shape[1])])
    return readings


def text_of(reading: list) -> str:
    """The digits of a decoded line as a string."""
    return "".join(str(digit.digit) for digit in reading)


def sequence_accuracy(readings: list[list], truth: list[str]) -> dict:
    """Whole-line accuracy, overall and per number of digits."""
    right = np.array([text_of(reading) == text for reading, text in zip(readings, truth)])
    lengths = np.array([len(text) for text in truth])
    return {"accuracy": float(right.mean()), "count": len(truth),
            "per_length": {str(length): round(float(right[lengths == length].mean()), 4)
                           for length in sorted(set(lengths.tolist()))}}


def line_calibration(readings: list[list], truth: list[str], target_error_rate: float = 0.25) -> dict:
    """The 'uncertain' threshold on a line's lowest digit confidence, and accuracy per confidence band.

    The threshold is the largest t whose lines below t are wrong at least target_error_rate of
    the time (the digit model's rule), measured on validation lines.
    """
    confidence = np.array([min((d.confidence for d in reading), default=0.0) for reading in readings])
    right = np.array([text_of(reading) == text for reading, text in zip(readings, truth)])
    threshold = 0.5
    for candidate in np.arange(0.50, 0.995, 0.01):
        below = confidence < candidate
        if below.sum() >= 5 and 1.0 - right[below].mean() >= target_error_rate:
            threshold = float(round(candidate, 2))
    bands = []
    for low, high in ((0.0, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 0.99), (0.99, 1.01)):
        inside = (confidence >= low) & (confidence < high)
        bands.append({"confidence": [low, min(high, 1.0)], "lines": int(inside.sum()),
                      "accuracy": round(float(right[inside].mean()), 4) if inside.any() else None})
    kept = confidence >= threshold
    return {"uncertain_threshold": threshold, "measured_on": f"validation lines ({len(truth)})",
            "confidence": "a line's lowest digit confidence (best-path CTC)",
            "flagged_share": round(float(1.0 - kept.mean()), 4),
            "accuracy_of_unflagged": round(float(right[kept].mean()), 4) if kept.any() else None,
            "bands": bands}


def reader_card(result: ReaderResult):
    """The reader's ModelCard: recipe, checksums, validation and test line accuracy, calibration."""
    import keras
    import tensorflow as tf

    from digitlab.backends import KerasBackend
    from digitlab.card import ModelCard
    from digitlab.reader_ensemble import member_count

    predict = KerasBackend(result.model)
    validation = read_lines(predict, result.sets["validation"][0])
    test = read_lines(predict, result.sets["test"][0])
    members = member_count(result.model)
    kind = "line reader (CRNN + CTC)" if members == 1 else f"line reader ensemble ({members} CRNNs + CTC)"
    training = {"arch": "reader", "kind": kind,
                "parameters": int(result.model.count_params()), "config": result.config.to_dict(),
                "data": result.data, "history": result.history,
                "framework": {"keras": keras.__version__, "tensorflow": tf.__version__},
                "train_seconds": round(result.seconds, 1)}
    if result.config.initial_model:  # a fine-tuned ensemble still names the readers it holds
        from digitlab.reader_members import resolve_reader

        _, training["fine_tuned_from"], initial_card = resolve_reader(result.config.initial_model)
        members_of = initial_card.get("members")
        if members_of:
            training["members"] = members_of
    metrics = {"validation_sequence": sequence_accuracy(validation, result.sets["validation"][1]),
               "test_sequence": sequence_accuracy(test, result.sets["test"][1])}
    if "store_holdout" in result.sets:
        metrics["store_holdout_sequence"] = sequence_accuracy(
            read_lines(predict, result.sets["store_holdout"][0]), result.sets["store_holdout"][1])
    return ModelCard(training, metrics=metrics,
                     calibration=line_calibration(validation, result.sets["validation"][1]))
