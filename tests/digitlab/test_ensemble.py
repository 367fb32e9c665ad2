"""The ensemble: the mean of its members (an oracle), its bounds, the rejector fused with it,
and the int8-weight LiteRT file it is served from."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.ensemble import build_ensemble, ensemble_members
from digitlab.models import build_model


@pytest.fixture(scope="module")
def members(small_trained_model):
    import keras

    keras.utils.set_random_seed(5)
    return [small_trained_model.model, build_model("fast", width=8)]  # trained + untrained


def images_of(mnist, count: int = 64) -> np.ndarray:
    _, (x_test, _) = mnist
    return x_test[:count, ..., None].astype(np.float32) / 255.0


def test_the_ensemble_is_the_mean_of_its_members(members, mnist):
    ensemble = build_ensemble(members)
    images = images_of(mnist)
    expected = np.mean([member.predict(images, verbose=0) for member in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)
    assert [member.name for member in ensemble_members(ensemble)] == ["member_1", "member_2"]
    assert ensemble_members(members[0]) == []  # a single model has none


@pytest.mark.parametrize("count", [1, 4])
def test_an_ensemble_takes_two_or_three_models(members, count):
    with pytest.raises(ValueError, match="averages 2 to 3 models, got"):
        build_ensemble((members * 2)[:count])


def test_the_rejector_fused_with_an_ensemble_gives_the_ensemble_probabilities(members, mnist):
    from digitlab.rejector_train import RejectorConfig, build_rejector, with_distance

    (x_train, y_train), test = mnist
    small = ((x_train[:3000], y_train[:3000]), test)
    ensemble = build_ensemble(members)
    fused = with_distance(build_rejector(width=4), ensemble, small,
                          RejectorConfig(validation_digits=500))
    images = images_of(mnist)
    outputs = fused.predict(images, verbose=0)
    assert outputs.shape == (len(images), 12)  # network score, distance, ten probabilities
    np.testing.assert_allclose(outputs[:, 2:], ensemble.predict(images, verbose=0), atol=1e-5)


def test_int8_weights_in_litert_keep_the_answers(members, mnist, tmp_path):
    from digitlab.backends import LiteRTBackend
    from digitlab.export import write_tflite

    model = members[0]
    images = images_of(mnist, 300)
    quantised = LiteRTBackend(write_tflite(model, tmp_path / "q.tflite", "dynamic-range"))(images)
    floating = LiteRTBackend(write_tflite(model, tmp_path / "f.tflite"))(images)
    assert (tmp_path / "q.tflite").stat().st_size < 0.5 * (tmp_path / "f.tflite").stat().st_size
    assert np.abs(quantised - floating).max() < 0.05
    assert (quantised.argmax(1) == floating.argmax(1)).mean() >= 0.99
    with pytest.raises(ValueError, match="quantize must be one of"):
        write_tflite(model, tmp_path / "x.tflite", "int4")


def test_an_ensemble_exports_to_onnx_and_agrees(mnist, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    import keras

    from digitlab.onnx_export import write_onnx
    from digitlab.tfjs_export import to_tfjs

    keras.utils.set_random_seed(9)  # members of their own: the fused test reuses the others' layers
    ensemble = build_ensemble([build_model("fast", width=8), build_model("default", width=8)])
    path = write_onnx(ensemble, tmp_path / "ensemble.onnx")
    images = images_of(mnist, 100)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = session.run(["probabilities"], {"image": images})[0]
    assert np.abs(exported - ensemble.predict(images, verbose=0)).max() < 1e-4
    with pytest.raises(ValueError, match="export one of its members"):
        to_tfjs(ensemble)
