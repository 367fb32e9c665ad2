"""Retrain on stored samples, then promote the candidate only if it passes the gate.

``finetune`` starts from the registry's current model and trains on the store's train-split
samples mixed with an MNIST replay (so the model does not forget MNIST), at a small learning
rate. ``scratch`` trains a new model from a sample set alone ("draw 10 of each digit").
Either way the candidate and the current model are measured on the base model's MNIST
validation split (rebuilt from its card and kept out of the replay) and on the sample holdout,
the candidate is saved unpromoted, and it is promoted only when validation accuracy drops by at
most 0.1 points and holdout accuracy does not drop. A base without a validation split, or
scratch mode by default, is gated on the sample holdout only, and the reason says so. A holdout
with fewer than 5 samples of a digit is not judged: a gate on the holdout only then refuses.
MNIST test is measured for the card after the decision, never as an input to it.

`retrain` is a plain function of a `RetrainOptions`; `digitlab.retrain_job` runs it as a
background job. ``python -m digitlab.retrain`` runs one here, in the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from digitlab.gate import (
    MIN_HOLDOUT_PER_CLASS,
    choose_gate,
    gate_split,
    measure,
    validation_images,
)
from digitlab.registry import Registry, check_name
from digitlab.store import SampleStore, redacted

MODES = ("finetune", "scratch")
RENAMED_OPTIONS = {"check_mnist": "check_validation", "max_mnist_drop": "max_validation_drop"}
MIN_SAMPLES = 10  # training samples a retrain needs at least


def require_samples(store: SampleStore, set_name: str | None = None,
                    min_samples: int = MIN_SAMPLES) -> int:
    """The number of training samples in the pool or set; ValueError when a retrain needs more."""
    count = store.total(set_name=set_name, split="train")
    if count < min_samples:
        where = "the default pool" if set_name is None else f"set {set_name!r}"
        raise ValueError(f"{where} has {count} training samples; at least {min_samples} "
                         "are needed to retrain (draw or correct a few more)")
    return count
Progress = Callable[[float, str], None]


@dataclass
class RetrainOptions:
    """What to retrain and how; every field is a JSON value, so a job request can carry it."""

    base: str = "digits"  # the model to fine-tune, and to compare with
    mode: str = "finetune"  # or "scratch": a new model from a sample set alone
    set_name: str | None = None  # None: the default pool
    name: str | None = None  # save under this name (default: a scratch set's name, else base)
    epochs: int | None = None
    replay: int = 10  # MNIST images per sample in a fine-tune ...
    replay_minimum: int = 1000  # ... and at least this many
    learning_rate: float | None = None
    arch: str = "fast"
    sample_repeat: int | None = None
    augment: bool = True
    min_samples: int = MIN_SAMPLES
    test_subset: int | None = None  # MNIST test images measured for the card (the first N)
    validation_subset: int | None = None  # the gate's validation images (the first N)
    seed: int = 0
    check_validation: bool | None = None  # None: on for finetune, off for scratch
    max_validation_drop: float = 0.001
    min_holdout_per_class: int = MIN_HOLDOUT_PER_CLASS  # fewer of a digit: holdout not judged
    auto_promote: bool = True
    plots: bool = True

    @classmethod
    def from_dict(cls, options: dict) -> RetrainOptions:
        """Options from a JSON object; ValueError naming unknown keys or a bad mode or name."""
        accepted = [field.name for field in fields(cls)]
        renamed = sorted(set(options) & set(RENAMED_OPTIONS))
        if renamed:
            names = "; ".join(f"{old} was renamed {RENAMED_OPTIONS[old]}" for old in renamed)
            raise ValueError(f"{names}: the promotion gate measures the base model's MNIST "
                             "validation split, not MNIST test")
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(f"unknown retrain options {unknown}; accepted: {sorted(accepted)}")
        chosen = cls(**{key: value for key, value in options.items() if value is not None})
        if chosen.mode not in MODES:
            raise ValueError(f"unknown mode {chosen.mode!r}; use one of: {', '.join(MODES)}")
        subset = chosen.validation_subset
        if subset is not None and (type(subset) is not int or subset < 1):
            raise ValueError(f"validation_subset must be a positive number of images, got {subset!r}")
        least = chosen.min_holdout_per_class
        if type(least) is not int or least < 1:
            raise ValueError(f"min_holdout_per_class must be a positive count, got {least!r}")
        check_name(chosen.base)
        chosen.target()
        return chosen

    def target(self) -> str:
        """The registry name the candidate is saved under."""
        return target_name(self.base, self.mode, self.set_name, self.name)

    def to_dict(self) -> dict:
        """The options as a JSON object."""
        return asdict(self)


def target_name(base: str, mode: str = "finetune", set_name: str | None = None,
                name: str | None = None) -> str:
    """The registry name a candidate is saved under: name, else a scratch set's name, else base."""
    return check_name(name or (set_name if mode == "scratch" and set_name else base))


