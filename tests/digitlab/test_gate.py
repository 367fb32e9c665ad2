"""The promotion gate: its rules, the split it gates on, and when it checks MNIST validation."""

from __future__ import annotations

import pytest

from digitlab.gate import Gate, choose_gate, gate_split
from digitlab.retrain import RetrainOptions


def test_gate_rules():
    gate = Gate()
    before = {"base_validation": 0.99, "validation_count": 6000, "holdout": 0.8,
              "holdout_count": 5}
    assert gate.decide(None, before)[0]
    assert gate.decide(before, {**before, "base_validation": 0.989})[0]  # 0.1 points is fine
    passed, reason = gate.decide(before, {**before, "base_validation": 0.9885})
    assert not passed and "MNIST validation accuracy would drop from 99.00% to 98.85%" in reason
    assert "6000 held-out validation images" in reason
    passed, reason = gate.decide(before, {**before, "holdout": 0.6})
    assert not passed and "holdout accuracy would drop" in reason
    unchecked = Gate(check_validation=False, skipped_because="digits@1 has no split")
    passed, reason = unchecked.decide(before, {**before, "base_validation": 0.5})
    assert passed and "sample holdout only" in reason and "digits@1 has no split" in reason
    assert not unchecked.decide(before, {**before, "holdout": 0.6})[0]  # the holdout still counts
    no_holdout = {**before, "holdout": None, "holdout_count": 0}
    assert "no holdout samples" in gate.decide(no_holdout, no_holdout)[1]


def test_the_gate_split_comes_from_the_card_and_a_fine_tune_hands_it_on():
    own = {"seed": 3, "validation_split": 0.1, "train_subset": None}
    assert gate_split({"config": {**own, "held_out_split": None}}) == own
    fine_tuned = {"seed": 0, "validation_split": 0.1, "train_subset": 1112, "held_out_split": own}
    assert gate_split({"config": fine_tuned}) == own  # the lineage's split, not its small one
    assert gate_split({"config": {"seed": 0, "validation_split": 0.0}}) is None  # scratch model
    assert gate_split({}) is None


def test_choose_gate_checks_validation_where_there_is_a_split():
    split = {"seed": 0, "validation_split": 0.1, "train_subset": None}
    finetune, scratch = RetrainOptions(), RetrainOptions(mode="scratch")
    assert choose_gate(finetune, "digits@1", split).check_validation
    fallback = choose_gate(finetune, "digits@1", None)
    assert not fallback.check_validation
    assert fallback.skipped_because == "digits@1 has no MNIST validation split to gate on"
    assert not choose_gate(scratch, "digits@1", split).check_validation  # as before: off
    assert "scratch mode" in choose_gate(scratch, "digits@1", split).skipped_because
    assert choose_gate(RetrainOptions(mode="scratch", check_validation=True), "digits@1",
                       split).check_validation
    off = choose_gate(RetrainOptions(check_validation=False), "digits@1", split)
    assert not off.check_validation and off.skipped_because == "check_validation is off"
    with pytest.raises(ValueError, match="digits@1 has no MNIST validation split"):
        choose_gate(RetrainOptions(check_validation=True), "digits@1", None)
