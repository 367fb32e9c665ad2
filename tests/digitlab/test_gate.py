"""The promotion gate: its rules, the split it gates on, when it checks MNIST validation, and
when the holdout is too small to judge."""

from __future__ import annotations

import pytest

from digitlab.gate import Gate, choose_gate, gate_split, holdout_per_class
from digitlab.retrain import RetrainOptions

FIVE_OF_EACH = {str(digit): 5 for digit in range(10)}


def test_gate_rules():
    gate = Gate()
    before = {"base_validation": 0.99, "validation_count": 6000, "holdout": 0.8,
              "holdout_count": 50, "holdout_per_class": FIVE_OF_EACH}
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
    no_holdout = {**before, "holdout": None, "holdout_count": 0, "holdout_per_class": {}}
    assert "no holdout samples" in gate.decide(no_holdout, no_holdout)[1]


def test_a_holdout_too_small_to_judge_is_said_and_refused_where_it_is_the_only_rule():
    few = {"base_validation": 0.99, "validation_count": 6000, "holdout": 0.8,
           "holdout_count": 46, "holdout_per_class": {**FIVE_OF_EACH, "3": 1}}
    passed, reason = Gate().decide(few, {**few, "holdout": 0.6})  # validation still gates
    assert passed and reason.startswith("passed: MNIST validation 99.00% -> 99.00%")
    assert ("holdout not judged: not enough holdout samples to judge (46 in all; need at least "
            "5 of each digit, digit 3 has 1)") in reason
    scratch = Gate(check_validation=False, skipped_because="scratch mode")
    passed, reason = scratch.decide(few, {**few, "holdout": 0.9})  # better, but too few to tell
    assert not passed and reason.startswith("not promoted: not enough holdout samples to judge")
    assert "sample holdout only (MNIST validation not checked: scratch mode)" in reason
    empty = {**few, "holdout": None, "holdout_count": 0, "holdout_per_class": {"3": 0}}
    assert not scratch.decide(empty, empty)[0]
    assert scratch.decide(None, few)[0]  # a first version: nothing to compare, no rule applies
    lenient = Gate(check_validation=False, min_holdout_per_class=1)
    assert lenient.decide(few, {**few, "holdout": 0.9})[0]
    record = scratch.record(few, few)
    assert record["holdout_judged"] is False and record["min_holdout_per_class"] == 5
    assert record["skipped_because"] == "scratch mode" and record["rule"] == scratch.rule()


def test_holdout_counts_cover_every_digit_trained_on():
    assert holdout_per_class([1, 1, 7], [7, 3, 3]) == {"1": 2, "3": 0, "7": 1}
    assert holdout_per_class([], []) == {}


def test_the_rule_names_what_each_gate_checks():
    assert Gate().rule() == ("MNIST validation may drop at most 0.1 points, and the sample "
                             "holdout may not drop (judged only with at least 5 samples of each "
                             "digit)")
    scratch = choose_gate(RetrainOptions(mode="scratch"), "digits@1", None)
    assert scratch.rule().startswith("the sample holdout only: it may not drop, and with fewer "
                                     "than 5 samples of a digit it cannot be judged")
    assert scratch.rule().endswith("MNIST validation is not checked: scratch mode checks MNIST "
                                   "validation only with check_validation on")
    assert choose_gate(RetrainOptions(min_holdout_per_class=8), None, None).min_holdout_per_class == 8
    with pytest.raises(ValueError, match="min_holdout_per_class must be a positive count"):
        RetrainOptions.from_dict({"min_holdout_per_class": 0})


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
