""""Not a digit": the committed rejector on marks it never trained on, digits it must keep,
and where the predictor, readings and the JSON use it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitlab.negatives import HELD_OUT_KINDS, TRAINING_KINDS, make_marks, paper, polyline
from digitlab.predict import Predictor
from tests.app.helpers import COMMITTED_MODEL, ROOT, SHAPES, draw

COMMITTED_REJECTOR = ROOT / "models" / "notdigit" / "1"
FRESH_SEED = 2026  # not the seeds training (0) or its card (1) drew marks with


@pytest.fixture(scope="module")
def predictor():
    """The committed digit model with the committed rejector (no line reader)."""
    return Predictor.load(COMMITTED_MODEL, reader=None, rejector=COMMITTED_REJECTOR)


def five_bars() -> np.ndarray:
    """Five vertical bars on white paper, the mark the model used to call "4, 100 % sure"."""
    page = paper()
    for x in range(24, 100, 16):
        polyline(page, [(x, 20), (x, 92)], 6)
    return page


def test_five_bars_are_not_a_digit(predictor):
    answer = predictor.predict_one(five_bars())
    assert answer.not_digit and answer.to_dict()["not_digit"] is True


def test_marks_of_kinds_never_trained_on_are_rejected(predictor):
    shares = {kind: float(np.mean([p.not_digit for p in predictor.predict(
        make_marks(kind, 200, FRESH_SEED))])) for kind in HELD_OUT_KINDS}
    assert np.mean(list(shares.values())) >= 0.90, shares


def test_mnist_test_digits_are_kept(predictor, mnist):
    (_, _), (x_test, _) = mnist
    rejected = np.mean([p.not_digit for p in predictor.predict(x_test.astype(np.float32) / 255)])
    assert rejected <= 0.005


def test_canvas_drawings_are_kept(predictor, mnist):
    from digitlab.app.strokes import StrokeRecorder
    from digitlab.rejector_train import canvas_digits

    (_, _), (x_test, _) = mnist
    drawn = canvas_digits(x_test, 1000, FRESH_SEED)
    assert np.mean([p.not_digit for p in predictor.predict(drawn)]) <= 0.01
    for shape in SHAPES.values():  # the shapes the app tests draw with a pen
        recorder = StrokeRecorder(336, 336, 22.0)
        draw(recorder, shape)
        assert not predictor.predict_one(recorder.image()).not_digit


def letter_k() -> np.ndarray:
    """A 'K': one connected mark (five separate bars would rightly read as five 1s)."""
    page = paper()
    cv2.putText(page, "K", (24, 90), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 0, 7, cv2.LINE_AA)
    return page


def test_a_reading_leaves_marks_out(predictor, mnist):
    (_, _), (x_test, y_test) = mnist
    assert predictor.predict_one(letter_k()).not_digit
    page = np.full((200, 420), 255, np.uint8)
    page[40:152, 20:132] = 255 - cv2.resize(x_test[0], (112, 112))
    page[40:152, 260:372] = letter_k()
    reading = predictor.read(page)
    assert reading.text == str(y_test[0]) and len(reading.digits) == 1 and reading.marks == 1
    assert Predictor.load(COMMITTED_MODEL, reader=None, rejector=None).read(page).text != \
        reading.text  # without the rejector the mark is read as a digit


def test_without_a_rejector_nothing_is_rejected():
    plain = Predictor.load(COMMITTED_MODEL, reader=None, rejector=None)
    assert plain.rejector is None and not plain.predict_one(five_bars()).not_digit


def test_marks_are_deterministic_and_kinds_checked(mnist):
    (x_train, _), _ = mnist
    for kind in [*TRAINING_KINDS, *HELD_OUT_KINDS]:
        first = make_marks(kind, 3, 5, digits=x_train[:100])
        assert first.shape == (3, 28, 28) and 0 <= first.min() and first.max() <= 1
        np.testing.assert_array_equal(first, make_marks(kind, 3, 5, digits=x_train[:100]))
    with pytest.raises(ValueError, match="unknown kind"):
        make_marks("circles", 1, 0)
    with pytest.raises(ValueError, match="digits"):
        make_marks("pairs", 1, 0)


def test_an_unknown_augment_recipe_is_refused_before_training(mnist):
    from digitlab.rejector_train import RejectorConfig, train_rejector

    with pytest.raises(ValueError, match="augment_recipe must be one of"):
        train_rejector(RejectorConfig(augment_recipe="marker"), mnist=mnist, progress=lambda text: None)


def test_a_tiny_training_run_calibrates_each_score_and_measures(mnist, small_trained_model):
    from digitlab.backends import KerasBackend
    from digitlab.digit_distance import class_statistics, feature_model
    from digitlab.rejector_train import RejectorConfig, train_rejector

    config = RejectorConfig(negatives_per_kind=60, canvas_digits=200, validation_digits=500,
                            train_digits=3000, test_digits=1000, measured_per_kind=30, epochs=1)
    digit_model = small_trained_model.model
    result = train_rejector(config, mnist=mnist, progress=lambda text: None,
                            digit_model=digit_model)
    card, model = result["card"], result["model"]
    network_threshold, distance_threshold = card["calibration"]["not_digit_thresholds"]
    assert 0.0 < network_threshold < 1.0 and distance_threshold > 0
    assert card["metrics"]["rejected_validation_digits"] <= config.max_rejected + 1 / 500
    assert set(card["metrics"]["rejected_held_out_kinds"]) == set(HELD_OUT_KINDS)
    assert model.output_shape == (None, 12)  # two scores, then the digit model's ten answers

    # the in-graph distance equals the Mahalanobis distance computed directly (the oracle)
    (x_train, y_train), (x_test, _) = mnist
    features = KerasBackend(feature_model(digit_model))
    learned = slice(0, config.train_digits)  # the digits it learned from, before the validation ones
    means, precision = class_statistics(np.asarray(features(
        x_train[learned, ..., None].astype(np.float32) / 255)), y_train[learned])
    images = x_test[:20, ..., None].astype(np.float32) / 255
    f = np.asarray(features(images), np.float64)
    direct = np.min([np.einsum("ij,jk,ik->i", f - m, precision, f - m) for m in means], axis=0)
    outputs = np.asarray(KerasBackend(model)(images))
    np.testing.assert_allclose(outputs[:, 1], direct, rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(outputs[:, 2:], KerasBackend(digit_model)(images), atol=1e-5)


def test_the_committed_pair_answers_in_one_call_with_the_digit_models_own_probabilities(mnist,
                                                                                     monkeypatch):
    from digitlab.paths import models_dir

    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(ROOT / "models"))
    assert models_dir() == ROOT / "models"
    from digitlab.registry import Registry

    fused = Predictor.load("digits", reader=None)  # the current digits and the notdigit carrying it
    current = f"digits@{Registry(ROOT / 'models').current('digits')}"
    assert fused.rejector.digit_model == fused.model_id == current
    (_, _), (x_test, _) = mnist
    images = x_test[:300].astype(np.float32) / 255
    own = fused.backend(images[..., None])  # the oracle: the digit model alone
    calls = []
    backend = fused.backend
    monkeypatch.setattr(fused, "backend", lambda batch: calls.append(len(batch)) or backend(batch))
    predictions = fused.predict(images)
    assert calls == []  # the rejector's one call gave the digit probabilities too
    np.testing.assert_allclose([p.probabilities for p in predictions], own, atol=1e-5)
