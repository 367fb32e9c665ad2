"""Digits in fonts made from people's handwriting (Debian packages), as MNIST-style 28x28 images.

Eleven faces of six hands no digitlab model trained on: the six "Because We Had To" project
hands (`fonts-bwht`), Daniel Kahn Gillmor's (`fonts-dkg-handwriting`), Breip, Humor Sans,
Dancing Script and Comic Neue. Each digit is drawn at a random size, slant, turn and stroke
weight, then goes through `to_mnist` as a photo's digit would. `make bench-peers` installs them.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from digitlab.preprocess import to_mnist

FONT_FILES = ("opentype/bwht/BecauseWeBuild-Regular.otf", "opentype/bwht/BecauseWeConnect-Regular.otf",
              "opentype/bwht/BecauseWeCreate-Regular.otf", "opentype/bwht/BecauseWeLearn-Regular.otf",
              "opentype/bwht/BecauseWeMentor-Regular.otf", "opentype/bwht/BecauseWeOrganize-Regular.otf",
              "truetype/fifthhorseman/dkg.ttf", "truetype/breip/Breip.ttf",
              "truetype/humor-sans/Humor-Sans.ttf", "opentype/dancingscript/DancingScript-Regular.otf",
              "opentype/comic-neue/ComicNeue-Regular.otf")
FONTS_ROOT = Path("/usr/share/fonts")
CANVAS = 200


def font_paths() -> list[Path]:
    """The handwriting fonts installed here, or a clear error naming the packages."""
    paths = [FONTS_ROOT / name for name in FONT_FILES if (FONTS_ROOT / name).exists()]
    if not paths:
        raise FileNotFoundError("no handwriting fonts: run `make bench-peers` (apt install fonts-bwht "
                                "fonts-dkg-handwriting fonts-breip fonts-humor-sans "
                                "fonts-dancingscript fonts-comic-neue)")
    return paths


def handwriting_font_digit(label: int, font_path: Path, rng: np.random.Generator) -> np.ndarray:
    """One digit in a handwriting font, turned, slanted and thinned or thickened, as uint8 28x28."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), int(rng.integers(90, 140)))
    image = Image.new("L", (CANVAS, CANVAS), 255)
    ImageDraw.Draw(image).text((CANVAS // 2, CANVAS // 2), str(label), font=font, fill=0, anchor="mm")
    ink = 255 - np.asarray(image, np.uint8)
    weight = int(rng.integers(-1, 3))  # thinner, as drawn, or a broader pen
    if weight:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(weight) + 1,) * 2)
        ink = cv2.dilate(ink, kernel) if weight > 0 else cv2.erode(ink, kernel)
    turn = cv2.getRotationMatrix2D((CANVAS / 2, CANVAS / 2), rng.uniform(-10, 10), 1.0)
    turn[0, 1] += rng.uniform(-0.25, 0.25)  # slant
    ink = cv2.warpAffine(ink, turn, (CANVAS, CANVAS))
    return np.rint(255 * to_mnist(255 - ink)).astype(np.uint8)


def handwriting_font_set(count: int = 2000, seed: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """`count` labelled digits (uint8 (N, 28, 28), labels), fonts and labels drawn evenly at random."""
    paths = font_paths()
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    fonts = rng.integers(0, len(paths), count)
    images = np.stack([handwriting_font_digit(int(label), paths[int(font)], rng)
                       for label, font in zip(labels, fonts)])
    return images, labels
