"""The Review mode: samples that wait for a label, most uncertain first, one at a time on the pad.

Keys 0-9 label the sample shown, N marks it "not a digit", Space skips it for now and
Backspace takes the last answer back. The queue is the selected model's sample set, so camera
crops (`digitlab serve --collect-uncertain`) and drawings put aside in the app land here.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np

from digitlab.app.messages import article, counted
from digitlab.app.pad import DrawingPad
from digitlab.app.panels import ModelInput
from digitlab.app.state import AppState
from digitlab.review import ReviewItem, ReviewQueue
from digitlab.samples import decode_png

SURE_MARGIN = 0.5  # above this the card does not offer a runner-up
REVIEW_KEYS = {"n": "not_digit", "N": "not_digit", " ": "skip", "Backspace": "undo"}


def review_key(key: str) -> tuple[str, int | None] | None:
    """("label", digit) for 0-9, (action, None) for N, Space and Backspace, else None."""
    if len(key) == 1 and key.isdigit():
        return "label", int(key)
    action = REVIEW_KEYS.get(key)
    return (action, None) if action else None


def item_html(item: ReviewItem | None, waiting: int, done: int) -> str:
    """The card beside the sample: where it came from, what the model guesses, how many wait."""
    if item is None:
        return ('<div class="dl-result dl-waiting" data-digit="" data-state="review-empty">'
                '<div class="dl-caption">Nothing waits for review. Camera crops (serve '
                "--collect-uncertain) and drawings you put aside appear here.</div>"
                f'<div class="dl-hint dl-review-done" data-done="{done}">'
                f"{counted(done, 'label')} given here.</div></div>")
    sample = item.sample
    origin = (f"camera {html.escape(sample.camera)}, frame {sample.frame_id}"
              if sample.camera else f"a {html.escape(sample.source)} sample")
    second = int(np.argsort(item.probabilities)[-2])
    doubt = (f"{article(item.guess)} or {article(second)}?" if item.margin < SURE_MARGIN
             else "the model is sure: is it right?")
    return (f'<div class="dl-result dl-unsure-card" data-digit="{item.guess}" data-state="review" '
            f'data-sample="{sample.id}"><div class="dl-caption">The model guesses</div>'
            f'<div class="dl-digit">{item.guess}</div><div class="dl-unsure">'
            f"{doubt} · margin {item.margin:.2f}</div>"
            f'<div class="dl-hint">#{sample.id} · from {origin}</div>'
            f'<div class="dl-hint dl-review-count" data-waiting="{waiting}" data-done="{done}">'
            f"{waiting} waiting · {counted(done, 'label')} given here</div></div>")


class ReviewView:
    """Shows the queue's current sample on the pad and records the reviewer's answers."""

    def __init__(self, queue: ReviewQueue, state: AppState, pad: DrawingPad,
                 model_input: ModelInput, result: widgets.HTML, labelled: Callable[[], None]):
        self.queue, self.state, self.pad = queue, state, pad
        self.model_input, self.result, self.labelled = model_input, result, labelled
        self.done = 0
        button = widgets.Button
        self.not_digit_button = button(description="Not a digit (N)", icon="ban",
                                       layout=widgets.Layout(width="auto"))
        self.skip_button = button(description="Skip (Space)", icon="forward",
                                  layout=widgets.Layout(width="auto"))
        self.undo_button = button(description="Undo (Backspace)", icon="reply",
                                  layout=widgets.Layout(width="auto"))
        self.box = widgets.VBox([
            widgets.HTML('<div class="dl-hint">Press the digit you see (or a digit button); '
                         "the most uncertain samples come first.</div>"),
            widgets.HBox([self.not_digit_button, self.skip_button, self.undo_button])],
            layout=widgets.Layout(display="none"))
        self.not_digit_button.on_click(lambda _: self.act("not_digit"))
        self.skip_button.on_click(lambda _: self.act("skip"))
        self.undo_button.on_click(lambda _: self.act("undo"))
        state.observe(self.mode_changed, names="mode")

    def mode_changed(self, change) -> None:
        """Entering Review shows the first sample; leaving it gives the pad back for drawing."""
        reviewing = change["new"] == "review"
        self.box.layout.display = "flex" if reviewing else "none"
        if reviewing:
            self.start()
        elif change["old"] == "review":
            self.pad.show_picture(None)

    def start(self) -> None:
        """Review the state's sample set from its most uncertain sample."""
        self.queue.select(self.state.set_name)
        self.show()

    def show(self) -> None:
        """Put the current sample on the pad and its card beside it."""
        item = self.queue.current
        self.result.value = item_html(item, self.queue.waiting(), self.done)
        if item is None:
            self.pad.show_picture(np.full((28, 28), 255, np.uint8))
            self.model_input.show(None)
            return
        original = item.sample.original_png
        picture = decode_png(original) if original else 255 - item.sample.image
        self.pad.show_picture(picture)
        self.model_input.show(item.sample.image.astype(np.float32) / 255.0, self.queue.probabilities)

    def key(self, key: str) -> bool:
        """Handle a key pressed on the pad; True when it meant something here."""
        action = review_key(key)
        if action is None:
            return False
        self.act(*action)
        return True

    def act(self, action: str, digit: int | None = None) -> None:
        """Label, mark, skip or undo, then show the next sample and say what happened."""
        item = self.queue.current
        if action == "undo":
            answer = self.queue.undo()
            if answer is None:
                self.state.notify("warn", "Nothing to take back yet.")
            else:
                self.done -= 1
                self.state.notify("info", f"Took back #{answer.item.sample.id}; it waits again.")
        elif item is None:
            self.state.notify("info", "Nothing waits for review.")
        elif action == "skip":
            self.queue.skip()
            self.state.notify("info", f"Skipped #{item.sample.id}; it is asked again later.")
        else:
            not_digit = action == "not_digit"
            self.queue.answer(None if not_digit else digit, not_digit=not_digit)
            self.done += 1
            said = "not a digit" if not_digit else f"labelled {digit}"
            self.state.notify("ok", f"#{item.sample.id} {said}. Backspace takes it back.")
        self.show()
        if action != "skip":
            self.labelled()
