"""Train the line reader with CTC on number lines made from MNIST, and register it with its card.

    python -m digitlab.reader_train                       # the committed default (about 40 min, 2 cores)
    python -m digitlab.reader_train --train-lines 2000 --epochs 1 --name reader-smoke
    python -m digitlab.reader_train --fine-tune reader    # learn the lines saved in the app (~10 min)
    python -m digitlab.reader_train --recipe handwriting --member 1  # another reader, other hands' digits

The lines are made by `digitlab.reader_data` (from `digitlab.linesynth`), the loop here trains
the CRNN of `digitlab.reader_model` with CTC on a learning rate that anneals within the step or
time budget, and `digitlab.reader_card` measures the result for its card.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from digitlab.data import content_checksum, load_mnist
from digitlab.linesynth import LineRecipe
from digitlab.reader_card import read_lines, reader_card, sequence_accuracy
from digitlab.reader_data import batches, encode_texts, make_sets, stack_lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass
class ReaderConfig:
    """Everything a reader training run depends on."""

    train_lines: int = 200_000
    validation_lines: int = 3000
    test_lines: int = 3000
    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 2e-3
    width: int = 32
    validation_split: float = 0.1
    seed: int = 0
    member: int = 0  # another reader on the same split: new training lines and weights, same checks
    workers: int = 2
    max_minutes: float | None = 36.0  # stop training (not data making) after this long
    store_repeat: int = 20  # each line people saved in the sample store is trained on this often
    use_store: bool = True  # 0/1 on the command line
    initial_model: str | None = None  # continue from this reader (registry spec or .keras path)
    recipe: LineRecipe = field(default_factory=LineRecipe)

    @classmethod
    def fine_tune(cls, initial_model: str, **options) -> ReaderConfig:
        """A short run from a trained reader: saved lines (20x each) among fresh MNIST lines."""
        preset = {"train_lines": 20_000, "epochs": 1, "learning_rate": 3e-4, "max_minutes": 10.0}
        return cls(initial_model=initial_model, **{**preset, **options})

    @property
    def training_seed(self) -> int:
        """The seed of the training lines, initial weights and batch order (not of the split)."""
        return self.seed + MEMBER_SEED_STEP * self.member

    def to_dict(self) -> dict:
        """The config as a JSON object."""
        return {**asdict(self), "recipe": self.recipe.to_dict()}


@dataclass
class ReaderResult:
    """A trained reader and what training measured."""

    model: object
    config: ReaderConfig
    history: dict
    validation: dict
    seconds: float
    data: dict
    sets: dict  # name -> (inputs, texts): the lines it trained, validated and was tested on


WARMUP_STEPS = 300
MEMBER_SEED_STEP = 1000
RECIPES = {"default": LineRecipe, "handwriting": LineRecipe.handwriting, "pen": LineRecipe.pen,
           "writers": LineRecipe.writers}


def learning_rate_at(done: float, step: int, peak: float) -> float:
    """Linear warm-up over WARMUP_STEPS, then cosine decay to 2 % of peak as `done` goes 0 -> 1.

    `done` is the larger of the steps' and the time budget's share used, so a run cut short by
    its time budget still ends with a small learning rate.
    """
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    return float(peak * warm * (0.02 + 0.98 * 0.5 * (1.0 + np.cos(np.pi * min(done, 1.0)))))


def train_reader(config: ReaderConfig | None = None, mnist=None, progress=None) -> ReaderResult:
    """Make the lines, train the CRNN with CTC, and measure it on the validation lines."""
    import keras
    import tensorflow as tf

    from digitlab.backends import KerasBackend
    from digitlab.lineimage import LINE_HEIGHT
    from digitlab.reader import BLANK, time_steps
    from digitlab.reader_ensemble import member_count
    from digitlab.reader_members import load_reader_model
    from digitlab.reader_model import build_reader

    config = config or ReaderConfig()
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    mnist = mnist if mnist is not None else load_mnist()
    sets = make_sets(config, mnist, report)
    train_inputs, train_texts = sets["train"]
    keras.utils.set_random_seed(config.training_seed)
    model = (build_reader(width=config.width) if config.initial_model is None
             else load_reader_model(config.initial_model))
    members = member_count(model)
    steps_per_epoch = -(-len(train_inputs) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer = keras.optimizers.Adam(config.learning_rate, clipnorm=5.0)

    @tf.function(input_signature=[tf.TensorSpec([None, LINE_HEIGHT, None, 1], tf.float32),
                                  tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int32)])
    def train_step(images, labels, label_lengths, step_lengths):
        with tf.GradientTape() as tape:
            outputs = model(images, training=True)
            loss = 0.0
            for probabilities in tf.split(outputs, members, axis=-1):  # each reader of an ensemble
                loss += tf.reduce_mean(tf.nn.ctc_loss(
                    labels, tf.math.log(probabilities + 1e-7), label_lengths, step_lengths,
                    logits_time_major=False, blank_index=BLANK))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    predict = KerasBackend(model)
    rng = np.random.default_rng(config.training_seed)
    history = {"loss": [], "val_accuracy": []}
    budget = None if config.max_minutes is None else 60 * config.max_minutes
    training_started = time.perf_counter()
    stopped_early, step = False, 0
    for epoch in range(config.epochs):
        losses = []
        for number, chosen in enumerate(batches(train_inputs, config.batch_size, rng)):
            elapsed = time.perf_counter() - training_started
            done = max(step / total_steps, elapsed / budget if budget else 0.0)
            optimizer.learning_rate.assign(learning_rate_at(done, step, config.learning_rate))
            step += 1
            labels, lengths = encode_texts(train_texts, chosen)
            batch = stack_lines(train_inputs, chosen)
            steps = np.full(len(chosen), time_steps(batch.shape[2]), np.int32)
            losses.append(float(train_step(batch, labels, lengths, steps)))
            if number % 200 == 0:
                report((epoch + number / steps_per_epoch) / config.epochs,
                       f"epoch {epoch + 1}/{config.epochs} step {number}/{steps_per_epoch} "
                       f"loss {np.mean(losses[-200:]):.3f}")
            if done >= 1.0:
                stopped_early = True  # the time budget ran out: the schedule has annealed
                break
        validation = sequence_accuracy(read_lines(predict, sets["validation"][0]),
                                       sets["validation"][1])
        history["loss"].append(float(np.mean(losses)))
        history["val_accuracy"].append(validation["accuracy"])
        report((epoch + 1) / config.epochs, f"epoch {epoch + 1}: loss {history['loss'][-1]:.3f}, "
                                            f"validation lines {validation['accuracy']:.2%}")
        if stopped_early:
            break
    data = {"mnist_sha256": content_checksum(mnist), "recipe": "digitlab.linesynth", "sets": {
        name: {"lines": len(texts), "digits": int(sum(len(text) for text in texts))}
        for name, (_, texts) in sets.items()}, "stopped_early": stopped_early,
        "training_seconds": round(time.perf_counter() - training_started, 1)}
    return ReaderResult(model, config, history, validation, time.perf_counter() - started, data, sets)


def main(argv: list[str] | None = None) -> int:
    """Command line: train a reader and save it in the registry (promoted when it is the first)."""
    from digitlab.registry import Registry

    parser = argparse.ArgumentParser(prog="digitlab train-reader", description=__doc__.splitlines()[0])
    kinds = {"float": float, "float | None": float, "str | None": str}
    for option in fields(ReaderConfig):
        if option.name != "recipe":
            parser.add_argument("--" + option.name.replace("_", "-"),
                                type=kinds.get(option.type, int), default=None)
    parser.add_argument("--fine-tune", metavar="READER", default=None,
                        help="continue a trained reader on the saved lines (a short preset run)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                        help="how the training lines' digits are written (default: MNIST's own)")
    parser.add_argument("--name", default="reader", help="registry name to save under")
    parser.add_argument("--promote", action="store_true", help="make the new version current")
    arguments = parser.parse_args(argv)
    chosen = {option.name: getattr(arguments, option.name) for option in fields(ReaderConfig)
              if option.name != "recipe" and getattr(arguments, option.name) is not None}
    if arguments.recipe:
        chosen["recipe"] = RECIPES[arguments.recipe]()
    config = (ReaderConfig.fine_tune(arguments.fine_tune, **chosen) if arguments.fine_tune
              else ReaderConfig(**chosen))
    result = train_reader(config, progress=lambda fraction, text: print(f"[{fraction:4.0%}] {text}",
                                                                        flush=True))
    try:
        card = reader_card(result)
    except Exception:  # the trained weights outlive a failed measurement
        from digitlab.paths import data_dir

        rescued = data_dir() / f"unsaved-{arguments.name}-{time.strftime('%Y%m%d-%H%M%S')}.keras"
        result.model.save(rescued)
        print(f"measuring the reader failed; its weights are saved in {rescued}", file=sys.stderr)
        raise
    registry = Registry()
    version = registry.save(result.model, arguments.name, card)
    if arguments.promote:
        registry.promote(arguments.name, version)
    print(json.dumps({"name": arguments.name, "version": version, "metrics": card.metrics,
                      "calibration": card.calibration}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
