"""Held-out "other writers": labelled digits drawn in code by hands and fonts that are not MNIST's.

None of these is ever trained on; they measure how a model carries beyond MNIST's writers
when choosing an augmentation recipe (never MNIST test). Three sets, each deterministic:

- ``strokes``: continental handwriting (crossed 7, flagged 1) drawn as jittered pen strokes;
- ``segments``: blocky seven-segment handwriting;
- ``fonts``: digits in OpenCV's Hershey fonts (plain, serif, script), slanted and at several
  pen widths, as a label printer or a careful writer makes them.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from digitlab.preprocess import to_mnist
from digitlab.synthetic import render_segment_digit, render_stroke_digit

KINDS = ("strokes", "segments", "fonts")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
         cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)


def font_digit(label: int, rng: np.random.Generator) -> np.ndarray:
    """One digit in a random Hershey font, pen width and slant, through `to_mnist`."""
    canvas = np.full((160, 160), 255, np.uint8)
    font = FONTS[int(rng.integers(len(FONTS)))]
    cv2.putText(canvas, str(label), (40, 125), font, 3.6, 0, int(rng.integers(4, 13)), cv2.LINE_AA)
    shear = rng.uniform(-0.1, 0.3)
    matrix = np.float32([[1, -shear, shear * 80], [0, 1, 0]])
    canvas = cv2.warpAffine(canvas, matrix, (160, 160), borderValue=255)
    return to_mnist(canvas)


def writer_set(kind: str, count: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """`count` labelled digits (float32 (N, 28, 28) in [0, 1], labels) of one kind: strokes, segments, fonts."""
    draw = {"strokes": lambda label, rng: render_stroke_digit(label, rng),
            "segments": lambda label, rng: render_segment_digit(label, rng),
            "fonts": font_digit}
    if kind not in draw:
        raise ValueError(f"unknown writer set {kind!r}; choose one of {sorted(draw)}")
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    labels = np.arange(count) % 10
    return np.stack([draw[kind](int(label), rng) for label in labels]), labels.astype(np.int64)


def writer_sets(count: int = 1000) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every writer set, by kind."""
    return {kind: writer_set(kind, count) for kind in KINDS}


def writer_accuracies(predict, sets: dict | None = None) -> dict[str, float]:
    """Accuracy of predict (float32 (N, 28, 28) in [0, 1] -> probabilities) on each writer set
    (the given sets, else writer_sets())."""
    sets = sets if sets is not None else writer_sets()
    return {kind: float((np.argmax(predict(images), axis=1) == labels).mean())
            for kind, (images, labels) in sets.items()}
