"""Train the "notdigit" rejector (outlier exposure) and measure it on marks it never saw.

    python -m digitlab.rejector_train --promote      # the committed default (~10 min, 2 cores)
    python -m digitlab.rejector_train --negatives-per-kind 500 --epochs 1 --name notdigit-smoke

Digits: MNIST train images (the last `validation_digits` kept out to calibrate the threshold,
as they are and redrawn as canvas drawings)
and the same digits redrawn as canvas drawings. Marks: the training kinds of
`digitlab.negatives`. The threshold rejects `max_rejected` of the held-out digits; the card then
reports the share rejected of MNIST test, of canvas drawings of MNIST test, of fresh marks of
each training kind, of each validation kind (for choosing between rejectors) and of each
held-out kind (neither trained on nor chosen by: the real test).

The saved rejector has two scores: the trained network's, and the Mahalanobis distance of the
image to the nearest digit class in the digit model's features (`digitlab.digit_distance`,
`--no-distance` leaves it out). They fail on different marks (the network on crossing lines,
the distance on filled blobs and dots), so an image is not a digit when either reaches its
threshold, each calibrated to half the digit budget.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from digitlab.data import content_checksum, load_mnist
from digitlab.negatives import HELD_OUT_KINDS, TRAINING_KINDS, VALIDATION_KINDS, make_marks

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass
class RejectorConfig:
    """Everything a rejector training run depends on."""

    negatives_per_kind: int = 10_000
    canvas_digits: int = 20_000  # MNIST train digits redrawn as canvas drawings (more digits)
    validation_digits: int = 6000  # the last MNIST train images: calibration only
    train_digits: int | None = None  # the first MNIST train images it learns from (None: all the rest)
    test_digits: int | None = None  # the first MNIST test images it is measured on (None: all)
    measured_per_kind: int = 1000  # marks of each kind measured for the card
    epochs: int = 6
    batch_size: int = 128
    learning_rate: float = 2e-3
    width: int = 24
    max_rejected: float = 0.003  # share of held-out digits (and canvas drawings) it may reject
    seed: int = 0
    augment_recipe: str = "standard"  # digitlab.augment.RECIPES: "handwriting" as the digit model's

    def to_dict(self) -> dict:
        """The config as a JSON object."""
        return asdict(self)


def build_rejector(width: int = 16, dropout_rate: float = 0.3):
    """Three strided conv blocks and one sigmoid: the probability that an image is not a digit."""
    import keras
    from keras import layers

    from digitlab.models import INPUT_SHAPE, conv_block

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = conv_block(inputs, width, 5, strides=2, padding="same")
    x = conv_block(x, width * 2, 3, strides=2, padding="same")
    x = conv_block(x, width * 4, 3)
    x = layers.Dropout(dropout_rate)(layers.Flatten()(x))
    outputs = layers.Dense(1, activation="sigmoid", name="not_digit")(x)
    return keras.Model(inputs, outputs, name="rejector")


def canvas_digits(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` of these digits redrawn as a user would on a canvas (thick, off-centre, small),
    then brought back through the one preprocessing path."""
    from digitlab.ink import EmptyImageError
    from digitlab.preprocess import to_mnist
    from digitlab.synthetic import canvas_from_mnist

    rng = np.random.default_rng([seed, 99])
    drawn = []
    for index in rng.choice(len(images), size=count, replace=count > len(images)):
        canvas = canvas_from_mnist(images[index], size=112, thickness=int(rng.integers(0, 9)),
                                   offset=tuple(rng.integers(-12, 13, 2)),
                                   scale=float(rng.uniform(0.55, 1.0)))
        try:
            drawn.append(to_mnist(canvas))
        except EmptyImageError:
            continue
    return np.stack(drawn).astype(np.float32)


def rejected_share(backend, images: np.ndarray, thresholds: np.ndarray) -> float:
    """The share of images with any score at or above its threshold."""
    return float((scores_of(backend, images) >= thresholds).any(axis=1).mean())


def scores_of(backend, images: np.ndarray) -> np.ndarray:
    """The rejector's scores per image, (N, scores) (backend: a digitlab.backends backend)."""
    from digitlab.rejector import score_count

    batch = np.asarray(images, np.float32).reshape(-1, 28, 28, 1)
    outputs = np.asarray(backend(batch)).reshape(len(batch), -1)
    return outputs[:, :score_count(outputs.shape[1])]


