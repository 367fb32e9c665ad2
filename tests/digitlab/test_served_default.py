"""What `digitlab serve` and the app load by default, measured through the predictor as served:
the registry's current digit model with its fused "not a digit" rejector, on all of MNIST test."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.predict import Predictor, read_card
from digitlab.registry import Registry

# Issue 15's bar: the committed ensemble (one 30-epoch and two 15-epoch handwriting-recipe
# members) reaches 99.70 % through LiteRT with its fused rejector, as served.
SERVED_BAR = 0.9970


@pytest.fixture(scope="module")
def served():
    registry = Registry()  # the committed registry (tests never write to it)
    return Predictor.load("digits", reader=None), registry.card("digits")


def test_the_served_default_reaches_its_target_on_mnist_test(served, mnist):
    predictor, card = served
    (_, _), (x_test, y_test) = mnist
    predictions = predictor.predict(list(x_test.astype(np.float32) / 255.0))
    accuracy = float(np.mean([p.digit for p in predictions] == y_test))
    assert accuracy >= SERVED_BAR
    assert abs(accuracy - card["metrics"].get("litert_mnist_test_accuracy",
                                              card["metrics"]["mnist_test_accuracy"])) < 0.0005
    rejected = float(np.mean([p.not_digit for p in predictions]))
    assert rejected <= 0.005  # issue 15: at most 0.5 % of MNIST test called "not a digit"


def test_the_served_rejector_is_fused_with_the_served_model(served):
    predictor, _ = served
    assert predictor.rejector is not None
    assert predictor.rejector.digit_model == predictor.model_id  # one call answers both


def test_an_ensemble_card_names_its_members_and_how_it_was_calibrated(served):
    predictor, card = served
    if card.get("arch") != "ensemble":
        pytest.skip(f"the served default {predictor.model_id} is a single model")
    assert 2 <= len(card["members"]) <= 3
    assert all(member["mnist_test_accuracy"] for member in card["members"])
    assert "MNIST test" not in card["calibration"]["measured_on"]
    assert card["litert"] == {"quantize": "dynamic-range"}
    assert read_card(Registry().path("notdigit")).get("litert") == card["litert"]
