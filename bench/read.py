"""Benchmark reading scenes: separate digits, touching pairs and touching 3-digit numbers.

Prints JSON and writes bench/results/read.json. `python bench/read.py [--count 300]`.
Scenes are MNIST test digits drawn as dark ink on paper (`digitlab.synthetic.paper_frame`);
a touching scene counts only when its ink really forms one connected blob.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from digitlab.data import load_mnist
from digitlab.predict import Predictor
from digitlab.synthetic import box_overlap, ink_is_one_blob, paper_frame

RESULTS = Path(__file__).resolve().parent / "results" / "read.json"


def run_scenes(predictor, images, labels, count: int, digits: int, gap, touching: bool,
               seed: int) -> dict:
    """Read `count` scenes of `digits` digits; share split right (boxes) and read right (text)."""
    rng = np.random.default_rng(seed)
    split_right = text_right = done = 0
    timings = []
    while done < count:
        chosen = rng.choice(len(images), digits, replace=False)
        frame, boxes = paper_frame(list(images[chosen]), gap=gap, shadow=False, rng=rng)
        if touching and not ink_is_one_blob(frame):
            continue
        started = time.perf_counter()
        reading = predictor.read(frame)
        timings.append((time.perf_counter() - started) * 1000)
        found = [digit.box for digit in reading.digits]
        split_right += len(found) == digits and all(
            box_overlap(f, t) > 0.5 for f, t in zip(found, boxes))
        text_right += reading.text == "".join(str(labels[i]) for i in chosen)
        done += 1
    return {"scenes": count, "digits": digits, "split_right": round(split_right / count, 3),
            "text_right": round(text_right / count, 3),
            "read_p50_ms": round(float(np.percentile(timings, 50)), 2)}


def main() -> None:
    """Run the three scene kinds and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("--count", type=int, default=200)
    arguments = parser.parse_args()
    predictor = Predictor.load(arguments.model)
    (_, _), (images, labels) = load_mnist()
    report = {"model": predictor.model_id, "scenes": {
        "separate_4": run_scenes(predictor, images, labels, arguments.count, 4, (0.2, 0.6), False, 0),
        "touching_pairs": run_scenes(predictor, images, labels, arguments.count, 2, -0.1, True, 1),
        "touching_3": run_scenes(predictor, images, labels, arguments.count, 3, -0.1, True, 2),
    }}
    print(json.dumps(report, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
