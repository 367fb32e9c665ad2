"""The drawing app's state without widgets: strokes, the model, predictions, saves and undo."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digitlab.app.strokes import PAPER, StrokeRecorder, to_png
from digitlab.ink import EmptyImageError
from digitlab.line_samples import LineSample, LineSamples
from digitlab.predict import ModelNotFoundError, Prediction, Predictor
from digitlab.preprocess import to_mnist
from digitlab.reading import Reading
from digitlab.registry import Registry
from digitlab.samples import StoreError
from digitlab.store import SampleNotFoundError, SampleStore

DEFAULT_MODEL = "digits"
HISTORY_LENGTH = 8
MAX_LENGTH_GAP = 2  # a typed number may have this many digits more or fewer than the reader saw
READ_MARGIN = 40  # pixels of paper added around the pad before reading several digits


class NoModelError(RuntimeError):
    """Raised when a prediction is asked for but no model could be loaded."""


class NothingToUndoError(RuntimeError):
    """Raised when Backspace is pressed with no saved sample left to take back."""


@dataclass
class SaveResult:
    """What a save did: the stored sample and whether the label corrected the model."""

    sample_id: int
    label: int | None  # None: put aside, waiting in the Review queue
    source: str
    predicted: int | None
    duplicate: bool

    @property
    def corrected(self) -> bool:
        """True when the saved label differs from what the model said."""
        return self.label is not None and self.predicted is not None \
            and self.predicted != self.label


class DrawingSession:
    """Everything one user does on the pad: draw, predict, save, undo, relabel and delete."""

    def __init__(self, store: SampleStore | None = None, registry: Registry | None = None,
                 model: str | None = DEFAULT_MODEL, width: int = 336, height: int = 336,
                 pen_width: float = 22.0, load_predictor=Predictor.load):
        self.store = store if store is not None else SampleStore()
        self.registry = registry if registry is not None else Registry()
        self.recorder = StrokeRecorder(width, height, pen_width)
        self.load_predictor = load_predictor
        self.predictor: Predictor | None = None
        self.model_error: str | None = None
        self.set_name: str | None = None  # None: the default pool; a name: a custom set
        self.saved_ids: list[int] = []  # this session's saves, newest last (what Backspace undoes)
        self.saved_lines: list[list[LineSample]] = []  # per Save line, the lines it added or relabelled
        self.cached: tuple[int, Prediction] | None = None  # (recorder revision, its answer)
        if model is not None:
            self.use_model(model)

    # -- the model --------------------------------------------------------------------------

    def use_model(self, spec: str) -> str | None:
        """Load a registry model ("digits", "digits@2"); return its id, or None when it fails."""
        try:
            self.predictor = self.load_predictor(spec)
        except (ModelNotFoundError, KeyError, ValueError, OSError) as error:
            self.predictor = None
            self.model_error = f"No model {spec!r} could be loaded ({error})."
            return None
        self.model_error = None
        self.cached = None
        return self.predictor.model_id

    @property
    def model_id(self) -> str | None:
        """The id of the model in use ("digits@1"), or None."""
        return self.predictor.model_id if self.predictor is not None else None

    @property
    def reader_id(self) -> str | None:
        """The id of the line reader in use ("reader@1"), or None (numbers are cut into digits)."""
        return self.predictor.reader_id if self.predictor is not None else None

    def model_choices(self) -> list[tuple[str, str]]:
        """(label, spec) pairs for every digit model in the registry: each name's current, then
        each version. Line readers and rejectors (their cards say their `kind`) are not offered:
        they serve beside a digit model, never as one."""
        choices = []
        for row in self.registry.list():
            if "kind" in row["card"]:
                continue
            name, version = row["name"], row["version"]
            accuracy = row["card"].get("metrics", {}).get("mnist_test_accuracy")
            score = f" · {accuracy:.1%}" if isinstance(accuracy, (int, float)) else ""
            if row["current"]:
                choices.insert(0, (f"{name} (current: v{version}){score}", name))
            choices.append((f"{name} v{version}{score}", f"{name}@{version}"))
        return choices

    def reload_if_changed(self) -> bool:
        """Pick up a newly promoted version when following a name; True when it changed."""
        if self.predictor is None or not self.predictor.reload_if_changed(force=True):
            return False
        self.cached = None
        return True

    def poll_registry(self) -> None:
        """Follow a promotion made elsewhere (the predictor checks at most every two seconds)."""
        if self.predictor is None:
            return
        try:
            if self.predictor.reload_if_changed():
                self.cached = None
        except (ModelNotFoundError, KeyError, ValueError, OSError):
            pass  # keep answering with the loaded model

    # -- drawing ----------------------------------------------------------------------------

    def changed(self) -> None:
        """Forget the cached answer (the mode or the model changed)."""
        self.cached = None

    def clear(self) -> None:
        """Wipe the pad."""
        self.recorder.clear()
        self.changed()

    def undo_stroke(self) -> bool:
        """Take back the last stroke; False when there was none."""
        removed = self.recorder.undo() is not None
        self.changed()
        return removed

    def canvas_image(self) -> np.ndarray:
        """The drawing as a uint8 image at pad size (dark ink on white)."""
        return self.recorder.image()

    def predict(self) -> Prediction:
        """Predict the drawing (cached until it changes); EmptyImageError when blank."""
        self.poll_registry()
        if self.cached is not None and self.cached[0] == self.recorder.revision:
            return self.cached[1]
        if self.recorder.is_empty():
            raise EmptyImageError("the canvas is blank")
        if self.predictor is None:
            raise NoModelError(self.model_error or "no model is loaded")
        prediction = self.predictor.predict_one(self.canvas_image())
        self.cached = (self.recorder.revision, prediction)
        return prediction

    def page(self) -> np.ndarray:
        """The pad as a page to read: a white margin keeps strokes that touch the pad's edge
        (frame readers drop those)."""
        if self.recorder.is_empty():
            raise EmptyImageError("the canvas is blank")
        if self.predictor is None:
            raise NoModelError(self.model_error or "no model is loaded")
        margin = READ_MARGIN
        return cv2.copyMakeBorder(self.canvas_image(), margin, margin, margin, margin,
                                  cv2.BORDER_CONSTANT, value=PAPER)

    def read(self) -> Reading:
        """Read every number on the pad, line by line (the "Read a number" mode)."""
        reading = self.predictor.read(self.page())
        for box_owner in [*reading.digits, *reading.lines]:
            x, y, width, height = box_owner.box
            box_owner.box = (x - READ_MARGIN, y - READ_MARGIN, width, height)
        return reading

    def save_line(self, typed: str) -> list[LineSample]:
        """Store each line on the pad with the number typed for it, for fine-tuning the reader.

        Several lines take several numbers, separated by spaces, top line first.
        """
        page = self.page()
        reader = self.predictor.reader
        if reader is None:
            raise NoModelError("no line reader is loaded, so there is nothing to save lines for")
        kept = self.predictor.number_lines(self.predictor.find(page).lines)  # marks left out
        if not kept:
            raise EmptyImageError("no line of digits was found on the pad")
        lines, readings = [line for line, _ in kept], [digits for _, digits in kept]
        texts = typed.split()
        if len(texts) != len(lines):
            raise StoreError(f"the pad holds {len(lines)} line{'s' * (len(lines) > 1)} of digits: "
                             f"type {len(lines)} number{'s' * (len(lines) > 1)}, separated by spaces")
        store, original = LineSamples(self.store), to_png(self.canvas_image())
        for text, digits in zip(texts, readings):
            if abs(len(text) - len(digits)) > MAX_LENGTH_GAP:
                raise StoreError(f"the reader sees {len(digits)} digit{'s' * (len(digits) != 1)} "
                                 f"where you typed {len(text)} ({text}): check the number")
        saved = []
        for line, text, digits in zip(lines, texts, readings):
            predicted = "".join(str(digit.digit) for digit in digits)
            saved.append(store.add(
                line.input.image[:, :line.input.ink_width], text,
                source="correction" if predicted != text else "canvas", original_png=original,
                predicted=predicted or None,
                confidence=min((digit.confidence for digit in digits), default=None),
                model_version=reader.model_id, set_name=self.set_name))
        changed = [sample for sample in saved if not sample.duplicate or sample.relabelled_from]
        if changed:
            self.saved_lines.append(changed)
        return saved

    def undo_line_save(self) -> list[LineSample]:
        """Take back this page's most recent Save line: the lines it added are deleted, those it
        relabelled get their old text again; return what was taken back."""
        lines = LineSamples(self.store)
        while self.saved_lines:
            undone = [line for line in self.saved_lines.pop()
                      if (lines.set_text(line.id, line.relabelled_from) if line.relabelled_from
                          else lines.delete(line.id))]
            if undone:
                return undone
        raise NothingToUndoError("no number was saved from this page since it opened")

    def recent_lines(self, limit: int = HISTORY_LENGTH) -> list[LineSample]:
        """The newest stored lines of the current set (or default pool), newest first."""
        return LineSamples(self.store).recent(limit, self.set_name)

    # -- saving -----------------------------------------------------------------------------

    def save(self, label: int | None, source: str | None = None) -> SaveResult:
        """Store the drawing with this label ("correction" when it differs from the prediction;
        None keeps it unlabelled for the Review queue)."""
        if self.recorder.is_empty():
            raise EmptyImageError("the canvas is blank")
        image = self.canvas_image()
        try:
            prediction = self.predict()
        except NoModelError:
            prediction = None
        image28 = prediction.image28 if prediction is not None else to_mnist(image)
        predicted = prediction.digit if prediction is not None else None
        if source is None:
            corrected = label is not None and predicted is not None and predicted != label
            source = "correction" if corrected else "canvas"
        sample = self.store.add(
            image28, None if label is None else int(label), source, original_png=to_png(image), predicted=predicted,
            confidence=prediction.confidence if prediction is not None else None,
            model_version=self.model_id, set_name=self.set_name)
        if not sample.duplicate:
            self.saved_ids.append(sample.id)
        return SaveResult(sample.id, sample.label, sample.source, predicted, sample.duplicate)

    def accept(self) -> SaveResult:
        """Save the drawing with the model's own answer (Enter: "the model was right")."""
        return self.save(self.predict().digit)

    def undo_save(self) -> int:
        """Delete this session's most recent save; return its id."""
        while self.saved_ids:
            sample_id = self.saved_ids.pop()
            if self.store.delete(sample_id):
                return sample_id
        raise NothingToUndoError("there is no saved drawing to take back")

    def relabel(self, sample_id: int, label: int) -> None:
        """Change a stored sample's label."""
        self.store.relabel(sample_id, int(label))

    def delete(self, sample_id: int) -> bool:
        """Delete a stored sample (and forget it for undo)."""
        if sample_id in self.saved_ids:
            self.saved_ids.remove(sample_id)
        try:
            return self.store.delete(sample_id)
        except SampleNotFoundError:
            return False

    def history(self, limit: int = HISTORY_LENGTH):
        """The newest stored samples of the current set (or default pool), newest first."""
        return self.store.recent(limit, set_name=self.set_name)

    def counts(self) -> dict[int, int]:
        """Samples per digit in the current set (or the default pool)."""
        return self.store.counts(set_name=self.set_name)

    def probabilities28(self, batch: np.ndarray) -> np.ndarray:
        """The model's (N, 10) probabilities for MNIST-form images (uniform with no model)."""
        if self.predictor is None:
            return np.full((len(batch), 10), 0.1, np.float32)
        return self.predictor.prepared_probabilities(batch)
