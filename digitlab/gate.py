"""The promotion gate of a retrain: what it measures, on which images, and how it decides.

The gate compares a candidate with the current model on the base model's MNIST validation
split, rebuilt from its card (`gate_split`) and kept out of the fine-tune's replay, and on the
sample holdout. MNIST test is never one of its inputs: it stays a final measurement for the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digitlab.retrain import RetrainOptions


@dataclass
class Gate:
    """Promotion rules: MNIST validation may drop by max_validation_drop, the holdout not at all."""

    max_validation_drop: float = 0.001  # 0.1 percentage points
    check_validation: bool = True
    skipped_because: str = "check_validation is off"  # said when check_validation is False

    def decide(self, before: dict | None, after: dict) -> tuple[bool, str]:
        """(promote?, reason) for a candidate's metrics against the current model's."""
        if before is None:
            return True, "first version: there is no current model to compare with"
        tolerance = 1e-9
        if self.check_validation:
            allowed = before["base_validation"] - self.max_validation_drop - tolerance
            if after["base_validation"] < allowed:
                return False, (f"MNIST validation accuracy would drop from "
                               f"{before['base_validation']:.2%} to {after['base_validation']:.2%} "
                               f"on {after['validation_count']} held-out validation images; the "
                               f"gate allows at most {self.max_validation_drop * 100:.1f} points")
        if before["holdout"] is not None and after["holdout"] < before["holdout"] - tolerance:
            return False, (f"sample holdout accuracy would drop from {before['holdout']:.2%} to "
                           f"{after['holdout']:.2%} ({after['holdout_count']} holdout samples)")
        holdout = ("no holdout samples yet" if before["holdout"] is None else
                   f"holdout {before['holdout']:.2%} -> {after['holdout']:.2%}")
        if not self.check_validation:
            return True, (f"passed on the sample holdout only, {holdout}; MNIST validation not "
                          f"checked: {self.skipped_because}")
        return True, (f"passed: MNIST validation {before['base_validation']:.2%} -> "
                      f"{after['base_validation']:.2%}, {holdout}")


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
                check_validation=wanted and split is not None, skipped_because=why)


def measure(model, validation, holdout, samples) -> dict:
    """Accuracies on the gate's MNIST validation images, the sample holdout and the samples."""
    from digitlab.evaluate import evaluate

    def score(images, labels):
        return None if len(labels) == 0 else evaluate(model, images, labels).accuracy

    return {"base_validation": score(*validation), "validation_count": int(len(validation[1])),
            "holdout": score(*holdout), "holdout_count": int(len(holdout[1])),
            "samples": score(*samples)}


def validation_images(split: dict | None, mnist, subset: int | None = None):
    """The gate's MNIST validation images and labels for a split (empty without one)."""
    from digitlab.evaluate import split_validation_set

    (x_train, y_train), _ = mnist
    images = split_validation_set(split, mnist) if split else None
    if images is None:
        return x_train[:0], y_train[:0]
    return images[0][:subset], images[1][:subset]
