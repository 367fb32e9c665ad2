"""Benchmark reading numbers in photos: digitlab's line reader, its cut-first path, and the peers.

Prints JSON and writes bench/results/read.json. `python bench/read.py [--count 200] [--peer-count 100]`.
Scenes are MNIST **test** digits (which no model trained on) drawn as dark ink on paper by
`digitlab.synthetic.paper_frame`, a generator the reader never trained on (its lines come from
`digitlab.linesynth`); a touching scene counts only when its ink forms one connected blob.
`mixed_2_6` are 640x480 photos of 2-6 digit numbers whose gaps mix touching, tight and wide, with
uneven light; `ruled_paper` puts 2-5 digit numbers on ruled or squared exercise-book paper and
`underlined_boxed` underlines them or draws a box around them; `sheet_on_desk` lays the sheet
turned on a desk, its edges in the frame (`digitlab.sheet_photos`); `other_hands` writes numbers in
two styles that are not MNIST's; `single_digit` photos hold one digit (read by the digit model
once the reader finds one digit). The peers, RapidOCR and Tesseract, read the same photos in the
same run (`bash scripts/ensure-bench-peers.sh` installs them; without them their rows say so).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digitlab.data import load_mnist  # noqa: E402
from digitlab.predict import Predictor  # noqa: E402
from digitlab.sheet_photos import on_desk  # noqa: E402
from digitlab.synthetic import (  # noqa: E402
    box_overlap,
    ink_is_one_blob,
    paper_frame,
    render_segment_digit,
    render_stroke_digit,
)

RESULTS = Path(__file__).resolve().parent / "results" / "read.json"


def fixed_scenes(images, labels, count: int, digits: int, gap, touching: bool, seed: int) -> list:
    """`count` photos of `digits` digits with gaps drawn from `gap`: (frame, text, boxes, touching)."""
    rng = np.random.default_rng(seed)
    made = []
    while len(made) < count:
        chosen = rng.choice(len(images), digits, replace=False)
        frame, boxes = paper_frame(list(images[chosen]), gap=gap, shadow=False, rng=rng)
        if touching and not ink_is_one_blob(frame):
            continue
        made.append((frame, "".join(str(labels[i]) for i in chosen), boxes, touching))
    return made


def mixed_gaps(count: int, rng) -> list[float]:
    """Gaps between digits: touching, tight or wide, drawn per gap."""
    kinds = rng.choice(3, count, p=[0.4, 0.3, 0.3])
    ranges = [(-0.2, -0.05), (0.0, 0.15), (0.2, 0.8)]
    return [float(rng.uniform(*ranges[kind])) for kind in kinds]


def mixed_scenes(images, labels, count: int, seed: int, draw=None) -> list:
    """640x480 photos of 2-6 digit numbers with mixed gaps, light and size."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        length = int(rng.integers(2, 7))
        chosen = rng.choice(len(images), length, replace=False)
        digits = [draw(int(labels[i]), rng) for i in chosen] if draw else list(images[chosen])
        gaps = mixed_gaps(length - 1, rng)
        frame, boxes = paper_frame(digits, digit_height=rng.uniform(0.12, 0.35) * 480,
                                   noise=rng.uniform(0.01, 0.05), shadow=True, gaps=gaps,
                                   specks=int(rng.integers(0, 5)), rng=rng)
        made.append((frame, "".join(str(labels[i]) for i in chosen), boxes, min(gaps) < 0))
    return made


def paper_scenes(images, labels, count: int, seed: int, marked: bool) -> list:
    """640x480 photos of 2-5 digit numbers on ruled or squared exercise-book paper (blue or grey
    rules), or, when marked, underlined or boxed in pen on plain paper."""
    rng = np.random.default_rng(seed)
    made = []
    for index in range(count):
        chosen = rng.choice(len(images), int(rng.integers(2, 6)), replace=False)
        paper = ({"drawn": ("underline", "box")[index % 2]} if marked else
                 {"rules": ("ruled", "squared")[index % 2],
                  "rule_bgr": (0.86, 0.75, 0.62) if rng.random() < 0.5 else (0.6, 0.6, 0.6)})
        frame, boxes = paper_frame(list(images[chosen]), digit_height=rng.uniform(0.12, 0.3) * 480,
                                   gap=(0.05, 0.5), rng=rng, **paper)
        made.append((frame, "".join(str(labels[i]) for i in chosen), boxes, False))
    return made


