"""How other hands differ from MNIST's, on one 28x28 digit in numpy: for the line reader's lines.

The digit model learns these in its tf.data map (`digitlab.augment`, the handwriting recipe); the
line reader composes its lines in worker processes without TensorFlow, so the same four changes
are drawn here with numpy and OpenCV: an elastic wobble, a broken stroke, a coarse scan and faint
ink. Slant, rotation and pen width are the line composer's own (`digitlab.linesynth`).
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 28


def elastic_wobble(ink: np.ndarray, pixels: float, rng) -> np.ndarray:
    """Move pixels along a smooth random field: a 4x4 grid of offsets up to `pixels`, upsampled."""
    grid = rng.uniform(-pixels, pixels, (4, 4, 2)).astype(np.float32)
    field = cv2.resize(grid, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    rows, columns = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    return cv2.remap(ink, columns + field[..., 0], rows + field[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def break_stroke(ink: np.ndarray, rng) -> np.ndarray:
    """Cut a 1-2 px gap along a random line through the middle of the digit."""
    angle = rng.uniform(0.0, np.pi)
    offset, width = rng.uniform(-6.0, 6.0), rng.uniform(0.5, 1.1)
    rows, columns = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    centre = (SIZE - 1.0) / 2.0
    distance = np.abs((columns - centre) * np.cos(angle) + (rows - centre) * np.sin(angle) - offset)
    return ink * np.clip(distance - width + 0.5, 0.0, 1.0)


def coarse_scan(ink: np.ndarray, rng) -> np.ndarray:
    """Down-sample to 10-18 px and back up, as a coarse scan or webcam would."""
    size = int(rng.integers(10, 19))
    small = cv2.resize(ink, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)


def faint_ink(ink: np.ndarray, rng) -> np.ndarray:
    """Lower the ink's peak to 45-100 % and bend its tones (a pale pencil)."""
    return rng.uniform(0.45, 1.0) * np.power(np.clip(ink, 0.0, 1.0), np.exp(rng.uniform(-0.5, 0.5)))


def handwrite(image28: np.ndarray, recipe, rng) -> np.ndarray:
    """One digit (uint8 28x28) changed as the recipe's shares say; unchanged when they are all 0.

    recipe is a `digitlab.linesynth.LineRecipe`; no random number is drawn for a share of 0, so
    a recipe without these changes makes exactly the lines it made before they existed.
    """
    ink = image28.astype(np.float32) / 255.0
    changed = False
    for share, change in ((recipe.elastic_share, lambda x: elastic_wobble(x, recipe.elastic_pixels, rng)),
                          (recipe.broken_share, lambda x: break_stroke(x, rng)),
                          (recipe.coarse_share, lambda x: coarse_scan(x, rng)),
                          (recipe.faint_share, lambda x: faint_ink(x, rng))):
        if share > 0 and rng.random() < share:
            ink, changed = change(ink), True
    if not changed:
        return image28
    if ink.max() <= 0.1:  # a cut that took every stroke: keep the digit as it was
        return image28
    return np.rint(np.clip(ink, 0.0, 1.0) * 255).astype(np.uint8)
