"""Which pixels a prediction rests on: occlusion saliency (Zeiler & Fergus 2014).

Cover the image with a blank patch at every position and see how much the probability of the
digit in question falls; pixels whose covering costs most are what the model looked at. It
needs only the model's probabilities (any backend: LiteRT, Keras, a Predictor), no gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PATCH = 6  # pixels; a stroke is about 2-3 px wide, a digit's part about 6
STRIDE = 2


def occlusion_map(probabilities: Callable[[np.ndarray], np.ndarray], image28: np.ndarray,
                  target: int | None = None, patch: int = PATCH,
                  stride: int = STRIDE) -> tuple[np.ndarray, int]:
    """(28x28 map of the probability lost when each pixel is covered, the digit explained).

    probabilities maps a float32 (N, 28, 28, 1) batch to (N, 10); target defaults to the
    predicted digit. Each pixel gets the mean loss of the patches covering it.
    """
    image = np.asarray(image28, np.float32).reshape(28, 28)
    if image.max() > 1.0 + 1e-6:
        image = image / 255.0
    if not 1 <= patch <= 28 or stride < 1:
        raise ValueError(f"patch must be 1-28 pixels and stride positive, got {patch}, {stride}")
    base = np.asarray(probabilities(image[None, ..., None]))[0]
    target = int(np.argmax(base)) if target is None else int(target)
    corners = [(top, left) for top in range(0, 28 - patch + 1, stride)
               for left in range(0, 28 - patch + 1, stride)]
    covered = np.repeat(image[None], len(corners), axis=0)
    for index, (top, left) in enumerate(corners):
        covered[index, top:top + patch, left:left + patch] = 0.0
    lost = base[target] - np.asarray(probabilities(covered[..., None]))[:, target]
    total, count = np.zeros((28, 28)), np.zeros((28, 28))
    for (top, left), value in zip(corners, lost):
        total[top:top + patch, left:left + patch] += value
        count[top:top + patch, left:left + patch] += 1
    return (total / np.maximum(count, 1)).astype(np.float32), target


def heat_image(image28: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """The digit in grey with what its prediction rests on in red: float32 (28, 28, 3) in
    [0, 1], channels blue-green-red as OpenCV writes them (the app shows it beside the input)."""
    ink = 0.6 * np.clip(np.asarray(image28, np.float32).reshape(28, 28), 0.0, 1.0)
    weight = np.clip(np.asarray(saliency, np.float32) / max(float(np.max(saliency)), 1e-6), 0, 1)
    grey = ink * (1.0 - weight)
    return np.stack([grey, grey, ink + weight * (1.0 - ink)], axis=-1)