def desk_scenes(images, labels, count: int, seed: int) -> list:
    """640x480 photos of 2-5 digit numbers on a sheet lying turned on a desk (dark wood to
    white, its grain and the sheet's shadow), the sheet's edges in the frame."""
    rng = np.random.default_rng(seed)
    made = []
    while len(made) < count:
        chosen = rng.choice(len(images), int(rng.integers(2, 6)), replace=False)
        frame, boxes = paper_frame(list(images[chosen]), digit_height=rng.uniform(0.1, 0.3) * 480,
                                   gap=(0.05, 0.5), rng=rng)
        photo = on_desk(frame, boxes, rng)
        if photo is not None:
            made.append((photo, "".join(str(labels[i]) for i in chosen), boxes, False))
    return made


def read_scenes(predictor, made, misread: list | None = None) -> dict:
    """Share of photos read exactly, boxes split right, and p50/p95 ms per photo; misread, when
    given, collects (index, truth, text read) of each photo read wrong."""
    text_right = split_right = marked = 0
    timings = []
    right_touching = []
    for index, (frame, text, boxes, touching) in enumerate(made):
        started = time.perf_counter()
        reading = predictor.read(frame)
        timings.append((time.perf_counter() - started) * 1000)
        if misread is not None and reading.text != text:
            misread.append((index, text, reading.text))
        found = [digit.box for digit in reading.digits]
        split_right += len(found) == len(boxes) and all(
            box_overlap(f, t) > 0.5 for f, t in zip(found, boxes))
        text_right += reading.text == text
        marked += reading.marks > 0
        if touching:
            right_touching.append(reading.text == text)
    report = {"text_right": round(text_right / len(made), 3),
              "split_right": round(split_right / len(made), 3),
              "read_p50_ms": round(float(np.percentile(timings, 50)), 2),
              "read_p95_ms": round(float(np.percentile(timings, 95)), 2),
              "left_out_as_marks": round(marked / len(made), 3)}
    if right_touching and len(right_touching) < len(made):
        report["touching_text_right"] = round(float(np.mean(right_touching)), 3)
    return report


def peer_rows(made, peer_count: int) -> dict:
    """Each peer's exact reads (all and touching photos) and ms per photo, on the first photos."""
    from peers import available_peers, peer_report

    subset = made[:peer_count]
    rows = {}
    for peer in available_peers():
        row = peer_report(peer, [frame for frame, *_ in subset], [text for _, text, *_ in subset])
        texts = row.pop("texts", None)
        touching = [text == truth for text, (_, truth, _, touch) in zip(texts or [], subset) if touch]
        if touching and len(touching) < len(subset):
            row["touching_text_right"] = round(float(np.mean(touching)), 3)
        rows[peer.name] = row
    return rows


def main() -> None:
    """Read every scene kind with each reader and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("--reader", default="reader")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--peer-count", type=int, default=100, help="photos per scene for the peers")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--scenes", help="comma-separated scene names (printed, not saved)")
    arguments = parser.parse_args()
    readers = {"digitlab": Predictor.load(arguments.model, reader=arguments.reader),
               "digitlab_cut_first": Predictor.load(arguments.model, reader=None)}
    (_, _), (images, labels) = load_mnist()
    count = arguments.count
    scenes = {
        "single_digit": lambda *data: fixed_scenes(*data, 1, (0.2, 0.6), False, 5),
        "separate_4": lambda *data: fixed_scenes(*data, 4, (0.2, 0.6), False, 0),
        "touching_pairs": lambda *data: fixed_scenes(*data, 2, -0.1, True, 1),
        "touching_3": lambda *data: fixed_scenes(*data, 3, -0.1, True, 2),
        "mixed_2_6": lambda *data: mixed_scenes(*data, 3),
        "ruled_paper": lambda *data: paper_scenes(*data, 6, marked=False),
        "underlined_boxed": lambda *data: paper_scenes(*data, 7, marked=True),
        "sheet_on_desk": lambda *data: desk_scenes(*data, 8),
        "other_hands": lambda images, labels, count: mixed_scenes(
            images, labels, count // 2, 4, draw=lambda label, rng: (
                render_stroke_digit(label, rng) if rng.random() < 0.5 else render_segment_digit(label, rng))),
    }
    chosen = arguments.scenes.split(",") if arguments.scenes else list(scenes)
    unknown = sorted(set(chosen) - set(scenes))
    if unknown:
        parser.error(f"unknown scenes {unknown}; choose from {sorted(scenes)}")
    report = {"model": readers["digitlab"].model_id,
              "reader": getattr(readers["digitlab"].reader, "model_id", None), "scenes": {}}
    for name in chosen:
        made = scenes[name](images, labels, count)
        row = {"photos": len(made)}
        for reader_name, predictor in readers.items():
            row[reader_name] = read_scenes(predictor, made)
        if not arguments.no_peers:
            row.update(peer_rows(made, arguments.peer_count))
        report["scenes"][name] = row
        print(name, json.dumps(row), flush=True, file=sys.stderr)
    print(json.dumps(report, indent=2))
    if arguments.scenes:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
