"""Display pieces of the app: the prediction card, the reading, the history strip and counts."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np

from digitlab.app.messages import article
from digitlab.app.strokes import enlarge, to_png
from digitlab.predict import Prediction
from digitlab.reading import Reading
from digitlab.saliency import heat_image, occlusion_map

BLANK_IMAGE = to_png(np.zeros((28, 28), np.uint8))
LABEL_OPTIONS = [(str(digit), digit) for digit in range(10)]


def prediction_html(prediction: Prediction, model_id: str | None) -> str:
    """The big answer, its confidence or an 'unsure' badge, and the top-3 bars."""
    digit, confidence = prediction.digit, prediction.confidence
    if prediction.not_digit:
        return (f'<div class="dl-result dl-unsure-card" data-digit="" data-state="not-digit" '
                f'data-guess="{digit}"><div class="dl-caption">The model reads</div>'
                '<div class="dl-digit">?</div><div class="dl-unsure">That doesn\'t look like a '
                f"digit. If it is one, press its key to save it (its best guess: {digit}).</div>"
                f'<div class="dl-model">model {html.escape(model_id or "?")}</div></div>')
    if prediction.uncertain:
        runner_up = prediction.top[1][0]
        verdict = (f'<div class="dl-unsure">Unsure: {article(digit)} or {article(runner_up)}? '
                   "Press the right digit key.</div>")
    else:
        verdict = f'<div class="dl-sure">{confidence:.0%} sure</div>'
    bars = "".join(
        f'<div class="dl-bar-row"><span class="dl-bar-digit">{top_digit}</span>'
        f'<div class="dl-bar"><div style="width:{probability * 100:.1f}%"></div></div>'
        f'<span class="dl-bar-value">{probability:.1%}</span></div>'
        for top_digit, probability in prediction.top)
    state = "unsure" if prediction.uncertain else "sure"
    return (f'<div class="dl-result dl-{state}-card" data-digit="{digit}" data-state="{state}">'
            f'<div class="dl-caption">The model reads</div><div class="dl-digit">{digit}</div>'
            f'{verdict}<div class="dl-bars">{bars}</div>'
            f'<div class="dl-model">model {html.escape(model_id or "?")}</div></div>')


def reading_html(reading: Reading, model_id: str | None) -> str:
    """The digits read left to right, each with its confidence."""
    if not reading.digits and reading.marks:
        return waiting_html("That doesn't look like a number: write digits, in one or more lines.")
    if not reading.digits:
        return waiting_html("No digits found: write a number larger, in one or more lines.")
    chips = "".join(
        f'<span class="dl-chip{" dl-chip-unsure" if d.uncertain else ""}">{d.digit}'
        f"<small>{d.confidence:.0%}</small></span>" for d in reading.digits)
    return (f'<div class="dl-result" data-digit="{html.escape(reading.text)}" data-state="read">'
            f'<div class="dl-caption">The model reads</div>'
            f'<div class="dl-digit dl-number">{html.escape(reading.text)}</div>'
            f'<div class="dl-chips">{chips}</div>'
            f'<div class="dl-model">model {html.escape(model_id or "?")}</div></div>')


def waiting_html(text: str) -> str:
    """The result card before anything was predicted (or after a clear)."""
    return (f'<div class="dl-result dl-waiting" data-digit="" data-state="waiting">'
            f'<div class="dl-caption">{html.escape(text)}</div></div>')


def counts_html(counts: dict[int, int], target: int | None = None) -> str:
    """One cell per digit with its sample count (against a target when collecting)."""
    cells = []
    for digit in range(10):
        count = counts.get(digit, 0)
        done = target is not None and count >= target
        shown = f"{count}/{target}" if target is not None else str(count)
        cells.append(f'<div class="dl-count{" dl-count-done" if done else ""}">'
                      f"<b>{digit}</b><span>{shown}</span></div>")
    return f'<div class="dl-counts">{"".join(cells)}</div>'


def saved_lines_html(lines) -> str:
    """The newest saved numbers (line samples) of the set as chips, newest first."""
    if not lines:
        return ('<div class="dl-hint dl-saved-lines">No numbers saved here yet: type the right '
                "number under a reading and press Save line (or Enter).</div>")
    chips = "".join(f'<span class="dl-chip" title="{line.split} split">{html.escape(line.text)}'
                    f"<small>#{line.id}</small></span>" for line in lines)
    return (f'<div class="dl-saved-lines"><div class="dl-chips">{chips}</div><div class="dl-hint">'
            "newest first · Backspace or Undo save takes back this page's last save</div></div>")


class HistorySlot:
    """One saved sample in the strip: its thumbnail, a label picker and a delete button."""

    def __init__(self, relabel: Callable[[int, int], None], delete: Callable[[int], None]):
        self.sample_id: int | None = None
        self.updating = False
        self.image = widgets.Image(value=BLANK_IMAGE, format="png", width=56, height=56)
        self.label = widgets.Dropdown(options=LABEL_OPTIONS, value=0, tooltip="Relabel",
                                      layout=widgets.Layout(width="64px"))
        self.remove = widgets.Button(description="delete", icon="trash", tooltip="Delete",
                                     layout=widgets.Layout(width="64px", height="24px"))
        self.remove.add_class("dl-small-button")
        self.source = widgets.HTML(layout=widgets.Layout(width="64px"))
        self.box = widgets.VBox([self.image, self.source, self.label, self.remove],
                                layout=widgets.Layout(align_items="center", display="none"))
        self.box.add_class("dl-slot")
        self.label.observe(self.label_changed, names="value")
        self.relabel, self.delete = relabel, delete
        self.remove.on_click(lambda _: self.sample_id is not None and self.delete(self.sample_id))

    def label_changed(self, change) -> None:
        """Relabel the sample when the user picks another digit."""
        if not self.updating and self.sample_id is not None:
            self.relabel(self.sample_id, change["new"])

    def show(self, sample) -> None:
        """Fill the slot with a stored sample, or hide it for None."""
        self.updating = True
        try:
            if sample is None:
                self.sample_id = None
                self.box.layout.display = "none"
                return
            self.sample_id = sample.id
            self.image.value = enlarge(sample.image.astype(np.float32) / 255.0, scale=2)
            self.label.value = sample.label
            fixed = sample.source == "correction"
            self.source.value = (f'<div class="dl-source{" dl-source-fix" if fixed else ""}" '
                                 f'title="{sample.source}">#{sample.id}{" fix" if fixed else ""}'
                                 "</div>")
            self.box.layout.display = "flex"
        finally:
            self.updating = False


class HistoryStrip:
    """The last saved samples, newest first, each relabel-able and deletable."""

    def __init__(self, size: int, relabel: Callable[[int, int], None],
                 delete: Callable[[int], None]):
        self.slots = [HistorySlot(relabel, delete) for _ in range(size)]
        self.empty = widgets.HTML('<div class="dl-hint">Saved drawings appear here.</div>')
        self.box = widgets.HBox([self.empty] + [slot.box for slot in self.slots])
        self.box.add_class("dl-history")

    def show(self, samples) -> None:
        """Show these samples (newest first) in the slots."""
        for index, slot in enumerate(self.slots):
            slot.show(samples[index] if index < len(samples) else None)
        self.empty.layout.display = "none" if samples else "flex"


class ModelInput:
    """The enlarged 28x28 image the model sees, and beside it what its answer rests on."""

    def __init__(self, scale: int = 5):
        self.scale = scale
        self.image = widgets.Image(value=enlarge(np.zeros((28, 28)), scale), format="png",
                                   width=28 * scale, height=28 * scale)
        self.image.add_class("dl-model-input")
        # No tooltip: Voila's bundled ImageView fails to render an Image that has one.
        self.saliency = widgets.Image(value=enlarge(np.zeros((28, 28)), scale), format="png",
                                      width=28 * scale, height=28 * scale)
        self.saliency.add_class("dl-saliency")

    def show(self, image28: np.ndarray | None, probabilities=None) -> None:
        """Show an image (None: a black square); given the model's probabilities function,
        also its occlusion saliency for the predicted digit (about 150 images, one batch)."""
        self.image.value = enlarge(np.zeros((28, 28)) if image28 is None else image28, self.scale)
        heat = np.zeros((28, 28))
        if image28 is not None and probabilities is not None:
            heat = heat_image(image28, occlusion_map(probabilities, image28)[0])
        self.saliency.value = enlarge(heat, self.scale)
