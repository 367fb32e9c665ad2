"""The model card: what a saved model says about itself, assembled in memory and saved once.

Training knows its part (`TrainResult.card()`), evaluation adds MNIST test metrics, the
calibration (from images training held out, never MNIST test) and per-class numbers, and a
retrain adds its samples and gate; the registry saves the whole card with the model in one
atomic step. `digitlab evaluate MODEL` re-evaluates a saved model through the same path.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from digitlab.evaluate import Evaluation, card_validation_set, evaluate, held_out_calibration


@dataclass
class ModelCard:
    """One model's card: training facts plus what evaluation and retraining add."""

    training: dict  # arch, parameters, config, data, metrics, epochs, times, framework
    metrics: dict = field(default_factory=dict)  # merged over training's metrics
    data: dict = field(default_factory=dict)  # merged over training's data facts
    calibration: dict | None = None
    per_class: list | None = None
    retrain: dict | None = None

    def to_dict(self) -> dict:
        """The card as the JSON object saved next to the model (the registry adds its fields)."""
        card = {**self.training,
                "metrics": {**self.training.get("metrics", {}), **self.metrics},
                "data": {**self.training.get("data", {}), **self.data}}
        extra = {"calibration": self.calibration, "per_class": self.per_class,
                 "retrain": self.retrain}
        return {**card, **{key: value for key, value in extra.items() if value is not None}}


def evaluation_plots(evaluation: Evaluation, history: dict | None = None) -> dict[str, bytes]:
    """The evaluation plots (and training curves, given a history) as PNG bytes by file name."""
    from digitlab import plots

    figures = {"confusion_matrix": plots.plot_confusion_matrix(evaluation),
               "per_class": plots.plot_per_class(evaluation),
               "reliability": plots.plot_reliability(evaluation),
               "mistakes": plots.plot_mistakes(evaluation)}
    if history:
        figures["training_curves"] = plots.plot_training_curves(history)
    files = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        plots.close(figure)
        files[f"{name}.png"] = buffer.getvalue()
    return files


def evaluated_card(model, training: dict, held_out, what: str, evaluation: Evaluation) -> ModelCard:
    """A card with the MNIST test evaluation's metrics, calibration on held_out, per-class numbers."""
    summary = evaluation.summary()
    card = ModelCard(training, metrics={"mnist_test_accuracy": summary["accuracy"],
                                        "mnist_test_count": summary["count"],
                                        "mnist_test_ece": summary["ece"]},
                     calibration=held_out_calibration(model, held_out, what),
                     per_class=summary["per_class"])
    return card


def main(argv: list[str] | None = None) -> int:
    """Command line: `digitlab evaluate MODEL [--on FOLDER|store:SET] [--out DIR]` prints metrics
    and saves plots (on MNIST test into the model's card; on your own set into DIR only)."""
    from digitlab.data import load_mnist
    from digitlab.predict import load_keras, read_card

    parser = argparse.ArgumentParser(prog="digitlab evaluate", description=main.__doc__)
    parser.add_argument("model", nargs="?", default="digits", help="registry name, name@version or path")
    parser.add_argument("--out", type=Path, default=None, help="folder for plots (default: the "
                        "model's; with --on, its evaluations/<set name>/)")
    parser.add_argument("--on", metavar="FOLDER|store:SET",
                        help="evaluate on your own labelled images instead of MNIST test: a "
                             "folder of <digit>/<name>.png, or store:, store:NAME, store:*")
    arguments = parser.parse_args(argv)
    if arguments.on:
        return evaluate_on(arguments.model, arguments.on, arguments.out)
    model, folder, model_id = load_keras(arguments.model)
    out = arguments.out or folder
    out.mkdir(parents=True, exist_ok=True)
    saved = read_card(folder)
    mnist = load_mnist()
    held_out = card_validation_set(saved, mnist) or (mnist[0][0][:0], mnist[0][1][:0])
    evaluation = evaluate(model, *mnist[1])
    card = evaluated_card(model, saved, held_out, "validation split", evaluation)
    for name, content in evaluation_plots(evaluation).items():
        (out / name).write_bytes(content)
    (out / "card.json").write_text(json.dumps(card.to_dict(), indent=2, default=str) + "\n")
    print(json.dumps({"model": model_id, "accuracy": evaluation.accuracy,
                      "ece": evaluation.expected_calibration_error(),
                      "calibration": card.calibration, "plots": str(out)}, indent=2))
    return 0


def evaluate_on(spec: str, source: str, out: Path | None = None) -> int:
    """Evaluate a model on a labelled folder or store set: print the metrics, save the plots
    (the model's card is not touched: it describes MNIST)."""
    from digitlab.labelled_sets import load_labelled
    from digitlab.predict import load_keras

    try:
        labelled = load_labelled(source)
    except ValueError as error:  # a wrong path, an empty set: say so, no traceback
        print(f"digitlab evaluate: {error}", file=sys.stderr)
        return 2
    model, folder, model_id = load_keras(spec)
    evaluation = evaluate(model, labelled.images, labelled.labels)
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(str(source)).name
                   or str(source)).strip("_") or "set"
    out = out or folder / "evaluations" / slug
    out.mkdir(parents=True, exist_ok=True)
    for name, content in evaluation_plots(evaluation).items():
        (out / name).write_bytes(content)
    summary = evaluation.summary()
    report = {"model": model_id, "on": labelled.name, "count": summary["count"],
              "accuracy": summary["accuracy"], "ece": summary["ece"],
              "per_class": summary["per_class"], "skipped": labelled.skipped,
              "skipped_files": labelled.skipped_files, "plots": str(out)}
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
