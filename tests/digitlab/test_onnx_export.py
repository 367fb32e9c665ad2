"""ONNX export: every digit architecture, run by onnxruntime, agrees with Keras within 1e-4."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from digitlab.models import build_model
from digitlab.onnx_export import same_padding, to_onnx
from tests.app.helpers import COMMITTED_MODEL

onnxruntime = pytest.importorskip("onnxruntime")  # installed with the dev extra


@pytest.fixture(scope="module")
def images(mnist):
    """The first 100 MNIST test digits as the model sees them."""
    (_, _), (x_test, _) = mnist
    return (x_test[:100] / 255.0).astype(np.float32)[..., None]


def run_onnx(proto, images: np.ndarray) -> np.ndarray:
    """The ONNX model's outputs from onnxruntime."""
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {"image": images})[0]


@pytest.mark.parametrize("arch", ["baseline", "fast", "default"])
def test_each_architecture_agrees_with_keras(arch, images):
    model = build_model(arch)  # random weights: every weight takes part in the comparison
    np.testing.assert_allclose(run_onnx(to_onnx(model), images),
                               np.asarray(model(images, training=False)), atol=1e-4)


def test_the_committed_model_agrees_and_the_command_cards_it(images, tmp_path, capsys):
    import keras

    from digitlab.export import main

    folder = shutil.copytree(COMMITTED_MODEL, tmp_path / "digits-1")
    assert main([str(folder), "--format", "onnx"]) == 0
    record = json.loads((folder / "card.json").read_text())["exports"]["onnx"]
    assert record["file"] == "model.onnx" and record["largest_difference_from_keras"] <= 1e-4
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    model = keras.saving.load_model(folder / "model.keras", compile=False)
    np.testing.assert_allclose(session.run(None, {"image": images})[0],
                               np.asarray(model(images, training=False)), atol=1e-4)
    assert json.loads(capsys.readouterr().out)["onnx"]["sha256"] == record["sha256"]


def test_a_layer_without_an_export_is_refused_by_name():
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1))
    pooled = layers.MaxPooling2D(name="pool")(layers.Conv2D(4, 3)(inputs))
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(pooled))
    with pytest.raises(ValueError, match="'pool' \\(MaxPooling2D\\)"):
        to_onnx(keras.Model(inputs, outputs))


def test_same_padding_matches_tensorflow():
    assert same_padding(28, 5, 2) == (1, 2) and same_padding(14, 3, 2) == (0, 1)
    assert same_padding(7, 3, 1) == (1, 1)


def test_the_residual_architecture_is_refused_with_a_reason():
    from digitlab.tfjs_export import to_tfjs

    model = build_model("residual")  # not a chain: its blocks add a layer's input to its output
    with pytest.raises(ValueError, match="no ONNX export|simple chain"):
        to_onnx(model)
    with pytest.raises(ValueError, match="no tf.js export|one chain"):
        to_tfjs(model)
