"""Write a trained Keras model in the forms the rest of digitlab loads: .keras, .tflite, card.json.

`digitlab export MODEL --format onnx|tfjs|tflite|keras` writes one form into the model's folder,
checks it against the Keras model on 100 MNIST test images where a runtime is installed, and
lists it in the card's "exports".
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


QUANTIZE_CHOICES = (None, "dynamic-range")


def write_tflite(model, path: str | Path, quantize: str | None = None) -> Path:
    """Convert a Keras model to a TFLite flatbuffer with a dynamic batch dimension: float32, or
    with int8 weights (quantize="dynamic-range": about 3x faster on CPU, a quarter the size)."""
    import tensorflow as tf

    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
    path = Path(path)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize == "dynamic-range":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its temp SavedModel
        flatbuffer = converter.convert()
    path.write_bytes(flatbuffer)
    return path


def save_model_folder(model, folder: str | Path, card: dict) -> Path:
    """Save model.keras, model.tflite and card.json into a plain folder (outside the registry)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    write_tflite(model, folder / "model.tflite")
    (folder / "card.json").write_text(json.dumps(card, indent=2, default=str) + "\n")
    return folder


FORMATS = {"keras": "model.keras", "tflite": "model.tflite", "onnx": "model.onnx",
           "tfjs": "tfjs/model.json"}
CHECK_IMAGES = 100
NODE_MODULES = "DIGITLAB_NODE_MODULES"  # where @tensorflow/tfjs-layers is installed, for the check


def node_modules() -> Path | None:
    """The node_modules folder $DIGITLAB_NODE_MODULES names, if it is one."""
    modules = os.environ.get(NODE_MODULES)
    return Path(modules) if modules and Path(modules).is_dir() else None


def run_tfjs(folder: Path, images) -> object | None:
    """The tf.js model's outputs in node (None without node or the tf.js packages)."""
    import shutil
    import subprocess
    import tempfile

    import numpy as np

    modules = node_modules()
    if shutil.which("node") is None or modules is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        pixels = Path(scratch) / "images.bin"
        np.asarray(images, np.float32).tofile(pixels)
        done = subprocess.run(["node", str(Path(__file__).with_name("tfjs_check.js")), str(folder),
                               str(pixels), str(len(images))], capture_output=True, text=True,
                              env={**os.environ, "NODE_PATH": str(modules)}, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"tf.js could not run the export: {done.stderr[-800:]}")
    return np.array(json.loads(done.stdout), np.float32).reshape(len(images), -1)


def largest_difference(model, path: Path, kind: str) -> float | None:
    """The largest probability difference from the Keras model on MNIST test images (None
    when the format's runtime is missing here)."""
    import numpy as np

    from digitlab.data import load_mnist

    _, (x_test, _) = load_mnist()
    images = (x_test[:CHECK_IMAGES] / 255.0).astype(np.float32)[..., None]
    if kind == "onnx":
        try:
            import onnxruntime
        except ImportError:
            return None
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        exported = session.run(None, {"image": images})[0]
    elif kind == "tfjs":
        exported = run_tfjs(path.parent, images)
        if exported is None:
            return None
    elif kind == "tflite":
        from digitlab.backends import LiteRTBackend

        exported = LiteRTBackend(path)(images)
    else:
        import keras

        exported = keras.saving.load_model(path, compile=False)(images, training=False)
    return float(np.abs(np.asarray(exported) - np.asarray(model(images, training=False))).max())


def main(argv: list[str] | None = None) -> int:
    """Command line: `digitlab export MODEL --format onnx|tfjs|tflite|keras`."""
    import argparse
    import hashlib
    import sys

    from digitlab.predict import load_keras, read_card

    parser = argparse.ArgumentParser(prog="digitlab export", description=main.__doc__)
    parser.add_argument("model", help="registry name, name@version or a model folder")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS),
                        help="onnx (for onnxruntime; needs the onnx package), tfjs (a tf.js "
                             "layers model in tfjs/; checked in node when "
                             f"${NODE_MODULES} names a node_modules with @tensorflow/tfjs-layers),"
                             " tflite or keras")
    arguments = parser.parse_args(argv)
    model, folder, model_id = load_keras(arguments.model)
    target = folder / FORMATS[arguments.format]
    try:
        if arguments.format == "onnx":
            from digitlab.onnx_export import write_onnx

            write_onnx(model, target)
        elif arguments.format == "tfjs":
            from digitlab.tfjs_export import write_tfjs

            modules = node_modules()
            write_tfjs(model, target.parent, model_id, modules)
            if modules is None:
                print(f"digitlab export: tfjs/index.html loads tf-core.min.js, "
                      "tf-backend-cpu.min.js and tf-layers.min.js from beside it: set "
                      f"${NODE_MODULES} to a node_modules with @tensorflow/tfjs-core, "
                      "-backend-cpu and -layers 4.22 to copy them", file=sys.stderr)
        elif arguments.format == "tflite":  # as the card says it was built (int8 weights or not)
            write_tflite(model, target, read_card(folder).get("litert", {}).get("quantize"))
        elif not target.exists():
            model.save(target)
    except (ValueError, ImportError) as error:  # an unsupported layer, onnx not installed
        print(f"digitlab export: {error}", file=sys.stderr)
        return 2
    record = {"file": str(target.relative_to(folder)), "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
              "largest_difference_from_keras": largest_difference(model, target,
                                                                  arguments.format),
              "checked_on": f"the first {CHECK_IMAGES} MNIST test images"}
    card_path = folder / "card.json"
    card = read_card(folder)
    card["exports"] = {**card.get("exports", {}), arguments.format: record}
    temporary = card_path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(card, indent=2, default=str) + "\n")
    os.replace(temporary, card_path)  # the card is never half written
    print(json.dumps({arguments.format: record}, indent=2))
    return 0
