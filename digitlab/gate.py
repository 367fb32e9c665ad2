"""The promotion gate of a retrain: what it measures, on which images, and how it decides.

The gate compares a candidate with the current model on the base model's MNIST validation
split, rebuilt from its card (`gate_split`) and kept out of the fine-tune's replay, and on the
sample holdout. MNIST test is never one of its inputs: it stays a final measurement for the card.
A holdout with fewer than `MIN_HOLDOUT_PER_CLASS` samples of a digit (of those in the holdout or
the training samples) is not judged: a gate that has MNIST validation says so in its reason, and
a gate on the holdout only refuses, since it has nothing else to pass on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digitlab.retrain import RetrainOptions

MIN_HOLDOUT_PER_CLASS = 5  # holdout samples of each digit the gate needs to judge the holdout


@dataclass
class Gate:
    """Promotion rules: MNIST validation may drop by max_validation_drop, the holdout not at all."""

    max_validation_drop: float = 0.001  # 0.1 percentage points
    check_validation: bool = True
    skipped_because: str = "check_validation is off"  # said when check_validation is False
    min_holdout_per_class: int = MIN_HOLDOUT_PER_CLASS  # fewer of a digit: the holdout is not judged

    def rule(self) -> str:
        """The rule this gate applies, in words (the app shows it next to the verdict)."""
        least = self.min_holdout_per_class
        if self.check_validation:
            return (f"MNIST validation may drop at most {self.max_validation_drop * 100:.1f} "
                    f"points, and the sample holdout may not drop (judged only with at least "
                    f"{least} samples of each digit)")
        reason = f": {self.skipped_because}" if self.skipped_because else ""
        return (f"the sample holdout only: it may not drop, and with fewer than {least} samples "
                f"of a digit it cannot be judged, so nothing is promoted; MNIST validation is "
                f"not checked{reason}")

    def holdout_shortfall(self, measured: dict) -> str | None:
        """Why the holdout is too small to judge (None when it is big enough)."""
        count = measured.get("holdout_count") or 0
        need = f"need at least {self.min_holdout_per_class} of each digit"
        if count == 0 or measured.get("holdout") is None:
            return f"no holdout samples yet ({need})"
        per_class = {int(digit): number
                     for digit, number in (measured.get("holdout_per_class") or {}).items()}
        if not per_class:
            return f"{count} holdout samples, with no count per digit to judge them by ({need})"
        digit, fewest = min(per_class.items(), key=lambda item: (item[1], item[0]))
        if fewest >= self.min_holdout_per_class:
            return None
        return (f"not enough holdout samples to judge ({count} in all; {need}, digit {digit} "
                f"has {fewest})")

    def decide(self, before: dict | None, after: dict) -> tuple[bool, str]:
        """(promote?, reason) for a candidate's metrics against the current model's."""
        if before is None:
            return True, ("first version: there is no current model to compare with, so no "
                          "rule applies")
        tolerance = 1e-9
        if self.check_validation:
            allowed = before["base_validation"] - self.max_validation_drop - tolerance
            if after["base_validation"] < allowed:
                return False, (f"MNIST validation accuracy would drop from "
                               f"{before['base_validation']:.2%} to {after['base_validation']:.2%} "
                               f"on {after['validation_count']} held-out validation images; the "
                               f"gate allows at most {self.max_validation_drop * 100:.1f} points")
        shortfall = self.holdout_shortfall(after)
        if shortfall is None and after["holdout"] < before["holdout"] - tolerance:
            return False, (f"sample holdout accuracy would drop from {before['holdout']:.2%} to "
                           f"{after['holdout']:.2%} ({after['holdout_count']} holdout samples)")
        holdout = (f"holdout not judged: {shortfall}" if shortfall else
                   f"holdout {before['holdout']:.2%} -> {after['holdout']:.2%}")
        if not self.check_validation:
            unchecked = f"MNIST validation not checked: {self.skipped_because}"
            if shortfall:
                return False, (f"not promoted: {shortfall}, and this gate checks the sample "
                               f"holdout only ({unchecked}), so it has nothing to pass on")
            return True, f"passed on the sample holdout only, {holdout}; {unchecked}"
        return True, (f"passed: MNIST validation {before['base_validation']:.2%} -> "
                      f"{after['base_validation']:.2%}, {holdout}")

    def record(self, before: dict | None, after: dict) -> dict:
        """The decision with the rule and settings it was made under, as a card records it."""
        passed, reason = self.decide(before, after)
        return {"passed": passed, "reason": reason, "rule": self.rule(),
                "max_validation_drop": self.max_validation_drop,
                "check_validation": self.check_validation,
                "skipped_because": None if self.check_validation else self.skipped_because,
                "min_holdout_per_class": self.min_holdout_per_class,
                "holdout_judged": self.holdout_shortfall(after) is None}


def gate_split(card: dict) -> dict | None:
    """The MNIST split a retrain of this model gates on (None without one).

    A fine-tuned model hands on the split its base gated on (kept out of its replay too); any
    other model offers its own validation split, as its card's config records it.
    """
    config = card.get("config", {})
    if config.get("held_out_split"):
        return dict(config["held_out_split"])
    if not config.get("validation_split"):
        return None
    return {"seed": config.get("seed", 0), "validation_split": config["validation_split"],
            "train_subset": config.get("train_subset")}


def choose_gate(options: RetrainOptions, reference: str | None, split: dict | None) -> Gate:
    """The options' gate; ValueError when check_validation is on but the reference has no split."""
    if options.check_validation and reference is not None and split is None:
        raise ValueError(f"check_validation is on, but {reference} has no MNIST validation split "
                         "to gate on (its card has no validation_split); leave it unset to gate "
                         "on the sample holdout only")
    if options.check_validation is None and options.mode == "scratch":
        wanted, why = False, "scratch mode checks MNIST validation only with check_validation on"
    else:
        wanted = options.check_validation is not False
        why = "check_validation is off" if not wanted else \
            f"{reference} has no MNIST validation split to gate on"
    return Gate(max_validation_drop=options.max_validation_drop,
                check_validation=wanted and split is not None, skipped_because=why,
                min_holdout_per_class=options.min_holdout_per_class)


def measure(model, validation, holdout, samples) -> dict:
    """Accuracies on the gate's MNIST validation images, the sample holdout and the samples."""
    from digitlab.evaluate import evaluate

    def score(images, labels):
        return None if len(labels) == 0 else evaluate(model, images, labels).accuracy

    return {"base_validation": score(*validation), "validation_count": int(len(validation[1])),
            "holdout": score(*holdout), "holdout_count": int(len(holdout[1])),
            "holdout_per_class": holdout_per_class(holdout[1], samples[1]),
            "samples": score(*samples), "samples_count": int(len(samples[1]))}


def holdout_per_class(holdout_labels, sample_labels) -> dict[str, int]:
    """Holdout samples of each digit in the holdout or the training samples ("3": 0 when none)."""
    labels = [int(label) for label in holdout_labels]
    digits = sorted(set(labels) | {int(label) for label in sample_labels})
    return {str(digit): labels.count(digit) for digit in digits}


def validation_images(split: dict | None, mnist, subset: int | None = None):
    """The gate's MNIST validation images and labels for a split (empty without one)."""
    from digitlab.evaluate import split_validation_set

    (x_train, y_train), _ = mnist
    images = split_validation_set(split, mnist) if split else None
    if images is None:
        return x_train[:0], y_train[:0]
    return images[0][:subset], images[1][:subset]
