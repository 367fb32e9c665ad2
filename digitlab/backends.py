"""The two ways to run a digit model on a prepared batch: LiteRT (no TensorFlow) or Keras."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np


class ModelNotFoundError(FileNotFoundError):
    """Raised when a model name, version or path does not lead to a model."""


class LiteRTBackend:
    """Runs a .tflite model; one interpreter per input shape (batch sizes in powers of two), locked.

    A digit model sees one shape per batch size; the line reader takes any width, so its
    interpreters are kept for the MAX_SHAPES shapes used most recently.
    """

    BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    MAX_SHAPES = 48

    def __init__(self, path: Path, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        self.model_bytes = Path(path).read_bytes()
        self.num_threads = num_threads
        self.interpreter_class = Interpreter
        self.interpreters: dict[int, object] = {}
        self.lock = threading.Lock()

    def interpreter_for(self, shape: tuple[int, ...]):
        """The interpreter allocated for this input shape (created on first use)."""
        if shape in self.interpreters:
            self.interpreters[shape] = self.interpreters.pop(shape)  # most recent last
        else:
            if len(self.interpreters) >= self.MAX_SHAPES:
                del self.interpreters[next(iter(self.interpreters))]
            interpreter = self.interpreter_class(model_content=self.model_bytes,
                                                 num_threads=self.num_threads)
            input_index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(input_index, list(shape))
            interpreter.allocate_tensors()
            self.interpreters[shape] = (interpreter, input_index,
                                        interpreter.get_output_details()[0]["index"])
        return self.interpreters[shape]

    def chunks(self, count: int) -> list[int]:
        """Batch sizes that add up to count: the largest bucket that fits, then the rest.

        Splitting 20 images as 16 + 4 does less work than padding them to 32.
        """
        sizes = []
        while count > 0:
            size = max(bucket for bucket in self.BATCH_BUCKETS if bucket <= count)
            sizes.append(size)
            count -= size
        return sizes

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """The model's outputs for a float32 batch: (N, 10) for digits (N, 28, 28, 1)."""
        outputs, start = [], 0
        with self.lock:
            for size in self.chunks(len(batch)):
                interpreter, input_index, output_index = self.interpreter_for((size, *batch.shape[1:]))
                interpreter.set_tensor(input_index, batch[start:start + size])
                interpreter.invoke()
                outputs.append(interpreter.get_tensor(output_index))  # a copy
                start += size
        return np.concatenate(outputs)


class KerasBackend:
    """Runs a Keras model through one compiled tf.function (thread-safe, any batch size)."""

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self.function = tf.function(
            lambda images: self.model(images, training=False),
            input_signature=[tf.TensorSpec([None, *self.model.input_shape[1:]], tf.float32)],
        )

    @classmethod
    def from_file(cls, path: Path) -> KerasBackend:
        """The backend of a saved .keras model."""
        import keras

        return cls(keras.saving.load_model(path, compile=False))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """The model's outputs for a float32 batch (digits: (N, 28, 28, 1) -> (N, 10)), 256 at a time."""
        return np.concatenate([self.function(batch[start:start + 256]).numpy()
                               for start in range(0, len(batch), 256)])


def load_optional(load, spec, backend: str = "auto"):
    """load(spec, backend) for a model that may be absent (a line reader, a rejector): None
    for no spec or where the registry has no such model."""
    if spec is None:
        return None
    try:
        return load(spec, backend)
    except ModelNotFoundError:
        return None


def load_backend(path: Path, backend: str):
    """Pick LiteRT when a .tflite exists (or is asked for), else the Keras backend."""
    tflite = path if path.suffix == ".tflite" else path / "model.tflite"
    keras_file = path if path.suffix == ".keras" else path / "model.keras"
    if backend in ("auto", "litert") and tflite.exists():
        return LiteRTBackend(tflite)
    if backend in ("auto", "keras") and keras_file.exists():
        return KerasBackend.from_file(keras_file)
    raise ModelNotFoundError(f"no usable model file ({backend}) at {path}")