def retrain(options: RetrainOptions | None = None, store: SampleStore | None = None,
            registry: Registry | None = None, mnist=None,
            progress: Progress | None = None) -> dict:
    """Train a candidate, save it unpromoted, promote it if it passes the gate; return a report."""
    from digitlab.card import evaluated_card, evaluation_plots
    from digitlab.data import load_mnist
    from digitlab.evaluate import evaluate
    from digitlab.train import TrainConfig, train

    started = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    options = RetrainOptions.from_dict((options or RetrainOptions()).to_dict())  # validated
    arch = options.arch
    store, registry = store or SampleStore(), registry or Registry()
    target = options.target()

    report(0.02, "loading samples and MNIST")
    require_samples(store, options.set_name, options.min_samples)
    x_samples, y_samples = store.arrays(set_name=options.set_name, split="train")
    holdout = store.arrays(set_name=options.set_name, split="holdout")
    fingerprints = {"train_fingerprint": store.fingerprint(options.set_name, split="train"),
                    "holdout_fingerprint": store.fingerprint(options.set_name, split="holdout")}
    mnist = mnist if mnist is not None else load_mnist()
    _, (x_test, y_test) = mnist
    subset = options.test_subset or len(y_test)
    mnist_test = x_test[:subset], y_test[:subset]  # measured for the card, never gated on

    current_version = registry.current(target) if registry.versions(target) else None
    tuning = {key: value for key, value in {  # what the options set; the presets fill the rest
        "epochs": options.epochs, "learning_rate": options.learning_rate,
        "augment": options.augment, "seed": options.seed, "test_subset": options.test_subset,
        "extra_repeat": options.sample_repeat}.items() if value is not None}
    if options.mode == "finetune":  # gate on the base's split, which the replay never draws
        base_version = registry.current(options.base)
        base_card = registry.card(options.base, base_version)
        reference, split = f"{options.base}@{base_version}", gate_split(base_card)
        arch = base_card.get("arch", arch)
        replay_count = max(options.replay * len(y_samples), options.replay_minimum)
        config = TrainConfig.fine_tune(
            registry.path(options.base, base_version) / "model.keras", replay_count,
            x_samples, y_samples, arch=arch, held_out_split=split, **tuning)
        parent = base_version if target == options.base else None
    else:  # a scratch model sees no MNIST: any split of the compared model's is held out of it
        base_version, replay_count = None, 0
        reference = f"{target}@{current_version}" if current_version is not None else None
        split = None if reference is None else gate_split(registry.card(target, current_version))
        config = TrainConfig.from_samples(x_samples, y_samples, arch=arch, **tuning)
        parent = current_version
    gate = choose_gate(options, reference, split)
    validation = validation_images(split, mnist, options.validation_subset)

    source = (f"{options.base}@{base_version}" if options.mode == "finetune"
              else f"a new {arch} model")
    report(0.05, f"training {source} on {len(y_samples)} samples + {replay_count} MNIST images")
    result = train(config, mnist=mnist, progress=lambda f, m: report(0.08 + 0.72 * f, m))

    report(0.82, "evaluating the candidate and the current model")
    after = measure(result.model, validation, holdout, (x_samples, y_samples))
    before = None
    if current_version is not None:
        before = measure(registry.load(target, current_version), validation, holdout,
                         (x_samples, y_samples))
    gate_record = gate.record(before, after)
    passed, reason = gate_record["passed"], gate_record["reason"]
    evaluation = evaluate(result.model, *mnist_test)  # the card's measurement, after the decision

    report(0.9, f"saving the candidate as a new version of {target!r}")
    # calibrated on what training held out: its MNIST validation split (fine-tune), else the
    # sample holdout (a scratch model sees no MNIST); MNIST test stays a measurement
    held_out, what = result.validation, "validation split"
    if len(held_out[1]) == 0:
        held_out, what = holdout, "sample holdout"
    card = evaluated_card(result.model, result.card(), held_out, what, evaluation)
    card.metrics.update({"holdout_accuracy": after["holdout"],
                         "samples_accuracy": after["samples"]})
    card.data["samples"] = {
        "store": redacted(store.location), "set_name": options.set_name, "train_count": int(len(y_samples)),
        "holdout_count": int(len(holdout[1])), "mnist_replay": replay_count, **fingerprints}
    validation_split = None if split is None else {
        "model": reference, "settings": split, "count": int(len(validation[1]))}
    gate_record["validation_split"] = validation_split
    card.retrain = {"mode": options.mode,
                    "base": f"{options.base}@{base_version}" if base_version else None,
                    "compared_with": current_version, "before": before, "after": after,
                    "gate": gate_record}
    files = evaluation_plots(evaluation, result.history) if options.plots else None
    version = registry.save(result.model, target, card, files=files, parent=parent)
    promoted = passed and options.auto_promote
    if promoted:
        report(0.97, f"promoting {target}@{version}")
        registry.promote(target, version)
    elif passed:
        reason += " (not promoted: auto_promote is off)"
    report(1.0, f"{target}@{version} {'promoted' if promoted else 'kept unpromoted'}: {reason}")
    return {"name": target, "version": version, "mode": options.mode, "base": options.base,
            "base_version": base_version, "compared_with": current_version, "promoted": promoted,
            "reason": reason, "before": before, "after": after,
            "validation_split": validation_split, "gate": gate_record,
            "mnist_test_accuracy": evaluation.accuracy,  # a measurement, not a gate input
            "samples": {"train": int(len(y_samples)), "holdout": int(len(holdout[1])),
                        "mnist_replay": replay_count},
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m digitlab.retrain [--base B] [--mode M] [--set-name S]`."""
    parser = argparse.ArgumentParser(prog="digitlab retrain", description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="digits", help="model to fine-tune / compare with")
    parser.add_argument("--mode", default="finetune", choices=MODES)
    parser.add_argument("--set-name", default=None, help="sample set (default: the main pool)")
    parser.add_argument("--epochs", type=int, default=None)
    arguments = parser.parse_args(argv)
    options = RetrainOptions(base=arguments.base, mode=arguments.mode,
                             set_name=arguments.set_name, epochs=arguments.epochs)
    result = retrain(options, progress=lambda fraction, text: print(f"[{fraction:4.0%}] {text}"))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
