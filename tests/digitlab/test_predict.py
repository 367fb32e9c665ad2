"""The predictor: both backends agree with the Keras model, batches, threads, errors, reloads."""

from __future__ import annotations

import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

from digitlab.export import save_model_folder
from digitlab.ink import EmptyImageError
from digitlab.predict import Predictor
from digitlab.preprocess import to_mnist


@pytest.fixture(scope="module")
def model_folder(small_trained_model, tmp_path_factory):
    """The small trained model saved as .keras + .tflite + card."""
    folder = tmp_path_factory.mktemp("model")
    card = small_trained_model.card() | {"calibration": {"uncertain_threshold": 0.8}}
    return save_model_folder(small_trained_model.model, folder, card)


@pytest.fixture(scope="module")
def sample_digits(mnist):
    """The first 300 MNIST test digits as floats in [0, 1], and their labels."""
    (_, _), (x_test, y_test) = mnist
    return x_test[:300].astype(np.float32) / 255.0, y_test[:300]


def test_litert_and_keras_backends_match_the_keras_model(small_trained_model, model_folder, sample_digits):
    images, _ = sample_digits
    expected = small_trained_model.model(images[:64, ..., None], training=False).numpy()
    for backend in ("litert", "keras"):
        predictor = Predictor.load(model_folder, backend=backend)
        assert np.abs(predictor.probabilities(images[:64]) - expected).max() < 1e-4, backend


def test_batches_of_any_size_match_single_predictions(model_folder, sample_digits):
    predictor = Predictor.load(model_folder)
    images, _ = sample_digits
    batch = predictor.probabilities(images)  # 300: one chunk of 256 and a padded one of 64
    singles = np.stack([predictor.probabilities(image[None])[0] for image in images[250:270]])
    assert batch.shape == (300, 10)
    assert np.abs(batch[250:270] - singles).max() < 1e-5


def test_prediction_fields(model_folder, sample_digits):
    predictor = Predictor.load(model_folder)
    images, labels = sample_digits
    predictions = predictor.predict(images[:50])
    assert np.mean([p.digit for p in predictions] == labels[:50]) > 0.85
    first = predictions[0].to_dict()
    assert set(first) == {"digit", "confidence", "top", "probabilities", "uncertain", "not_digit"}
    assert [t["digit"] for t in first["top"]][0] == first["digit"] and len(first["top"]) == 3
    assert first["top"][0]["probability"] >= first["top"][1]["probability"] >= first["top"][2]["probability"]
    assert abs(sum(first["probabilities"]) - 1) < 1e-3
    assert predictor.uncertain_threshold == 0.8
    assert all(p.uncertain == (p.confidence < 0.8) for p in predictions)


def test_raw_images_go_through_preprocessing(model_folder, mnist):
    predictor = Predictor.load(model_folder)
    (_, _), (x_test, _) = mnist
    digit = x_test[0]  # uint8 0..255: a raw image, not a prepared one
    big_dark_on_white = 255 - np.kron(digit, np.ones((10, 10), np.uint8))
    assert predictor.predict_one(big_dark_on_white).digit == predictor.predict_one(digit / 255.0).digit


def test_blank_images_raise_a_clear_error(model_folder):
    predictor = Predictor.load(model_folder)
    with pytest.raises(EmptyImageError):
        predictor.predict_one(np.full((280, 280), 255, np.uint8))
    with pytest.raises(EmptyImageError, match="image 1"):
        predictor.predict([np.eye(50, dtype=np.uint8) * 255, np.zeros((50, 50), np.uint8)])


def test_predictor_is_thread_safe(model_folder, sample_digits):
    predictor = Predictor.load(model_folder)
    images, _ = sample_digits
    expected = predictor.probabilities(images[:40])
    failures = []

    def worker(offset):
        for index in range(offset, 40, 4):
            got = predictor.probabilities(images[index:index + 1 + offset % 3])[0]
            if np.abs(got - expected[index]).max() > 1e-5:
                failures.append(index)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_litert_path_never_imports_tensorflow(model_folder):
    probe = ("import sys, cv2, numpy as np\nfrom digitlab.predict import Predictor\n"
             f"p = Predictor.load({str(model_folder)!r})\n"
             "canvas = np.full((280, 280), 255, np.uint8)\n"
             "cv2.line(canvas, (140, 40), (140, 240), 0, 20)\n"
             "p.predict_one(canvas)\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert output.stdout.split() == ["False", "False"]


def test_a_thin_one_is_centred_whole():
    canvas = np.full((336, 336), 255, np.uint8)
    cv2.line(canvas, (170, 60), (170, 280), 0, 22)
    image = to_mnist(canvas)
    rows = np.flatnonzero(image.sum(axis=1) > 0.1)
    assert rows[0] <= 5 and rows[-1] >= 22 and rows[-1] - rows[0] >= 18
    centre_y = (image.sum(axis=1) @ np.arange(28)) / image.sum()
    assert abs(centre_y - 14) < 1
