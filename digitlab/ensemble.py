"""`digitlab ensemble digits@1 digits@2 digits@3`: average up to three digit models into one model.

The ensemble is an ordinary Keras model (the members nested, their probabilities averaged by
one `Average` layer), so everything that takes a digit model takes it: the registry, the
LiteRT predictor, evaluation, exports, fine-tuning, and the rejector (`train-rejector
--digit-model` fuses it: one call gives both answers). Its LiteRT file stores int8 weights
(dynamic-range quantisation; the card says so and records the accuracy through it), so three
members still run as fast as the predictor's targets need.

Its "uncertain" threshold is calibrated on the held-out drawn digits of `digitlab.writers`,
because the members' validation splits differ and each saw the others' held-out images.
"""

from __future__ import annotations

import argparse

import numpy as np

MAX_MEMBERS = 3


def nested_members(members: list, holds: str = "an ensemble averages", noun: str = "models") -> list:
    """The 2 to MAX_MEMBERS members as nested models named member_1, member_2, ...; otherwise
    a ValueError reading "<holds> 2 to 3 <noun>, got N"."""
    import keras

    if not 2 <= len(members) <= MAX_MEMBERS:
        raise ValueError(f"{holds} 2 to {MAX_MEMBERS} {noun}, got {len(members)}")
    return [keras.Model(member.input, member.output, name=f"member_{index + 1}")
            for index, member in enumerate(members)]


def build_ensemble(members: list) -> object:
    """One Keras model whose output is the mean of the members' probabilities."""
    import keras
    from keras import layers

    from digitlab.models import INPUT_SHAPE

    nested = nested_members(members)
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    outputs = layers.Average(name="probabilities")([member(inputs) for member in nested])
    return keras.Model(inputs, outputs, name="ensemble")


def ensemble_members(model) -> list:
    """The nested member models of an ensemble (an empty list for a single model)."""
    if model.name != "ensemble":
        return []
    return [layer for layer in model.layers if layer.name.startswith("member_")]


def ensemble_card(model, members: list[tuple[str, dict]], mnist) -> tuple[dict, dict]:
    """The ensemble's card (members, metrics, calibration, per class) and its plots."""
    from digitlab.card import evaluated_card, evaluation_plots
    from digitlab.data import content_checksum
    from digitlab.evaluate import evaluate, probabilities_of
    from digitlab.writers import writer_accuracies, writer_sets

    _, (x_test, y_test) = mnist
    evaluation = evaluate(model, x_test, y_test)
    sets = writer_sets()  # drawn once: measured on, and calibrated on (no member trained on them)
    training = {
        "arch": "ensemble", "parameters": int(model.count_params()),
        "members": [{"model": model_id, "trained": card.get("trained"),
                     "training_seconds": card.get("training_seconds"), "arch": card.get("arch"),
                     "augment": card.get("config", {}).get("augment_config"),
                     "seed": card.get("config", {}).get("seed"),
                     "mnist_test_accuracy": card.get("metrics", {}).get("mnist_test_accuracy"),
                     "val_accuracy": card.get("metrics", {}).get("val_accuracy")}
                    for model_id, card in members],
        "data": {"mnist_sha256": content_checksum(mnist)},
        "litert": {"quantize": "dynamic-range"},
        "metrics": {"writers": writer_accuracies(lambda images: probabilities_of(model, images),
                                                 sets)},
    }
    held_out = (np.concatenate([images for images, _ in sets.values()]),
                np.concatenate([labels for _, labels in sets.values()]))
    card = evaluated_card(model, training, held_out,
                          "held-out drawn digits (digitlab.writers: strokes, segments, fonts)",
                          evaluation)
    return card.to_dict(), evaluation_plots(evaluation)


def litert_accuracy(folder, mnist) -> float:
    """MNIST test accuracy through the folder's LiteRT file, as the predictor serves it."""
    from digitlab.evaluate import accuracy
    from digitlab.predict import Predictor

    _, (x_test, y_test) = mnist
    return accuracy(Predictor.load(folder, reader=None, rejector=None), x_test, y_test)


def main(argv: list[str] | None = None) -> int:
    """Command line: build, measure and register the ensemble (add --promote to serve it)."""
    from digitlab.data import load_mnist
    from digitlab.predict import load_keras, read_card
    from digitlab.records import write_json_atomically
    from digitlab.registry import Registry

    parser = argparse.ArgumentParser(prog="digitlab ensemble", description=__doc__.splitlines()[0])
    parser.add_argument("members", nargs="+", help="2 or 3 models (name@version or folders)")
    parser.add_argument("--name", default="digits", help="registry name to save under")
    parser.add_argument("--promote", action="store_true", help="make the ensemble current")
    arguments = parser.parse_args(argv)
    loaded = [load_keras(spec) for spec in arguments.members]
    model = build_ensemble([keras_model for keras_model, _, _ in loaded])
    mnist = load_mnist()
    card, files = ensemble_card(model, [(model_id, read_card(folder))
                                        for _, folder, model_id in loaded], mnist)
    registry = Registry()
    version = registry.save(model, arguments.name, card, files=files)
    folder = registry.path(arguments.name, version)
    served = litert_accuracy(folder, mnist)
    saved = registry.card(arguments.name, version)
    saved["metrics"]["litert_mnist_test_accuracy"] = served
    write_json_atomically(folder / "card.json", saved)
    if arguments.promote:
        registry.promote(arguments.name, version)
    print(f"{arguments.name}@{version}: MNIST test {card['metrics']['mnist_test_accuracy']:.2%} "
          f"(LiteRT {served:.2%}); writers {card['metrics']['writers']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
