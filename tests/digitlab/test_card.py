"""The model card: assembled in memory from training, evaluation and retraining, saved once."""

from __future__ import annotations

from digitlab.card import ModelCard, evaluated_card
from digitlab.evaluate import evaluate
from digitlab.registry import Registry


def test_card_merges_what_each_step_adds_and_leaves_out_what_is_unknown():
    training = {"arch": "fast", "metrics": {"val_accuracy": 0.99}, "data": {"mnist_sha256": "x"}}
    card = ModelCard(training, metrics={"mnist_test_accuracy": 0.98}, data={"samples": {"n": 3}})
    assert card.to_dict() == {"arch": "fast",
                              "metrics": {"val_accuracy": 0.99, "mnist_test_accuracy": 0.98},
                              "data": {"mnist_sha256": "x", "samples": {"n": 3}}}
    assert training["metrics"] == {"val_accuracy": 0.99}  # the training part is not changed


def test_registry_saves_an_evaluated_card_once_with_the_model(small_trained_model, mnist,
                                                               isolated_dirs):
    _, (x_test, y_test) = mnist
    evaluation = evaluate(small_trained_model.model, x_test[:500], y_test[:500])
    card = evaluated_card(small_trained_model.model, small_trained_model.card(),
                          small_trained_model.validation, "validation split", evaluation)
    registry = Registry()
    version = registry.save(small_trained_model.model, "digits", card)
    saved = registry.card("digits", version)
    assert saved["metrics"]["mnist_test_count"] == 500
    assert saved["calibration"]["measured_on"] == \
        f"validation split ({len(small_trained_model.validation[1])} images)"
    assert saved["per_class"] == evaluation.summary()["per_class"]
    assert saved["name"] == "digits" and saved["version"] == version
