"""Train a named architecture on MNIST (plus optional user samples) with one dataclass config.

Early stopping and model selection look at a validation split carved out of the training
set, never at the test set; the test accuracy is measured once, at the end, for the card.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from digitlab.augment import RECIPES, AugmentConfig, augment_batch  # noqa: E402
from digitlab.data import MnistArrays, content_checksum, load_mnist, validation_split_indices  # noqa: E402
from digitlab.models import build_model  # noqa: E402


@dataclass
class TrainConfig:
    """Everything that decides a training run."""

    arch: str = "default"
    model_options: dict = field(default_factory=dict)
    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 3e-3  # the peak rate for "onecycle" and the start for "cosine"
    schedule: str = "onecycle"  # "onecycle", "cosine" or "constant"
    warmup_fraction: float = 0.25
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    augment: bool = True
    augment_config: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    validation_split: float = 0.1
    train_subset: int | None = None  # use the first N shuffled training images (smoke runs)
    held_out_split: dict | None = None  # another run's split (seed, validation_split,
    # train_subset) whose validation images this run neither trains nor validates on
    test_subset: int | None = None
    early_stopping_patience: int | None = 4
    extra_x: np.ndarray | None = field(default=None, repr=False)  # user samples, (N, 28, 28)
    extra_y: np.ndarray | None = field(default=None, repr=False)
    extra_repeat: int = 1  # how many times the user samples appear per epoch
    initial_model: keras.Model | str | Path | None = field(default=None, repr=False)
    log_dir: Path | None = None  # CSV log (and TensorBoard when tensorboard is True)
    tensorboard: bool = False
    verbose: int = 1

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.schedule not in ("onecycle", "cosine", "constant"):
            raise ValueError(f"schedule must be onecycle, cosine or constant, got {self.schedule!r}")
        if not 0.0 <= self.validation_split < 0.5:
            raise ValueError(f"validation_split must be in [0, 0.5), got {self.validation_split}")
        if (self.extra_x is None) != (self.extra_y is None):
            raise ValueError("extra_x and extra_y must be given together")
        if self.held_out_split is not None and not self.held_out_split.get("validation_split"):
            raise ValueError("held_out_split needs a validation_split above 0 (and its seed and "
                             f"train_subset), got {self.held_out_split!r}")

    @classmethod
    def fine_tune(cls, initial_model, replay_images: int, extra_x, extra_y,
                  **overrides) -> TrainConfig:
        """Fine-tune a trained model on user samples mixed with replay_images MNIST images.

        MNIST's validation share comes out of the subset, so the subset is sized for
        replay_images to remain for training whatever validation_split is; a held_out_split
        override (the base model's) leaves the shuffle before the subset is taken.
        """
        settings = {"epochs": 3, "learning_rate": 3e-4, "schedule": "cosine",
                    "validation_split": 0.1, "early_stopping_patience": None, "extra_repeat": 1,
                    "verbose": 0, **overrides}
        settings["train_subset"] = math.ceil(replay_images / (1.0 - settings["validation_split"]))
        return cls(initial_model=initial_model, extra_x=extra_x, extra_y=extra_y, **settings)

    @classmethod
    def from_samples(cls, extra_x, extra_y, **overrides) -> TrainConfig:
        """A new model trained on user samples alone ("draw ten of each digit"), no MNIST."""
        settings = {"epochs": 15, "learning_rate": 3e-3, "validation_split": 0.0,
                    "train_subset": 0, "early_stopping_patience": None, "extra_repeat": 10,
                    "verbose": 0, **overrides}
        return cls(extra_x=extra_x, extra_y=extra_y, **settings)

    def describe(self) -> dict:
        """A JSON-friendly summary for model cards."""
        summary = {key: value for key, value in asdict(self).items()
                   if key not in ("extra_x", "extra_y", "initial_model", "log_dir")}
        summary["extra_samples"] = 0 if self.extra_x is None else int(len(self.extra_x))
        return summary


@dataclass
class TrainResult:
    """A trained model with what is needed to judge and register it."""

    model: keras.Model
    config: TrainConfig
    history: dict
    val_accuracy: float
    test_accuracy: float
    seconds: float
    epochs_run: int
    data_checksum: str
    validation: tuple = field(default=(), repr=False)  # (x, y) training held out, uint8

    def card(self) -> dict:
        """The model card fields this run knows (the registry adds name and version)."""
        return {
            "arch": self.config.arch,
            "parameters": int(self.model.count_params()),
            "config": self.config.describe(),
            "data": {"mnist_sha256": self.data_checksum},
            "metrics": {"val_accuracy": self.val_accuracy, "mnist_test_accuracy": self.test_accuracy},
            "epochs_run": self.epochs_run,
            "training_seconds": round(self.seconds, 1),
            "trained": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "framework": {"tensorflow": tf.__version__, "keras": keras.__version__},
        }


@keras.saving.register_keras_serializable(package="digitlab")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to the peak rate, then cosine decay to nearly zero."""

    def __init__(self, peak_rate: float, total_steps: int, warmup_fraction: float = 0.25):
        self.peak_rate = peak_rate
        self.total_steps = max(1, total_steps)
        self.warmup_steps = max(1, int(total_steps * warmup_fraction))

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = self.peak_rate * (0.1 + 0.9 * step / self.warmup_steps)
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        cool = self.peak_rate * 0.5 * (1.0 + tf.cos(math.pi * tf.minimum(progress, 1.0)))
        return tf.where(step < self.warmup_steps, warm, cool + 1e-6)

    def get_config(self):
        return {"peak_rate": self.peak_rate, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_steps / self.total_steps}


class ProgressCallback(keras.callbacks.Callback):
    """Report (fraction done, message) after every epoch to a plain function."""

    def __init__(self, progress: Callable[[float, str], None], epochs: int):
        super().__init__()
        self.progress, self.epochs = progress, epochs

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        message = f"epoch {epoch + 1}/{self.epochs}: " + ", ".join(
            f"{key} {value:.4f}" for key, value in logs.items() if key != "learning_rate")
        self.progress((epoch + 1) / self.epochs, message)


def split_training_data(config: TrainConfig, mnist: MnistArrays):
    """Shuffle, drop a held-out split, take the subset, carve the validation split, add samples."""
    (x_train, y_train), _ = mnist
    train_index, validation_index = validation_split_indices(
        len(x_train), config.seed, config.validation_split, config.train_subset,
        config.held_out_split)
    x_fit, y_fit = x_train[train_index], y_train[train_index]
    if config.extra_x is not None:
        extra_x = np.asarray(config.extra_x)
        if extra_x.dtype != np.uint8:
            extra_x = np.rint(np.clip(extra_x, 0, 1) * 255).astype(np.uint8)
        x_fit = np.concatenate([x_fit] + [extra_x] * config.extra_repeat)
        y_fit = np.concatenate([y_fit] + [np.asarray(config.extra_y, np.uint8)] * config.extra_repeat)
    return (x_fit, y_fit), (x_train[validation_index], y_train[validation_index])


def make_dataset(x: np.ndarray, y: np.ndarray, config: TrainConfig, training: bool) -> tf.data.Dataset:
    """An in-memory tf.data pipeline: scale to [0, 1], shuffle, batch, augment, prefetch."""
    images = (x.astype(np.float32) / 255.0)[..., None]
    dataset = tf.data.Dataset.from_tensor_slices((images, y.astype(np.int32)))
    if training:
        dataset = dataset.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(config.batch_size)
    if training and config.augment:
        augment_config = config.augment_config
        # a seeded stream of per-batch seeds, new each epoch: reproducible with parallel maps
        batch_seeds = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, batch_seeds).map(
            lambda batch, seed: (augment_batch(batch[0], augment_config, seed), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """AdamW with the configured learning-rate schedule."""
    total_steps = steps_per_epoch * config.epochs
    if config.schedule == "onecycle":
        rate = OneCycle(config.learning_rate, total_steps, config.warmup_fraction)
    elif config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, total_steps, alpha=1e-3)
    else:
        rate = config.learning_rate
    return keras.optimizers.AdamW(learning_rate=rate, weight_decay=config.weight_decay)


def initial_model(config: TrainConfig) -> keras.Model:
    """A fresh architecture, or a copy of the model to fine-tune."""
    if config.initial_model is None:
        return build_model(config.arch, **config.model_options)
    if isinstance(config.initial_model, (str, Path)):
        return keras.saving.load_model(config.initial_model, compile=False)
    return config.initial_model


def train(config: TrainConfig, mnist: MnistArrays | None = None,
          progress: Callable[[float, str], None] | None = None,
          callbacks: tuple[keras.callbacks.Callback, ...] = ()) -> TrainResult:
    """Train one model as the config says and measure it on validation and test data."""
    keras.utils.set_random_seed(config.seed)
    mnist = mnist if mnist is not None else load_mnist()
    (x_fit, y_fit), (x_val, y_val) = split_training_data(config, mnist)
    _, (x_test, y_test) = mnist
    if config.test_subset is not None:
        x_test, y_test = x_test[: config.test_subset], y_test[: config.test_subset]

    model = initial_model(config)
    steps_per_epoch = math.ceil(len(x_fit) / config.batch_size)
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    callbacks = list(callbacks)
    has_validation = len(x_val) > 0
    if config.early_stopping_patience is not None and has_validation:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=config.early_stopping_patience, restore_best_weights=True))
    if config.log_dir is not None:
        Path(config.log_dir).mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(Path(config.log_dir) / "history.csv")))
        if config.tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(str(Path(config.log_dir) / "tensorboard")))
    if progress is not None:
        callbacks.append(ProgressCallback(progress, config.epochs))

    started = time.perf_counter()
    history = model.fit(
        make_dataset(x_fit, y_fit, config, training=True),
        validation_data=make_dataset(x_val, y_val, config, training=False) if has_validation else None,
        epochs=config.epochs, callbacks=callbacks, verbose=config.verbose, shuffle=False,
    )
    seconds = time.perf_counter() - started
    val_accuracy = (float(model.evaluate(make_dataset(x_val, y_val, config, False), verbose=0)[1])
                    if has_validation else float("nan"))
    test_accuracy = float(model.evaluate(make_dataset(x_test, y_test, config, False), verbose=0)[1])
    return TrainResult(
        model=model, config=config, history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        val_accuracy=val_accuracy, test_accuracy=test_accuracy, seconds=seconds,
        epochs_run=len(history.history.get("loss", [])), data_checksum=content_checksum(mnist),
        validation=(x_val, y_val))


