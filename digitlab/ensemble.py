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


def build_ensemble(members: list) -> object:
    """One Keras model whose output is the mean of the members' probabilities."""
    import keras
    from keras import layers

    from digitlab.models import INPUT_SHAPE

    if not 2 <= len(members) <= MAX_MEMBERS:
        raise ValueError(f"an ensemble averages 2 to {MAX_MEMBERS} models, got {len(members)}")
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    nested = [keras.Model(member.input, member.output, name=f"member_{index + 1}")
              for index, member in enumerate(members)]
    outputs = layers.Average(name="probabilities")([member(inputs) for member in nested])
    return keras.Model(inputs, outputs, name="ensemble")


def ensemble_members(model) -> list:
    """The nested member models of an ensemble (an empty list for a single model)."""
    if model.name != "ensemble":
        return []
    return [layer for layer in model.layers if layer.name.startswith("member_")]


def writer_calibration_set(count: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Held-out drawn digits no member trained on (strokes, segments, fonts), for calibration."""
    from digitlab.writers import writer_set

    sets = [writer_set(kind, count) for kind in ("strokes", "segments", "fonts")]
    return (np.concatenate([images for images, _ in sets]),
            np.concatenate([labels for _, labels in sets]))


def ensemble_card(model, members: list[tuple[str, dict]], mnist) -> tuple[dict, dict]:
    """The ensemble's card (members, metrics, calibration, per class) and its plots."""
    from digitlab.backends import KerasBackend
    from digitlab.card import evaluated_card, evaluation_plots
    from digitlab.data import content_checksum
    from digitlab.evaluate import evaluate
    from digitlab.writers import writer_accuracies

    _, (x_test, y_test) = mnist
    evaluation = evaluate(model, x_test, y_test)
    backend = KerasBackend(model)
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
        "metrics": {"writers": writer_accuracies(lambda images: backend(images[..., None]))},
    }
    held_out = writer_calibration_set()
    card = evaluated_card(model, training, held_out,
                          "held-out drawn digits (digitlab.writers: strokes, segments, fonts)",
                          evaluation)
    return card.to_dict(), evaluation_plots(evaluation)


def litert_accuracy(tflite_path, mnist) -> float:
    """MNIST test accuracy through the LiteRT file (what the predictor serves)."""
    from digitlab.backends import LiteRTBackend

    _, (x_test, y_test) = mnist
    backend = LiteRTBackend(tflite_path)
    probabilities = backend(x_test[..., None].astype(np.float32) / 255.0)
    return float((np.argmax(probabilities, axis=1) == y_test).mean())


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
    served = litert_accuracy(folder / "model.tflite", mnist)
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
