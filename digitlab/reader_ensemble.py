"""`digitlab reader-ensemble reader@1 reader@2 [reader@3]`: several line readers as one reader.

The members run inside one Keras model whose output puts their per-step probabilities side by
side (11 classes each), so the registry, LiteRT and every front end take it like one reader.
Separately trained CTC readers fire on different time steps, so their outputs are never averaged
per step: each member proposes its best-path text and the text with the highest likelihood
summed over all members is read (`digitlab.ctc.agreed_decode`); a disagreement lowers the
digits' confidence. The card measures it on the validation and test lines of both line recipes,
and calibrates its "uncertain" threshold on the default recipe's validation lines.
"""

from __future__ import annotations

import argparse
import json


def build_reader_ensemble(members: list) -> object:
    """One Keras model: (batch, 32, width, 1) -> (batch, width / 4, 11 x members)."""
    import keras
    from keras import layers

    from digitlab.ensemble import nested_members
    from digitlab.lineimage import LINE_HEIGHT

    nested = nested_members(members, "a reader ensemble holds", "readers")
    if any(member_count(member) != 1 for member in members):
        raise ValueError("join single readers: a member here is itself an ensemble (its own "
                         "members can be joined directly, from their folders)")
    inputs = keras.Input(shape=(LINE_HEIGHT, None, 1), name="line")
    outputs = layers.Concatenate(axis=-1, name="members")([member(inputs) for member in nested])
    return keras.Model(inputs, outputs, name="reader_ensemble")


def member_count(model) -> int:
    """How many readers a reader model holds (1 for a single CRNN)."""
    from digitlab.reader import NUM_CLASSES

    return int(model.output_shape[-1]) // NUM_CLASSES


def measured_lines(seed: int, validation_split: float, count: int = 3000, workers: int = 2) -> dict:
    """Validation and test lines of both recipes, on the members' split: name -> (inputs, texts)."""
    from digitlab.data import load_mnist
    from digitlab.linesynth import LineRecipe
    from digitlab.reader_data import make_sets
    from digitlab.reader_train import ReaderConfig

    mnist = load_mnist()
    lines = {}
    for suffix, recipe in (("", LineRecipe()), ("_handwriting", LineRecipe.handwriting())):
        config = ReaderConfig(train_lines=0, validation_lines=count, test_lines=count, seed=seed,
                              validation_split=validation_split, workers=workers, use_store=False,
                              recipe=recipe)
        made = make_sets(config, mnist, lambda fraction, message: None)
        lines["validation" + suffix], lines["test" + suffix] = made["validation"], made["test"]
    return lines


def reader_ensemble_card(model, members: list[tuple[str, dict]], lines: int = 3000, workers: int = 2):
    """The ensemble's ModelCard: members, line accuracy on both recipes, calibration."""
    import keras

    from digitlab.backends import KerasBackend
    from digitlab.card import ModelCard
    from digitlab.reader_card import line_calibration, read_lines, sequence_accuracy

    for model_id, card in members:
        if "seed" not in card.get("config", {}):
            raise ValueError(f"{model_id} has no card with its training config (card.json): "
                             "join readers from registry versions or their folders")
    splits = {(card["config"]["seed"], card["config"]["validation_split"]) for _, card in members}
    if len(splits) != 1:
        raise ValueError("the readers hold out different validation lines (seed or split differ), "
                         "so their ensemble cannot be measured fairly: train them with one --seed")
    seed, validation_split = splits.pop()
    predict = KerasBackend(model)
    made = measured_lines(seed, validation_split, lines, workers)
    readings = {name: read_lines(predict, inputs) for name, (inputs, _) in made.items()}
    metrics = {name + "_sequence": sequence_accuracy(readings[name], made[name][1]) for name in made}
    training = {"arch": "reader", "kind": f"line reader ensemble ({len(members)} CRNNs + CTC)",
                "parameters": int(model.count_params()), "framework": {"keras": keras.__version__},
                "config": {"seed": seed, "validation_split": validation_split},
                "members": [{"model": model_id, "recipe": card["config"].get("recipe"),
                             "member": card["config"].get("member", 0),
                             "train_seconds": card.get("train_seconds"),
                             "validation_sequence": card["metrics"]["validation_sequence"]["accuracy"]}
                            for model_id, card in members]}
    return ModelCard(training, metrics=metrics,
                     calibration=line_calibration(readings["validation"], made["validation"][1]))


def main(argv: list[str] | None = None) -> int:
    """Command line: build, measure and register the reader ensemble (add --promote to read with it)."""
    from digitlab.reader_members import load_reader_model, resolve_reader
    from digitlab.registry import Registry

    parser = argparse.ArgumentParser(prog="digitlab reader-ensemble",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("members", nargs="+", help="2 or 3 readers (name@version, folders, or an ensemble's READER:member_N)")
    parser.add_argument("--name", default="reader", help="registry name to save under")
    parser.add_argument("--promote", action="store_true", help="make the ensemble current")
    arguments = parser.parse_args(argv)
    resolved = [resolve_reader(spec) for spec in arguments.members]
    model = build_reader_ensemble([load_reader_model(spec) for spec in arguments.members])
    card = reader_ensemble_card(model, [(model_id, card) for _, model_id, card in resolved])
    registry = Registry()
    version = registry.save(model, arguments.name, card)
    if arguments.promote:
        registry.promote(arguments.name, version)
    print(json.dumps({"name": arguments.name, "version": version, "metrics": {
        name: value["accuracy"] for name, value in card.metrics.items()},
        "uncertain_threshold": card.calibration["uncertain_threshold"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
