"""A fast, thread-safe predictor: raw images or 28x28 arrays in, digits with probabilities out.

The model runs through the LiteRT interpreter (no TensorFlow import, so an app kernel stays
small) when ``model.tflite`` is present, else through a compiled ``tf.function`` of the Keras
model. Neither path calls ``model.predict`` (about 35 ms of fixed cost per call).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab.backends import ModelNotFoundError, load_backend, load_optional
from digitlab.ink import EmptyImageError
from digitlab.preprocess import to_mnist
from digitlab.reader import DEFAULT_READER, LineReader
from digitlab.reading import Reading
from digitlab.rejector import DEFAULT_REJECTOR, Rejector
from digitlab.scenes import FoundDigits, SceneReading

DEFAULT_MODEL = "digits"
DEFAULT_UNCERTAIN_THRESHOLD = 0.7  # used when a model card carries no calibrated threshold
RELOAD_POLL_SECONDS = 2.0

__all__ = ["Predictor", "Prediction", "FoundDigits", "EmptyImageError", "ModelNotFoundError"]


@dataclass
class Prediction:
    """One image's answer."""

    digit: int
    confidence: float
    top: list[tuple[int, float]]
    probabilities: np.ndarray
    uncertain: bool
    image28: np.ndarray = field(repr=False)
    not_digit: bool = False  # the rejector says it is a mark, not a digit (see digitlab.rejector)

    def to_dict(self) -> dict:
        """The JSON shape the server and the app show."""
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "top": [{"digit": digit, "probability": round(p, 6)} for digit, p in self.top],
            "probabilities": [round(float(p), 6) for p in self.probabilities],
            "uncertain": self.uncertain,
            "not_digit": self.not_digit,
        }


def resolve_model(spec: str | Path) -> tuple[Path, str, str | None]:
    """Turn a registry name ("digits", "digits@3") or a path into (folder or file, model id, name).

    The name is given back only for a bare name, which follows the current version.
    """
    path = Path(spec)
    if path.exists():
        return path, path.stem if path.is_file() else path.name, None
    from digitlab.registry import ModelRef, Registry

    registry = Registry()
    try:
        ref = ModelRef.parse(str(spec))
        folder = registry.path(ref.name, ref.version)
        number = ref.version or registry.current(ref.name)
    except (KeyError, ValueError, FileNotFoundError) as error:
        raise ModelNotFoundError(f"no model {spec!r} in the registry at {registry.root}: "
                                 f"{error}") from error
    return Path(folder), str(ModelRef(ref.name, number)), ref.name if ref.version is None else None


def registry_ref(model_id: str, spec: str | Path | None):
    """The ModelRef of a model loaded from the registry, None for one loaded from a path."""
    from digitlab.registry import ModelRef

    if spec is not None and Path(spec).exists():
        return None
    try:
        return ModelRef.parse(model_id)
    except ValueError:
        return None


def model_folder(spec: str | Path) -> tuple[Path, str]:
    """The folder that holds a model (a registry name or version, a folder, or a file in one)
    and the model's id."""
    path, model_id, _ = resolve_model(spec)
    return (path.parent if path.is_file() else path), model_id


def read_card(path: Path) -> dict:
    """The card.json of a model folder (or of the folder of a model file); {} without one."""
    card_path = (path.parent if path.is_file() else path) / "card.json"
    return json.loads(card_path.read_text()) if card_path.exists() else {}


def load_keras(spec: str | Path):
    """(Keras model, folder, model id) of a model spec, for the jobs that need TensorFlow."""
    import keras

    folder, model_id = model_folder(spec)
    return keras.saving.load_model(folder / "model.keras", compile=False), folder, model_id


def read_threshold(path: Path) -> float:
    """The calibrated 'uncertain' threshold from the model card, or the default."""
    calibration = read_card(path).get("calibration", {})
    return float(calibration.get("uncertain_threshold", DEFAULT_UNCERTAIN_THRESHOLD))


def is_prepared(image: np.ndarray) -> bool:
    """True for a 28x28 float array in [0, 1]: already what the model sees."""
    return (image.shape in ((28, 28), (28, 28, 1)) and np.issubdtype(image.dtype, np.floating)
            and float(image.min()) >= 0.0 and float(image.max()) <= 1.0 + 1e-4)