def training_digits(config: RejectorConfig, mnist) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST train images and labels it learns from: those before the validation digits."""
    (x_train, y_train), _ = mnist
    split = len(x_train) - config.validation_digits
    return x_train[:split][:config.train_digits], y_train[:split][:config.train_digits]


def training_set(config: RejectorConfig, mnist) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28, 1) and targets (1: not a digit): digits, canvas digits, marks."""
    learned, _ = training_digits(config, mnist)
    digits = learned.astype(np.float32) / 255.0
    marks = np.concatenate([make_marks(kind, config.negatives_per_kind, config.seed,
                                       digits=learned) for kind in TRAINING_KINDS])
    drawn = canvas_digits(learned, config.canvas_digits, config.seed)
    images = np.concatenate([digits, drawn, marks])[..., None]
    targets = np.concatenate([np.zeros(len(digits) + len(drawn)), np.ones(len(marks))])
    return images, targets.astype(np.float32)


def train_model(config: RejectorConfig, mnist, progress=print):
    """Train one rejector network on the training set (augmented like the digit model)."""
    import keras
    import tensorflow as tf

    from digitlab.augment import RECIPES, augment_batch

    if config.augment_recipe not in RECIPES:
        raise ValueError(f"augment_recipe must be one of {sorted(RECIPES)}, got {config.augment_recipe!r}")
    recipe = RECIPES[config.augment_recipe]()
    keras.utils.set_random_seed(config.seed)
    images, targets = training_set(config, mnist)
    progress(f"{int((targets == 0).sum())} digits, {int(targets.sum())} marks ready")

    def augmented(batch, labels, index):
        return augment_batch(batch, recipe, seed=(config.seed, index)), labels

    dataset = (tf.data.Dataset.from_tensor_slices((images, targets))
               .shuffle(len(images), seed=config.seed).batch(config.batch_size).enumerate()
               .map(lambda index, pair: augmented(*pair, index), tf.data.AUTOTUNE)
               .prefetch(tf.data.AUTOTUNE))
    model = build_rejector(config.width)
    steps = config.epochs * int(np.ceil(len(images) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(dataset, epochs=config.epochs, verbose=2, shuffle=False)  # shuffled above
    return model


def with_distance(network, digit_model, mnist, config: RejectorConfig):
    """The rejector: the trained network's score, the Mahalanobis distance to the nearest
    digit class in the digit model's features (fitted on the training digits), and the digit
    model's own ten probabilities from the same features, so that a predictor using that digit
    model gets both answers from one call."""
    import keras
    from keras import layers

    from digitlab.backends import KerasBackend
    from digitlab.digit_distance import class_statistics, distance_head, feature_model, set_weights
    from digitlab.ensemble import ensemble_members
    from digitlab.models import INPUT_SHAPE

    learned, labels = training_digits(config, mnist)
    members = ensemble_members(digit_model)  # an ensemble: the distance uses its first member
    source = members[0] if members else digit_model
    features = feature_model(source)
    fitted = np.asarray(KerasBackend(features)(learned[..., None].astype(np.float32) / 255))
    means, precision = class_statistics(fitted, labels)
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    feature_tensor = features(inputs)
    distance, weights = distance_head(feature_tensor, means, precision)
    probabilities = source.layers[-1](feature_tensor)  # the digit model's head, shared
    if members:  # ... averaged with the other members, as the ensemble itself does
        probabilities = layers.Average(name="ensemble_probabilities")(
            [probabilities, *(member(inputs) for member in members[1:])])
    outputs = layers.Concatenate(name="not_digit")([network(inputs), distance, probabilities])
    model = keras.Model(inputs, outputs, name="notdigit")
    set_weights(model, weights)
    return model


def kind_shares(backend, kinds, config: RejectorConfig, threshold: float, digits) -> dict:
    """The share rejected of fresh marks (seed + 1: not the training draws) of each kind."""
    return {kind: rejected_share(backend, make_marks(kind, config.measured_per_kind,
                                                     config.seed + 1, digits=digits), threshold)
            for kind in kinds}


def measure(model, config: RejectorConfig, mnist) -> dict:
    """Calibrate the threshold on held-out digits, then measure digits and every kind of mark."""
    from digitlab.backends import KerasBackend

    (x_train, _), (x_test, _) = mnist
    split, backend = len(x_train) - config.validation_digits, KerasBackend(model)
    x_test = x_test[:config.test_digits]
    validation = x_train[split:].astype(np.float32) / 255.0
    drawn_validation = canvas_digits(x_train[split:], config.validation_digits, config.seed)
    held = [scores_of(backend, digits) for digits in (validation, drawn_validation)]
    share = config.max_rejected / held[0].shape[1]  # each score rejects its part of the budget
    threshold = np.max([np.quantile(scores, 1.0 - share, axis=0) for scores in held], axis=0)
    metrics = {
        "rejected_validation_digits": rejected_share(backend, validation, threshold),
        "rejected_validation_canvas": rejected_share(backend, drawn_validation, threshold),
        "rejected_mnist_test": rejected_share(backend, x_test.astype(np.float32) / 255.0,
                                              threshold),
        "rejected_canvas_test": rejected_share(
            backend, canvas_digits(x_test, min(2000, len(x_test)), config.seed + 1), threshold),
        "rejected_training_kinds": kind_shares(backend, TRAINING_KINDS, config, threshold,
                                               x_test),
        "rejected_validation_kinds": kind_shares(backend, VALIDATION_KINDS, config, threshold,
                                                 x_test),
        "rejected_held_out_kinds": kind_shares(backend, HELD_OUT_KINDS, config, threshold,
                                               x_test)}
    for group in ("validation", "held_out"):
        metrics[f"rejected_{group}_mean"] = float(np.mean(list(
            metrics[f"rejected_{group}_kinds"].values())))
    return {"kind": "rejector", "arch": model.name, "parameters": int(model.count_params()),
            "config": config.to_dict(), "metrics": metrics,
            "calibration": {"not_digit_thresholds": [float(value) for value in threshold],
                            "outputs": ["network", "digit_distance"][:len(threshold)],
                            "rule": f"an image is not a digit when any score reaches its "
                                    f"threshold; together they reject at most "
                                    f"{config.max_rejected:.1%} of the last "
                                    f"{config.validation_digits} MNIST train digits, as they "
                                    "are and redrawn as canvas drawings"},
            "data": {"mnist_sha256": content_checksum(mnist),
                     "training_kinds": sorted(TRAINING_KINDS),
                     "validation_kinds": sorted(VALIDATION_KINDS),
                     "held_out_kinds": sorted(HELD_OUT_KINDS)}}


def train_rejector(config: RejectorConfig | None = None, mnist=None, progress=print,
                   digit_model=None, network=None) -> dict:
    """Train (or take `network`), add the digit distance of `digit_model` (None: none),
    calibrate and measure; returns {"model", "card"} (the card a registry can save)."""
    config, started = config or RejectorConfig(), time.monotonic()
    mnist = mnist or load_mnist()
    model = network if network is not None else train_model(config, mnist, progress)
    if digit_model is not None:
        model = with_distance(model, digit_model, mnist, config)
    trained = time.monotonic() - started
    card = measure(model, config, mnist)
    card["seconds"] = {"training": round(trained, 1), "total": round(time.monotonic() - started, 1)}
    return {"model": model, "card": card}


def main(argv: list[str] | None = None) -> int:
    """Command line: train a rejector and save it in the registry (--promote to use it)."""
    from digitlab.registry import Registry

    parser = argparse.ArgumentParser(prog="digitlab train-rejector",
                                     description=__doc__.splitlines()[0])
    for option in fields(RejectorConfig):
        parser.add_argument("--" + option.name.replace("_", "-"), default=None,
                            type={"float": float, "str": str}.get(option.type, int))
    parser.add_argument("--digit-model", default="digits", help="the digit model whose "
                        "features the distance score uses (registry name or folder)")
    parser.add_argument("--no-distance", action="store_true",
                        help="the trained network alone, without the digit distance")
    parser.add_argument("--network-from", metavar="FOLDER",
                        help="take the trained network of a saved rejector instead of training")
    parser.add_argument("--name", default="notdigit", help="registry name to save under")
    parser.add_argument("--promote", action="store_true", help="make the new version current")
    arguments = parser.parse_args(argv)
    chosen = {option.name: getattr(arguments, option.name) for option in fields(RejectorConfig)
              if getattr(arguments, option.name) is not None}
    from digitlab.predict import load_keras, read_card

    digit_model = network = digit_model_id = digit_folder = None
    if not arguments.no_distance:
        digit_model, digit_folder, digit_model_id = load_keras(arguments.digit_model)
    if arguments.network_from:
        saved = load_keras(arguments.network_from)[0]
        network = saved.get_layer("rejector") if any(
            layer.name == "rejector" for layer in saved.layers) else saved
    result = train_rejector(RejectorConfig(**chosen), progress=lambda text: print(text, flush=True),
                            digit_model=digit_model, network=network)
    if arguments.network_from:  # where the network was trained, and how long it took
        trained = read_card(Path(arguments.network_from))
        result["card"]["network"] = {key: trained.get(key) for key in ("name", "version",
                                                                       "config", "seconds")}
    if digit_model is not None:
        result["card"]["digit_model"] = digit_model_id
        litert = read_card(digit_folder).get("litert")  # fused: its LiteRT file is built alike
        if litert:
            result["card"]["litert"] = litert
    registry = Registry()
    version = registry.save(result["model"], arguments.name, result["card"])
    if arguments.promote:
        registry.promote(arguments.name, version)
    print(json.dumps({"name": arguments.name, "version": version, **{
        key: result["card"].get(key) for key in ("metrics", "calibration", "seconds")}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