# TrainConfig fields the command line offers; their defaults and types come from the dataclass.
COMMAND_LINE_FIELDS = {
    "arch": "baseline, fast, default or residual", "epochs": None, "batch_size": None,
    "learning_rate": "the peak rate (onecycle) or the start (cosine)",
    "schedule": "onecycle, cosine or constant", "augment": "augmentation (--no-augment: none)",
    "seed": None, "validation_split": None, "train_subset": "train on the first N images",
    "early_stopping_patience": "epochs without improvement before stopping; 0 turns it off",
}

ALIASES = {"early_stopping_patience": ["--patience"]}


def build_parser() -> argparse.ArgumentParser:
    """`digitlab train` options: the COMMAND_LINE_FIELDS of TrainConfig, then where to save."""
    parser = argparse.ArgumentParser(prog="digitlab train", description="Train and register a model.")
    defaults = {item.name: item.default for item in fields(TrainConfig)}
    for name, help_text in COMMAND_LINE_FIELDS.items():
        flags, default = ["--" + name.replace("_", "-"), *ALIASES.get(name, [])], defaults[name]
        if isinstance(default, bool):
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, default=default,
                                help=help_text)
        else:
            kind = type(default) if default is not None else int
            parser.add_argument(*flags, type=kind, default=default,
                                help=f"{help_text or name.replace('_', ' ')} (default {default})")
    parser.add_argument("--augment-recipe", choices=sorted(RECIPES), default="standard",
                        help="standard (digits@1's) or handwriting (slant, elastic, pen, scan)")
    parser.add_argument("--name", default="digits", help="registry name to save under")
    parser.add_argument("--promote", action="store_true", help="make the new version current")
    parser.add_argument("--out", type=Path, default=None, help="save to this folder instead of the registry")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: `digitlab train --arch default --epochs 15 [--name digits] [--out DIR]`."""
    arguments = vars(build_parser().parse_args(argv))
    settings = {name: arguments[name] for name in COMMAND_LINE_FIELDS}
    settings["early_stopping_patience"] = settings["early_stopping_patience"] or None
    config = TrainConfig(**settings, augment_config=RECIPES[arguments["augment_recipe"]](), verbose=2)
    result = train(config)
    print(f"validation accuracy {result.val_accuracy:.4%}, test accuracy {result.test_accuracy:.4%}, "
          f"{result.seconds:.0f} s")
    print(register(result, arguments["name"], arguments["out"], arguments["promote"]))
    return 0


def register(result: TrainResult, name: str, out: Path | None = None, promote: bool = False) -> str:
    """Evaluate, plot and save a run: into the registry (atomically) or into a plain folder."""
    from digitlab.card import evaluated_card, evaluation_plots
    from digitlab.evaluate import evaluate
    from digitlab.export import save_model_folder

    _, mnist_test = load_mnist()
    evaluation = evaluate(result.model, *mnist_test)
    card = evaluated_card(result.model, result.card(), result.validation, "validation split",
                          evaluation)  # calibrated on the split training held out
    files = evaluation_plots(evaluation, result.history)
    if out is not None:
        save_model_folder(result.model, out, card.to_dict())
        for filename, content in files.items():
            (Path(out) / filename).write_bytes(content)
        return f"saved to {out}"
    from digitlab.registry import Registry

    registry = Registry()
    version = registry.save(result.model, name, card, files=files)
    if promote:
        registry.promote(name, version)
    return f"registered {name}@{version}" + (" (promoted)" if promote else "")


if __name__ == "__main__":
    raise SystemExit(main())
