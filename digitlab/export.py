"""Write a trained Keras model in the forms the rest of digitlab loads: .keras, .tflite, card.json."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def write_tflite(model, path: str | Path) -> Path:
    """Convert a Keras model to a float32 TFLite flatbuffer with a dynamic batch dimension."""
    import tensorflow as tf

    path = Path(path)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
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