class Predictor(SceneReading):
    """Load a model once, then predict digits for batches of images from any thread."""

    def __init__(self, backend, model_id: str, uncertain_threshold: float,
                 registry_name: str | None = None, spec: str | Path | None = None, backend_kind="auto",
                 reader: LineReader | None = None, reader_spec: str | Path | None = None,
                 rejector: Rejector | None = None, rejector_spec: str | Path | None = None):
        self.backend = backend
        self.rejector = rejector  # tells marks from digits; None: nothing is rejected
        self.rejector_spec = rejector_spec
        self.reader = reader  # reads whole lines; None: lines are cut into digits first
        self.reader_spec = reader_spec
        self.model_id = model_id
        self.uncertain_threshold = uncertain_threshold
        self.registry_name = registry_name
        self.ref = registry_ref(model_id, spec)  # name and version when served from the registry
        self.spec, self.backend_kind = spec, backend_kind
        self.change_token = self.current_token()
        self.last_poll = time.monotonic()
        self.backend(np.zeros((1, 28, 28, 1), np.float32))  # warm-up: allocate and run once

    @classmethod
    def load(cls, spec: str | Path = DEFAULT_MODEL, backend: str = "auto",
             reader: str | Path | None = DEFAULT_READER,
             rejector: str | Path | None = DEFAULT_REJECTOR) -> Predictor:
        """Load a registry name ("digits", "digits@2") or a model folder/file, the line reader
        and the rejector.

        reader names the line-reading model (None: none; a missing one is no error, numbers
        are then read by cutting them into digits); rejector the "not a digit" model (None or
        missing: nothing is rejected).
        """
        path, model_id, registry_name = resolve_model(spec)
        return cls(load_backend(path, backend), model_id, read_threshold(path),
                   registry_name=registry_name, spec=spec, backend_kind=backend,
                   reader=load_optional(LineReader.load, reader, backend), reader_spec=reader,
                   rejector=load_optional(Rejector.load, rejector, backend),
                   rejector_spec=rejector)

    @property
    def reader_id(self) -> str | None:
        """The id of the line reader in use ("reader@3"), or None (numbers are cut into digits)."""
        return self.reader.model_id if self.reader is not None else None

    def current_token(self) -> str | None:
        """The registry's change token for a model loaded by name, and its reader's (None for paths)."""
        if self.registry_name is None:
            return None
        from digitlab.registry import Registry

        registry = Registry()
        followed = [self.reader, self.rejector]
        names = [self.registry_name] + [part.registry_name for part in followed
                                        if part is not None and part.registry_name]
        return "|".join(registry.change_token(name) for name in names)

    def reload_if_changed(self, force: bool = False) -> bool:
        """Swap in a newly promoted version; polls the registry at most every two seconds."""
        if self.registry_name is None:
            return False
        now = time.monotonic()
        if not force and now - self.last_poll < RELOAD_POLL_SECONDS:
            return False
        self.last_poll = now
        token = self.current_token()
        if token == self.change_token:
            return False
        fresh = Predictor.load(self.spec, self.backend_kind, reader=self.reader_spec,
                               rejector=self.rejector_spec)
        self.backend, self.model_id, self.ref = fresh.backend, fresh.model_id, fresh.ref
        self.reader = fresh.reader if fresh.reader is not None else self.reader
        self.rejector = fresh.rejector if fresh.rejector is not None else self.rejector
        self.uncertain_threshold, self.change_token = fresh.uncertain_threshold, token
        return True

    def prepare(self, images) -> np.ndarray:
        """Stack images into a (N, 28, 28, 1) float32 batch, preprocessing raw ones."""
        if isinstance(images, np.ndarray) and images.ndim == 3 and images.shape[1:] == (28, 28) \
                and np.issubdtype(images.dtype, np.floating):
            images = list(images)
        elif isinstance(images, np.ndarray) and images.ndim <= 3:
            images = [images]
        prepared = []
        for index, image in enumerate(images):
            image = np.asarray(image)
            try:
                prepared.append(np.clip(image.reshape(28, 28), 0.0, 1.0) if is_prepared(image)
                                else to_mnist(image))
            except EmptyImageError as error:
                if len(images) == 1:
                    raise
                raise EmptyImageError(f"image {index}: {error}") from error
        if not prepared:
            raise ValueError("no images given")
        return np.stack(prepared).astype(np.float32)[..., None]

    def probabilities(self, images) -> np.ndarray:
        """Raw (N, 10) probabilities."""
        return self.backend(self.prepare(images))

    def prepared_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Raw (N, 10) probabilities of a float32 (N, 28, 28) batch already in MNIST form."""
        return self.backend(np.asarray(batch, np.float32).reshape(-1, 28, 28, 1))

    def predict(self, images) -> list[Prediction]:
        """Predict a batch: per image the digit, confidence, top-3, all 10, 'uncertain' and
        'not_digit'."""
        batch = self.prepare(images)
        probabilities, marks = self.scored(batch)
        return [self.to_prediction(p, image[..., 0], bool(mark))
                for p, image, mark in zip(probabilities, batch, marks)]

    def scored(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The digit probabilities and the marks of a prepared batch: one model call when the
        rejector carries this very digit model, else one each."""
        if self.rejector is not None and self.rejector.digit_model == self.model_id:
            marks, probabilities = self.rejector.run(batch)
            if probabilities is not None:
                return probabilities, marks
        return self.backend(batch), self.marks(batch)

    def marks(self, batch: np.ndarray) -> np.ndarray:
        """True for each prepared image the rejector takes for a mark, not a digit."""
        if self.rejector is None or not len(batch):
            return np.zeros(len(batch), bool)
        return self.rejector.rejects(batch)

    def predict_one(self, image) -> Prediction:
        """Predict a single image."""
        return self.predict([image])[0]

    def to_prediction(self, probabilities: np.ndarray, image28: np.ndarray,
                      not_digit: bool = False) -> Prediction:
        """Wrap one probability vector."""
        order = np.argsort(probabilities)[::-1]
        confidence = float(probabilities[order[0]])
        return Prediction(
            digit=int(order[0]), confidence=confidence,
            top=[(int(digit), float(probabilities[digit])) for digit in order[:3]],
            probabilities=np.asarray(probabilities, np.float32),
            uncertain=confidence < self.uncertain_threshold, image28=image28,
            not_digit=not_digit,
        )


def read_digits(frame: np.ndarray, predictor: Predictor | None = None) -> Reading:
    """Read every digit in a frame with the given (or the default) predictor."""
    return (predictor or Predictor.load()).read(frame)
