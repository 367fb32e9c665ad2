"""Benchmark retraining: 200 corrected samples of a style MNIST misses, then a fine-tune job.

The style is seven-segment "blocky" handwriting (`digitlab.synthetic.render_segment_digit`).
The committed default model is copied into a temporary registry, 200 corrections go into a
temporary sample store, and `digitlab.retrain.retrain` fine-tunes with an MNIST replay and
applies the promotion gate (on the base model's MNIST validation split, kept out of the replay).
Accuracy on the style is measured on 1000 fresh drawings of it (and on the store's holdout);
MNIST test is measured before and after, as a measurement the gate never sees. Prints JSON and
writes bench/results/retrain.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from digitlab.data import load_mnist
from digitlab.evaluate import accuracy
from digitlab.predict import Predictor
from digitlab.registry import Registry
from digitlab.retrain import RetrainOptions, retrain
from digitlab.store import SampleStore
from digitlab.synthetic import render_segment_digit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "retrain.json"


def style_set(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` drawings in the style, the digits cycling 0-9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    return np.stack([render_segment_digit(int(label), rng) for label in labels]), labels


def main() -> None:
    """Run the scenario and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    arguments = parser.parse_args()
    mnist = load_mnist()
    _, (x_test, y_test) = mnist
    with tempfile.TemporaryDirectory(prefix="digitlab-bench-") as temp:
        models = Path(temp) / "models"
        shutil.copytree(ROOT / "models" / "digits" / "1", models / "digits" / "1")
        registry = Registry(models)
        store = SampleStore(Path(temp) / "samples.sqlite")
        before_model = Predictor.load(models / "digits" / "1")
        corrections, labels = style_set(arguments.samples, seed=1)
        for image, label in zip(corrections, labels):
            prediction = before_model.predict_one(image)
            store.add(image, int(label), "correction", predicted=prediction.digit,
                      confidence=prediction.confidence, model_version="digits@1")
        fresh_x, fresh_y = style_set(1000, seed=2)
        before_style = accuracy(before_model, fresh_x, fresh_y)
        started = time.perf_counter()
        options = RetrainOptions(mode="finetune", epochs=arguments.epochs, plots=False)
        report = retrain(options, store=store, registry=registry, mnist=mnist)
        job_seconds = time.perf_counter() - started
        after_model = Predictor.load(models / "digits" / str(report["version"]))
        after_style = accuracy(after_model, fresh_x, fresh_y)
        result = {
            "samples": report["samples"],
            "style_accuracy_1000_fresh": {"before": before_style, "after": after_style,
                                          "gain_points": round(100 * (after_style - before_style), 2)},
            "store_holdout": {"before": report["before"]["holdout"], "after": report["after"]["holdout"]},
            "base_validation": {"before": report["before"]["base_validation"],  # the gate's split
                                "after": report["after"]["base_validation"],
                                "count": report["after"]["validation_count"]},
            "mnist_test": {"before": accuracy(before_model, x_test, y_test),  # measured, not gated
                           "after": accuracy(after_model, x_test, y_test)},
            "promoted": report["promoted"], "gate_reason": report["reason"],
            "job_seconds": round(job_seconds, 1),
        }
        result["mnist_test"]["drop_points"] = round(
            100 * (result["mnist_test"]["before"] - result["mnist_test"]["after"]), 3)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
