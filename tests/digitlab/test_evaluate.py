"""Evaluation metrics checked against small hand-computed oracles, and the plots they feed."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from digitlab import plots
from digitlab.evaluate import Evaluation, evaluate, mean_and_std


def one_hot_probabilities(predicted, confidence):
    """Rows with `confidence` on the predicted digit and the rest spread evenly."""
    rows = np.full((len(predicted), 10), 0.0)
    for row, (digit, value) in enumerate(zip(predicted, confidence)):
        rows[row] = (1 - value) / 9
        rows[row, digit] = value
    return rows


@pytest.fixture
def toy():
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    predicted = np.array([0, 1, 1, 1, 2, 0, 2, 3])
    confidence = np.array([0.9, 0.6, 0.8, 0.95, 0.99, 0.7, 0.85, 0.5])
    return Evaluation(labels=labels, probabilities=one_hot_probabilities(predicted, confidence),
                      images=np.zeros((8, 28, 28), np.uint8))


def test_accuracy_and_confusion_matrix(toy):
    assert toy.accuracy == 6 / 8
    matrix = toy.confusion_matrix()
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[2, 0] == 1 and matrix.sum() == 8


def test_per_class_precision_and_recall(toy):
    rows = {row["digit"]: row for row in toy.per_class()}
    assert rows[0]["precision"] == pytest.approx(1 / 2) and rows[0]["recall"] == pytest.approx(1 / 2)
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0
    assert rows[2]["recall"] == pytest.approx(2 / 3) and rows[5]["support"] == 0


def test_expected_calibration_error_matches_a_hand_computation():
    labels = np.array([0, 0, 0, 0])
    probabilities = one_hot_probabilities([0, 0, 1, 1], [0.75, 0.75, 0.75, 0.75])
    evaluation = Evaluation(labels=labels, probabilities=probabilities, images=np.zeros((4, 28, 28)))
    # one bin holding all four: confidence 0.75, accuracy 0.5
    assert evaluation.expected_calibration_error() == pytest.approx(0.25)


def test_mistakes_are_listed_most_confident_first(toy):
    mistakes = toy.mistakes()
    assert [(m["true"], m["predicted"]) for m in mistakes] == [(2, 0), (0, 1)]


def test_mean_and_std_over_seeds():
    assert mean_and_std([0.99, 0.991, 0.992]) == pytest.approx((0.991, 0.001))
    assert mean_and_std([0.5]) == (0.5, 0.0)


def test_every_plot_returns_a_figure(toy):
    history = {"loss": [1.0, 0.5], "val_loss": [0.9, 0.6], "accuracy": [0.7, 0.9], "val_accuracy": [0.8, 0.85]}
    figures = [plots.plot_confusion_matrix(toy), plots.plot_per_class(toy), plots.plot_reliability(toy),
               plots.plot_mistakes(toy), plots.plot_training_curves(history),
               plots.plot_digits(np.zeros((3, 28, 28)), [1, 2, 3]),
               plots.plot_seed_summary({"fast": [0.99, 0.991], "default": [0.996]})]
    for figure in figures:
        assert isinstance(figure, Figure) and figure.axes


def test_calibration_comes_from_held_out_images_or_says_it_is_the_default(small_trained_model, mnist):
    from digitlab.evaluate import MIN_CALIBRATION_IMAGES, evaluate, held_out_calibration
    from digitlab.predict import DEFAULT_UNCERTAIN_THRESHOLD

    (x_train, y_train), _ = mnist
    held_out = x_train[-500:], y_train[-500:]
    calibration = held_out_calibration(small_trained_model.model, held_out, "validation split")
    assert calibration == {
        "uncertain_threshold": evaluate(small_trained_model.model, *held_out).uncertain_threshold(),
        "measured_on": "validation split (500 images)"}
    few = x_train[:MIN_CALIBRATION_IMAGES - 1], y_train[:MIN_CALIBRATION_IMAGES - 1]
    fallback = held_out_calibration(small_trained_model.model, few, "sample holdout")
    assert fallback["uncertain_threshold"] == DEFAULT_UNCERTAIN_THRESHOLD
    assert fallback["measured_on"].startswith("default: only 99 held-out images")


def test_evaluate_on_a_labelled_folder_or_store_set_matches_the_direct_evaluation(
        mnist, tmp_path, capsys, monkeypatch):
    import json

    import keras

    from digitlab.card import main
    from digitlab.samples import encode_png
    from digitlab.store import SampleStore
    from tests.app.helpers import COMMITTED_MODEL

    (_, _), (x_test, y_test) = mnist
    images, labels = x_test[:40], y_test[:40]
    folder = tmp_path / "writers"
    for index, (image, label) in enumerate(zip(images, labels)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        (folder / str(label) / f"{index}.png").write_bytes(encode_png(image))
    (folder / "notes.txt").write_text("not an image")  # skipped and reported, not guessed
    (folder / "3" / "broken.png").write_bytes(b"\x89PNG broken")
    model = keras.saving.load_model(COMMITTED_MODEL / "model.keras", compile=False)
    oracle = evaluate(model, images, labels)

    assert main([str(COMMITTED_MODEL), "--on", str(folder), "--out", str(tmp_path / "out")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 40 and report["accuracy"] == pytest.approx(oracle.accuracy)
    assert report["skipped"] == 2 and any("broken.png" in line for line in report["skipped_files"])
    assert (tmp_path / "out" / "confusion_matrix.png").exists()
    assert json.loads((tmp_path / "out" / "evaluation.json").read_text())["count"] == 40

    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    store = SampleStore()
    for image, label in zip(images[:20], labels[:20]):
        store.add(image, int(label), "upload", set_name="alice")
    assert main([str(COMMITTED_MODEL), "--on", "store:alice", "--out", str(tmp_path / "s")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 20 and "set 'alice'" in report["on"]
    assert report["accuracy"] == pytest.approx(evaluate(model, images[:20], labels[:20]).accuracy)
    assert main([str(COMMITTED_MODEL), "--on", "store:nobody"]) == 2
    assert "no labelled images" in capsys.readouterr().err
