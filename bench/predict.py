"""Benchmark the predictor: latency, throughput, canvas path and accuracy, against model.predict.

Prints JSON and writes bench/results/predict.json. `python bench/predict.py [--model digits]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from digitlab.data import load_mnist
from digitlab.predict import Predictor
from digitlab.preprocess import to_mnist
from digitlab.synthetic import canvas_from_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "predict.json"

RSS_PROBE = """
import sys, cv2, numpy as np
from digitlab.predict import Predictor
predictor = Predictor.load(sys.argv[1])
canvas = np.full((280, 280), 255, np.uint8)
cv2.ellipse(canvas, (140, 140), (60, 95), 0, 0, 360, 0, 18)  # a drawn zero
predictor.predict_one(canvas)
peak_kib = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(int(peak_kib) / 1024, 'tensorflow' in sys.modules)  # ru_maxrss would carry the parent's peak over exec
"""


def percentiles(milliseconds: list[float]) -> dict:
    """p50, p95, p99 and mean of a list of timings in ms."""
    values = np.asarray(milliseconds)
    return {"p50_ms": round(float(np.percentile(values, 50)), 3),
            "p95_ms": round(float(np.percentile(values, 95)), 3),
            "p99_ms": round(float(np.percentile(values, 99)), 3),
            "mean_ms": round(float(values.mean()), 3), "runs": len(values)}


def time_calls(function, arguments: list, repeat: int = 1) -> list[float]:
    """Wall time of each call in ms."""
    timings = []
    for argument in arguments:
        for _ in range(repeat):
            started = time.perf_counter()
            function(argument)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def canvases(images: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """MNIST digits re-drawn as 280x280 canvases: upscaled, thickened, off-centre."""
    rng = np.random.default_rng(seed)
    return [canvas_from_mnist(image, size=280, thickness=int(rng.integers(0, 10)),
                              offset=(int(rng.integers(-50, 50)), int(rng.integers(-50, 50))))
            for image in images]


def main() -> None:
    """Run every measurement and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("--accuracy-count", type=int, default=10000)
    parser.add_argument("--compare", default="digits@1", metavar="MODEL[+REJECTOR]",
                        help="also time this model in the same run (default digits@1 with its "
                             "own fused rejector notdigit@1; '' for none)")
    arguments = parser.parse_args()
    (_, _), (x_test, y_test) = load_mnist()
    predictor = Predictor.load(arguments.model)
    prepared = x_test.astype(np.float32) / 255.0
    report = {"model": predictor.model_id, "backend": type(predictor.backend).__name__,
              "rejector": predictor.rejector.model_id if predictor.rejector else None}

    for image in prepared[:200]:  # warm-up
        predictor.predict_one(image)
    report["single_image"] = percentiles(time_calls(predictor.predict_one, list(prepared[:3000])))
    if predictor.rejector is not None:  # what "not a digit" costs: the same without it
        plain = Predictor.load(arguments.model, rejector=None)
        report["single_image_without_rejector"] = percentiles(
            time_calls(plain.predict_one, list(prepared[:3000])))
    batches = [prepared[i:i + 256] for i in range(0, 256 * 20, 256)]
    started = time.perf_counter()
    for batch in batches:
        predictor.predict(batch)
    report["batch_256_images_per_second"] = round(256 * len(batches) / (time.perf_counter() - started))
    if predictor.rejector is not None:
        started = time.perf_counter()
        for batch in batches:
            plain.predict(batch)
        report["batch_256_images_per_second_without_rejector"] = round(
            256 * len(batches) / (time.perf_counter() - started))

    if arguments.compare:  # the same timings for another model, on this machine at this moment
        spec, _, rejector = (arguments.compare + ("+notdigit@1" if "+" not in arguments.compare
                                                   and arguments.compare == "digits@1" else "")
                             ).partition("+")
        other = Predictor.load(spec, rejector=rejector or None)
        started = time.perf_counter()
        for batch in batches:
            other.predict(batch)
        report["same_run_comparison"] = {
            "model": other.model_id, "rejector": other.rejector.model_id if other.rejector else None,
            "single_image": percentiles(time_calls(other.predict_one, list(prepared[:3000]))),
            "batch_256_images_per_second": round(256 * len(batches) / (time.perf_counter() - started))}

    drawn = canvases(x_test[:1000])
    report["canvas_280_preprocess_and_predict"] = percentiles(time_calls(predictor.predict_one, drawn))
    report["canvas_280_preprocess_only"] = percentiles(time_calls(to_mnist, drawn))

    count = arguments.accuracy_count
    plain = float((predictor.probabilities(prepared[:count]).argmax(1) == y_test[:count]).mean())
    redrawn = np.stack([to_mnist(canvas) for canvas in canvases(x_test[:count], seed=1)])
    canvas_accuracy = float((predictor.probabilities(redrawn).argmax(1) == y_test[:count]).mean())
    report["accuracy"] = {"plain_mnist": plain, "redrawn_canvas_280": canvas_accuracy,
                          "gap_points": round(100 * (plain - canvas_accuracy), 3), "count": count}

    from digitlab.predict import load_keras  # the baseline: what the reference projects do

    model = load_keras(arguments.model)[0]
    model.predict(prepared[:1, ..., None], verbose=0)
    baseline = percentiles(time_calls(lambda image: model.predict(image[None, ..., None], verbose=0),
                                      list(prepared[:100])))
    started = time.perf_counter()
    for batch in batches[:5]:
        model.predict(batch[..., None], batch_size=256, verbose=0)
    baseline_throughput = round(256 * 5 / (time.perf_counter() - started))
    report["model_predict_baseline"] = {"single_image": baseline,
                                        "batch_256_images_per_second": baseline_throughput}
    report["speedup_single_p50"] = round(baseline["p50_ms"] / report["single_image"]["p50_ms"], 1)
    report["speedup_batch"] = round(report["batch_256_images_per_second"] / baseline_throughput, 2)

    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, arguments.model], capture_output=True,
                           text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if probe.returncode != 0:
        raise RuntimeError(f"RSS probe failed: {probe.stderr[-2000:]}")
    rss, imported_tensorflow = probe.stdout.split()
    report["predictor_process"] = {"max_rss_mib": round(float(rss)), "imports_tensorflow": imported_tensorflow == "True"}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
