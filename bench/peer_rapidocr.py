"""Read digit images with RapidOCR and print one JSON object; runs inside bench/.venv-peers.

`bench/.venv-peers/bin/python bench/peer_rapidocr.py images.npz` where the npz holds uint8 BGR
(or grayscale) images under the keys image_0 .. image_{N-1}. Prints
{"engine": "rapidocr_onnxruntime <version>", "results": [{"text": "123", "seconds": 0.05}, ...]};
text keeps digits only, boxes joined top-to-bottom, then left-to-right within a line.
Kept apart from the main venv: RapidOCR needs opencv-python, which clashes with digitlab's headless cv2.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version

import numpy as np


def load_images(path: str) -> list[np.ndarray]:
    """The images of an npz saved with keys image_0 .. image_{N-1}, in index order, as BGR."""
    with np.load(path, allow_pickle=False) as archive:
        keys = sorted((key for key in archive.files if key.startswith("image_")),
                      key=lambda key: int(key.split("_", 1)[1]))
        images = [np.ascontiguousarray(archive[key], dtype=np.uint8) for key in keys]
    return [np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
            for image in images]


def reading_order(result) -> list[str]:
    """Texts of RapidOCR's [box, text, score] entries, lines top-to-bottom, each left-to-right."""
    entries = []
    for box, text, _score in result or []:
        points = np.asarray(box, dtype=np.float32)
        entries.append((points[:, 1].min(), points[:, 1].max(), points[:, 0].min(), text))
    entries.sort(key=lambda entry: (entry[0] + entry[1]) / 2)
    lines: list[list[tuple]] = []
    for entry in entries:
        middle = (entry[0] + entry[1]) / 2
        if lines and middle <= max(other[1] for other in lines[-1]):
            lines[-1].append(entry)
        else:
            lines.append([entry])
    return [entry[3] for line in lines for entry in sorted(line, key=lambda entry: entry[2])]


def digits_only(text: str) -> str:
    """The ASCII digits of text, in order."""
    return "".join(character for character in text if character in "0123456789")


def main() -> None:
    """Load the images, warm RapidOCR up once, then read and time each image."""
    if len(sys.argv) != 2:
        sys.exit("usage: peer_rapidocr.py images.npz")
    images = load_images(sys.argv[1])
    output, sys.stdout = sys.stdout, sys.stderr  # keep stdout for the JSON alone
    from rapidocr_onnxruntime import RapidOCR  # only this venv has it

    engine = RapidOCR()
    if images:
        engine(images[0])  # warm-up: first call loads and optimises the ONNX sessions
    results = []
    for image in images:
        started = time.perf_counter()
        result, _elapsed = engine(image)
        seconds = time.perf_counter() - started
        results.append({"text": digits_only("".join(reading_order(result))),
                        "seconds": round(seconds, 6)})
    engine_name = (f"rapidocr_onnxruntime {version('rapidocr_onnxruntime')}"
                   f" (onnxruntime {version('onnxruntime')})")
    output.write(json.dumps({"engine": engine_name, "results": results}) + "\n")


if __name__ == "__main__":
    main()
