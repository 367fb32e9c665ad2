"""Benchmark training: `fast` over several seeds against the keras-io simple MNIST convnet.

Prints JSON (and writes bench/results/train.json): per run the wall time and MNIST test
accuracy, mean ± std per architecture, and the time ratio to the keras-io settings.
Run by hand or with `make bench`: `python bench/train.py --arch fast --seeds 3`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from digitlab.data import load_mnist  # noqa: E402
from digitlab.evaluate import mean_and_std  # noqa: E402
from digitlab.train import TrainConfig, train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "train.json"


def keras_io_simple_convnet(mnist, epochs: int, seed: int) -> dict:
    """The keras-io "Simple MNIST convnet" example, as published (batch 128, Adam, 10 % validation)."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = mnist
    x_train = x_train[..., None].astype("float32") / 255
    x_test = x_test[..., None].astype("float32") / 255
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=0)
    seconds = time.perf_counter() - started
    return {"seed": seed, "seconds": round(seconds, 1), "epochs": epochs,
            "test_accuracy": float(model.evaluate(x_test, y_test, verbose=0)[1])}


def digitlab_run(mnist, arch: str, epochs: int, batch_size: int, learning_rate: float, seed: int,
                 augment: bool) -> dict:
    """One digitlab training run, timed end to end (pipeline, fit, evaluation)."""
    config = TrainConfig(arch=arch, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         augment=augment, seed=seed, early_stopping_patience=None, verbose=0)
    started = time.perf_counter()
    result = train(config, mnist=mnist)
    wall = time.perf_counter() - started
    return {"seed": seed, "seconds": round(wall, 1), "fit_seconds": round(result.seconds, 1),
            "epochs": epochs, "val_accuracy": result.val_accuracy, "test_accuracy": result.test_accuracy}


def summarise(runs: list[dict]) -> dict:
    """Mean ± std of accuracy and time over seeds."""
    accuracy_mean, accuracy_std = mean_and_std(run["test_accuracy"] for run in runs)
    seconds_mean, seconds_std = mean_and_std(run["seconds"] for run in runs)
    return {"runs": runs, "test_accuracy_mean": accuracy_mean, "test_accuracy_std": accuracy_std,
            "seconds_mean": seconds_mean, "seconds_std": seconds_std}


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="fast")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    # the fast recipe: large batches (per-step cost dominates on two CPU cores), no augmentation
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=6e-3)
    parser.add_argument("--augment", action="store_true", help="turn augmentation on")
    parser.add_argument("--keras-io-epochs", type=int, default=15, help="0 skips the comparison")
    arguments = parser.parse_args()
    mnist = load_mnist()
    report = {"machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0]},
              "settings": vars(arguments), "architectures": {}}
    runs = [digitlab_run(mnist, arguments.arch, arguments.epochs, arguments.batch_size,
                         arguments.learning_rate, seed, arguments.augment)
            for seed in range(arguments.seeds)]
    report["architectures"][arguments.arch] = summarise(runs)
    if arguments.keras_io_epochs:
        reference = summarise([keras_io_simple_convnet(mnist, arguments.keras_io_epochs, seed=0)])
        report["architectures"]["keras_io_simple_convnet"] = reference
        ours = report["architectures"][arguments.arch]
        report["time_ratio_keras_io_over_ours"] = round(reference["seconds_mean"] / ours["seconds_mean"], 2)
        report["accuracy_gap_points"] = round(
            100 * (ours["test_accuracy_mean"] - reference["test_accuracy_mean"]), 3)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
