"""The result card of a training job: the model in use next to the candidate, the gate's rule,
an honest verdict (first version, no gain, too few holdout samples) and intervals."""

from __future__ import annotations

import pytest

from digitlab.app.training import wilson_interval
from digitlab.gate import Gate
from digitlab.processes import wait_until
from tests.app.fakes import AFTER, BEFORE

SCRATCH_SKIP = "scratch mode checks MNIST validation only with check_validation on"
JUDGEABLE = {"holdout_count": 50, "holdout_per_class": {str(digit): 5 for digit in range(10)}}


def finish(app, start) -> str:
    """Start a job with `start`, wait for its card and return the card's HTML."""
    app.jobs.polls = 0  # the fake job runs for two polls, so this page follows it first
    start()
    wait_until(lambda: app.retrain.outcome is not None, 10, "the result card")
    return app.retrain.result.value


def scratch_result(app, version: int, before: dict | None, after: dict) -> None:
    """Make the fake job a scratch model of set my-digits, gated as retrain would gate it."""
    app.jobs.result = {"name": "my-digits", "version": version, "mode": "scratch",
                       "compared_with": None if before is None else version - 1,
                       "promoted": False, "before": before, "after": after, "reason": "?"}
    gate = Gate(check_validation=False, skipped_because=SCRATCH_SKIP)
    app.session.registry.gate = gate.record(before, after)


def test_wilson_interval_matches_hand_worked_values():
    low, high = wilson_interval(8, 10)  # centre 0.99208 / 1.38416, half 0.31362 / 1.38416
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and round(high, 3) == 0.278
    low, high = wilson_interval(10, 10)
    assert round(low, 3) == 0.722 and high == 1.0
    with pytest.raises(ValueError):
        wilson_interval(3, 0)


def test_a_first_custom_model_names_the_model_in_use_and_is_in_use_only_once_promoted(app):
    app.models.follow("digits")  # the app uses digits@1
    after = {**AFTER, "base_validation": None, "validation_count": 0}
    scratch_result(app, 1, None, after)
    card = finish(app, lambda: app.retrain.start_scratch("my-digits"))
    assert 'In use: <b class="dl-in-use">digits@1</b>' in card
    assert 'Candidate: <b class="dl-candidate">my-digits@1</b> <span class="dl-hint">not in use' \
        in card
    assert "passes the gate" not in card and "now in use" not in card
    assert 'data-verdict="neutral"' in card and "first version of my-digits" in card
    assert "digits@1 stays in use until you switch" in card
    assert "<th>compared with no my-digits yet</th>" in card
    assert app.retrain.promote_button.button_style == ""  # not the green of a gate passed
    app.retrain.promote_button.click()
    assert app.session.registry.promoted == [("my-digits", 1)]
    card = app.retrain.result.value
    assert 'In use: <b class="dl-in-use">my-digits@1</b>' in card
    assert '<span class="dl-better">now in use</span>' in card
    assert "my-digits@1 is promoted and now in use" in app.message.value


def test_the_card_says_which_rule_each_mode_gates_on(app):
    card = finish(app, app.retrain.finetune_button.click)
    assert ("Gate for a fine-tune: MNIST validation may drop at most 0.1 points, and the sample "
            "holdout may not drop (judged only with at least 5 samples of each digit)") in card
    assert "<th>compared with digits@1</th>" in card
    scratch_result(app, 2, {**BEFORE, **JUDGEABLE}, {**AFTER, **JUDGEABLE})
    card = finish(app, lambda: app.retrain.start_scratch("my-digits"))
    assert "Gate for a model trained from scratch: the sample holdout only: it may not drop" in card
    assert f"MNIST validation is not checked: {SCRATCH_SKIP}" in card
    assert "<th>compared with my-digits@1</th>" in card


def test_too_few_holdout_samples_are_not_judged(app):
    card = finish(app, app.retrain.finetune_button.click)  # 2 holdout samples of a digit
    assert "passes the gate (holdout not judged: too few samples)" in card
    assert "holdout not judged: not enough holdout samples to judge (4 in all" in card
    scratch_result(app, 2, BEFORE, AFTER)  # the holdout is all a scratch gate has
    card = finish(app, lambda: app.retrain.start_scratch("my-digits"))
    assert 'data-verdict="unsure"' in card and "too few holdout samples to judge it" in card
    assert "passes the gate" not in card
    assert "need at least 5 of each digit, digit 1 has 2" in card
    assert app.retrain.promote_button.description == "Promote v2 anyway"
    assert app.retrain.promote_button.button_style == "warning"


def test_a_fine_tune_with_no_gain_says_so_in_a_neutral_style(app):
    unchanged = {**BEFORE, **JUDGEABLE}
    app.jobs.result = {**app.jobs.result, "before": unchanged,
                       "after": {**unchanged, "base_validation": 0.979}}
    app.session.registry.gate = Gate().record(unchanged, app.jobs.result["after"])
    card = finish(app, app.retrain.finetune_button.click)
    assert app.retrain.outcome.passed  # the rules allow it ...
    assert 'data-verdict="neutral"' in card and "dl-better" not in card  # ... but it is no better
    assert "passes the gate, but no gain: it is not better on anything measured" in card
    assert app.retrain.promote_button.button_style == ""


def test_small_sample_accuracies_show_wilson_intervals(app):
    card = finish(app, app.retrain.finetune_button.click)
    validation = ('<td>MNIST validation</td><td>98.0%</td>'
                  '<td>97.9% <span class="dl-worse">(-0.1)</span></td></tr>')
    assert validation in card  # on 6000 images: no interval
    holdout = card[card.index("<td>Holdout samples</td>"):].split("</tr>")[0]
    assert "Wilson 95 % interval on 4 images" in holdout
    assert "15–85 %" in holdout and "30–95 %" in holdout  # 2 of 4 and 3 of 4
    samples = card[card.index("<td>Your samples (trained on)</td>"):].split("</tr>")[0]
    assert "(+35.0)" in samples and "45–74 %" in samples and "83–99 %" in samples  # of 40


def test_a_candidate_promoted_by_its_job_is_in_use_only_where_the_app_uses_it(app):
    app.jobs.result = {**app.jobs.result, "promoted": True}  # e.g. a job with auto_promote on
    app.state.model = "digits@1"  # this page pins the old version
    card = finish(app, app.retrain.finetune_button.click)
    assert 'In use: <b class="dl-in-use">digits@1</b>' in card
    assert '<span class="dl-hint">promoted, but not in use here</span>' in card
    assert "now in use" not in card
