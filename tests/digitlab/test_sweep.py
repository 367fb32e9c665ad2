"""Sweeps: grid parsing, trial lists, choosing the best over seeds, and a real tiny sweep on Ray."""

from __future__ import annotations

import pytest

from digitlab.sweep import best_settings, parse_grid, register_trials, run_sweep, trial_settings


def test_a_grid_is_typed_like_train_config_and_bad_fields_are_named():
    assert parse_grid(["learning_rate=3e-3,6e-3", "batch-size=64", "augment=false,true"]) == {
        "learning_rate": [0.003, 0.006], "batch_size": [64], "augment": [False, True]}
    with pytest.raises(ValueError, match="cannot sweep 'arch'; choose from epochs"):
        parse_grid(["arch=fast,default"])
    with pytest.raises(ValueError, match="values of batch_size must be int"):
        parse_grid(["batch_size=big"])
    with pytest.raises(ValueError, match="needs values"):
        parse_grid(["epochs="])


def test_every_combination_runs_once_per_seed():
    trials = trial_settings({"arch": "fast"}, {"learning_rate": [1, 2], "batch_size": [8, 16]},
                            [0, 1])
    assert len(trials) == 8 and {trial["seed"] for trial in trials} == {0, 1}
    assert {(t["learning_rate"], t["batch_size"]) for t in trials} == {(1, 8), (1, 16), (2, 8), (2, 16)}
    assert trial_settings({"arch": "fast"}, {}, [3]) == [{"arch": "fast", "seed": 3}]


def test_the_best_settings_have_the_best_mean_over_seeds_not_the_best_single_trial():
    records = [{"settings": {"learning_rate": 1, "seed": 0}, "val_accuracy": 0.99},
               {"settings": {"learning_rate": 1, "seed": 1}, "val_accuracy": 0.90},
               {"settings": {"learning_rate": 2, "seed": 0}, "val_accuracy": 0.97},
               {"settings": {"learning_rate": 2, "seed": 1}, "val_accuracy": 0.96}]
    chosen, ordered = best_settings(records)
    assert chosen == {"learning_rate": 2}  # mean 0.965 beats 0.945, though 0.99 is the top trial
    assert [r["settings"]["seed"] for r in ordered[:2]] == [0, 1]
    assert ordered[0]["mean_val_accuracy_over_seeds"] == pytest.approx(0.965)


@pytest.mark.slow
def test_a_two_trial_sweep_on_local_ray_registers_the_best_with_its_card(isolated_dirs):
    pytest.importorskip("ray", reason="Ray Tune is the .[scale] extra")
    from digitlab.registry import Registry

    base = {"arch": "fast", "epochs": 1, "train_subset": 1000, "test_subset": 300,
            "batch_size": 64, "augment": False}
    records = run_sweep(trial_settings(base, {"learning_rate": [3e-3, 6e-3]}, [0]),
                        folder=isolated_dirs / "sweep")
    assert sorted(r["settings"]["learning_rate"] for r in records) == [3e-3, 6e-3]
    assert all(0.1 < r["val_accuracy"] <= 1.0 for r in records)
    chosen, ordered = best_settings(records)
    assert register_trials(ordered, "swept") == ["swept@1"]
    card = Registry().card("swept", 1)
    assert card["config"]["learning_rate"] == chosen["learning_rate"]
    assert card["metrics"]["val_accuracy"] == pytest.approx(ordered[0]["val_accuracy"])
    assert "uncertain_threshold" in card["calibration"]  # the same card a plain train gives
