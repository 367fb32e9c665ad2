"""Write a digit model in TensorFlow.js's "layers-model" format, without the tensorflowjs pins.

A digit architecture is a chain of Conv2D, BatchNormalization, ReLU, Dropout, Flatten and Dense
layers, so it is written as a tf.js Sequential model: `model.json` (the topology in the
Keras-2-style JSON tf.js reads, and the weights manifest) and `weights.bin` (float32, in
manifest order). `tf.loadLayersModel` loads it in a browser or in node. `index.html` beside it is a page that
draws and predicts with no server, the model inside it.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
from pathlib import Path

import numpy as np

KERAS_VERSION = "2.15.0"  # the topology dialect tf.js reads
PAGE_SCRIPTS = ("tfjs-core/dist/tf-core.min.js", "tfjs-backend-cpu/dist/tf-backend-cpu.min.js",
                "tfjs-layers/dist/tf-layers.min.js")  # what index.html loads, beside it
WEIGHT_NAMES = {"Conv2D": ("kernel", "bias"), "Dense": ("kernel", "bias"),
                "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance")}


def layer_config(layer) -> dict:
    """The tf.js config of one Keras layer; ValueError for a layer tf.js export does not know."""
    kind, config = type(layer).__name__, layer.get_config()
    common = {"name": layer.name, "trainable": False, "dtype": "float32"}
    if kind == "Conv2D":
        return {**common, "filters": config["filters"], "kernel_size": list(config["kernel_size"]),
                "strides": list(config["strides"]), "padding": config["padding"],
                "data_format": "channels_last", "dilation_rate": list(config["dilation_rate"]),
                "activation": config["activation"], "use_bias": config["use_bias"]}
    if kind == "BatchNormalization":
        return {**common, "axis": -1, "momentum": config["momentum"],
                "epsilon": config["epsilon"], "center": True, "scale": True}
    if kind == "ReLU":
        if config.get("max_value") is not None or config.get("negative_slope") or \
                config.get("threshold"):
            raise ValueError(f"{layer.name}: only a plain ReLU has a tf.js export")
        return {**common, "max_value": None}
    if kind == "Dropout":
        return {**common, "rate": config["rate"]}
    if kind == "Flatten":
        return {**common, "data_format": "channels_last"}
    if kind == "Dense":
        return {**common, "units": config["units"], "activation": config["activation"],
                "use_bias": config["use_bias"]}
    raise ValueError(f"layer {layer.name!r} ({kind}) has no tf.js export; it takes the chain "
                     "architectures (baseline, fast, default: Conv2D, BatchNormalization, ReLU, "
                     "Dropout, Flatten, Dense), not residual")


def to_tfjs(model) -> tuple[dict, bytes]:
    """(model.json as a dict, weights.bin bytes) of a Keras digit model."""
    from digitlab.ensemble import ensemble_members

    if ensemble_members(model):
        raise ValueError("the tf.js export writes one chain of layers, and this is an ensemble: "
                         "export one of its members (e.g. digits@1), or use --format onnx")
    layers, manifest, chunks = [], [], []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        config = layer_config(layer)
        if not layers:  # the first layer carries the input shape
            config["batch_input_shape"] = [None, *model.input_shape[1:]]
        layers.append({"class_name": kind, "config": config})
        values = layer.get_weights()
        for name, value in zip(WEIGHT_NAMES.get(kind, ()), values):
            value = np.asarray(value, np.float32)
            manifest.append({"name": f"{layer.name}/{name}", "shape": list(value.shape),
                             "dtype": "float32"})
            chunks.append(value.tobytes())
    topology = {"class_name": "Sequential", "config": {"name": model.name, "layers": layers},
                "keras_version": KERAS_VERSION, "backend": "tensorflow"}
    document = {"format": "layers-model", "generatedBy": "digitlab", "convertedBy": None,
                "modelTopology": topology,
                "weightsManifest": [{"paths": ["weights.bin"], "weights": manifest}]}
    return document, b"".join(chunks)


def page_html(document: dict, weights: bytes, name: str) -> str:
    """The static drawing page with the model inside it (pages opened from disk cannot fetch)."""
    template = Path(__file__).with_name("tfjs_page.html").read_text()
    model_json = json.dumps(document).replace("</", "<\\/")  # never closes its script tag
    return (template.replace("{{MODEL_NAME}}", html.escape(name))
            .replace("{{MODEL_JSON}}", model_json)
            .replace("{{WEIGHTS_BASE64}}", base64.b64encode(weights).decode("ascii")))


def write_tfjs(model, folder: str | Path, name: str | None = None,
               node_modules: str | Path | None = None) -> Path:
    """Write model.json, weights.bin and the drawing page index.html into folder (with the
    three tf.js scripts it loads, copied from node_modules when given); return model.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    document, weights = to_tfjs(model)
    (folder / "weights.bin").write_bytes(weights)
    path = folder / "model.json"
    path.write_text(json.dumps(document) + "\n")
    (folder / "index.html").write_text(page_html(document, weights, name or model.name))
    if node_modules is not None:
        for script in PAGE_SCRIPTS:
            shutil.copyfile(Path(node_modules) / "@tensorflow" / script, folder / Path(script).name)
    return path
