"""Validation photos for choosing how numbers are read: never MNIST test, never bench/read.py's numbers.

`python bench/read_validation.py [--count 200] [--dump runs/read-validation]` prints JSON.
The photos are bench/read.py's scene kinds made from digits no served model trained on and that
MNIST test does not hold: the line reader's held-out MNIST **train** digits (its card's validation
split), the same digits redrawn along their skeleton with an even pen (`digitlab.pen`), and the
`digitlab.writers` hands (fonts, continental strokes, seven-segment), and digits in eleven fonts
made from people's handwriting (`handfonts`, Debian packages `make bench-peers` installs; left
out with a message where they are missing). A change to the reading
path is chosen on these; bench/read.py measures it afterwards. --dump writes each misread photo
as PNG, named by scene, index, truth and reading.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from handfonts import handwriting_font_set  # noqa: E402
from read import fixed_scenes, mixed_scenes, read_scenes  # noqa: E402

from digitlab.data import load_mnist, split_validation_indices  # noqa: E402
from digitlab.pen import pen_redraw  # noqa: E402
from digitlab.predict import Predictor, read_card, resolve_model  # noqa: E402
from digitlab.writers import writer_set  # noqa: E402


def held_out_digits(reader_spec: str) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST train digits the reader's card held out for validation."""
    path, _, _ = resolve_model(reader_spec)
    config = read_card(path).get("config", {})
    (images, labels), _ = load_mnist()
    chosen = split_validation_indices(len(images), config)
    if not len(chosen):
        raise ValueError(f"{reader_spec} has no validation split in its card")
    return images[chosen], labels[chosen]


def pen_digits(images: np.ndarray, seed: int = 11) -> np.ndarray:
    """MNIST digits redrawn along their skeleton with a pen 1-3 px wide (of 28), as uint8."""
    rng = np.random.default_rng(seed)
    widths = rng.uniform(1.0, 3.0, len(images))
    return np.stack([np.rint(255 * pen_redraw(image / 255.0, width)).astype(np.uint8)
                     for image, width in zip(images, widths)])


def writer_digits(kind: str, count: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """A `digitlab.writers` set as uint8 28x28 digits."""
    images, labels = writer_set(kind, count)
    return np.rint(255 * images).astype(np.uint8), labels


def dump_misread(made, misread: list, folder: Path, scene: str) -> None:
    """Write the photos of `made` that `read_scenes` listed as misread, named by what was read."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, text, read_text in misread:
        cv2.imwrite(str(folder / f"{scene}-{index:03d}-{text}-read-{read_text or 'none'}.png"), made[index][0])


def main() -> None:
    """Read every validation scene and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("--reader", default="reader")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--scenes", help="comma-separated scene names")
    parser.add_argument("--dump", type=Path, help="folder for misread photos")
    arguments = parser.parse_args()
    predictor = Predictor.load(arguments.model, reader=arguments.reader)
    images, labels = held_out_digits(arguments.reader)
    pen = pen_digits(images[:4000])
    count = arguments.count
    sources = {"mnist": (images, labels), "pen": (pen, labels[:4000]),
               "fonts": writer_digits("fonts"), "strokes": writer_digits("strokes"),
               "segments": writer_digits("segments")}
    try:
        sources["handfonts"] = handwriting_font_set()
    except FileNotFoundError as error:
        print(f"read_validation: {error}; the handfonts scenes are left out", file=sys.stderr)
    scenes = {}
    for source, (digits, digit_labels) in sources.items():
        scenes[f"{source}_mixed"] = lambda drawn=digits, truth=digit_labels: mixed_scenes(
            drawn, truth, count, 103)
        scenes[f"{source}_separate_4"] = lambda drawn=digits, truth=digit_labels: fixed_scenes(
            drawn, truth, count // 2, 4, (0.2, 0.6), False, 100)
    scenes["mnist_touching_3"] = lambda: fixed_scenes(images, labels, count, 3, -0.1, True, 102)
    chosen = arguments.scenes.split(",") if arguments.scenes else list(scenes)
    unknown = sorted(set(chosen) - set(scenes))
    if unknown:
        parser.error(f"unknown scenes {unknown}; choose from {sorted(scenes)}")
    report = {"model": predictor.model_id, "reader": predictor.reader.model_id, "scenes": {}}
    for name in chosen:
        made = scenes[name]()
        misread: list = []
        row = {"photos": len(made), **read_scenes(predictor, made, misread)}
        if arguments.dump:
            dump_misread(made, misread, arguments.dump, name)
        report["scenes"][name] = row
        print(name, json.dumps(row), flush=True, file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
