"""Saving from the pad: a digit with its label (a number: `line_saving`), undo, relabel, delete."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from digitlab.app import messages
from digitlab.app.collect_view import CollectView
from digitlab.app.line_saving import LineActions
from digitlab.app.pad import DrawingPad
from digitlab.app.session import DrawingSession, NoModelError, NothingToUndoError
from digitlab.app.state import AppState
from digitlab.ink import EmptyImageError
from digitlab.store import StoreError


class SampleActions:
    """Store what is on the pad, take saves back and edit stored samples, saying what it did."""

    def __init__(self, session: DrawingSession, state: AppState, pad: DrawingPad,
                 collect: CollectView, line_text: widgets.Text, saved_lines: widgets.HTML,
                 show_waiting: Callable[..., None], show_samples: Callable[[], None],
                 answer: Callable[[], None]):
        self.session, self.state, self.pad, self.collect = session, state, pad, collect
        self.show_waiting, self.show_samples, self.answer = show_waiting, show_samples, answer
        self.notify = state.notify
        self.last_label: int | None = None
        self.saved_revision: int | None = None  # the pad's revision right after the last save
        self.saved_drawing: tuple | None = None  # (width, height, strokes) of the last save
        self.lines = LineActions(self, line_text, saved_lines)  # "Read a number" saves numbers

    def saved_already(self) -> bool:
        """True when nothing was drawn since the last save (a double click, a key pressed twice)."""
        return self.session.recorder.revision == self.saved_revision

    def cleared_after_save(self, waiting: str) -> None:
        """Wipe the pad after a save, remembering that this blank pad is a saved drawing."""
        recorder = self.session.recorder
        self.saved_drawing = (recorder.width, recorder.height, list(recorder.strokes))
        self.session.clear()
        self.saved_revision = self.session.recorder.revision
        self.pad.redraw_ink()
        self.show_waiting(waiting)

    def answer_to_save(self, ask: Callable):
        """The model's answer (ask()) for Enter to save, or None, said why: a blank pad, no model."""
        try:
            return ask()
        except EmptyImageError:
            self.notify("warn", messages.nothing_to_save(self.session.recorder.is_empty()))
        except NoModelError as error:
            self.notify("error", f"No model to ask: {error}")
        return None

    def bring_back_drawing(self) -> bool:
        """After a save was taken back: put its drawing back on the pad and answer it when
        nothing was drawn since (True); else a blank pad's card stops saying "Saved"."""
        recorder, drawing = self.session.recorder, self.saved_drawing
        self.saved_drawing = None  # only the last save's drawing can come back
        if self.saved_already() and drawing and drawing[:2] == (recorder.width, recorder.height):
            recorder.restore(drawing[2])
            self.session.changed()
            self.pad.redraw_ink()
            self.answer()
            return True
        if recorder.is_empty():
            self.show_waiting()
        return False

    def save(self, label: int | None) -> None:
        """Store the drawing with this label (None: put aside for Review), then clear the pad."""
        if self.state.mode == "read":
            self.notify("info", "Saving works on single digits: switch to 'Recognise a digit'.")
            return
        if self.state.mode == "collect" and self.state.set_name is None:
            self.notify("error", f"Not saved: {self.collect.name_problem or 'name the set first'}")
            return
        if self.saved_already():
            return  # the repeat of a save: the message about the first one stays
        source = "canvas" if self.state.mode == "collect" or label is None else None
        try:
            result = self.session.save(label, source=source)
        except EmptyImageError:
            self.notify("warn", messages.nothing_to_save(self.session.recorder.is_empty()))
            return
        except (StoreError, ValueError) as error:
            self.notify("error", f"Could not save: {error}")
            return
        self.last_label = label
        self.cleared_after_save("Saved. Draw the next one")
        self.show_samples()
        self.notify("ok", messages.saved_text(result, self.state.set_name))

    def later(self) -> None:
        """L: keep the drawing unlabelled for the Review queue (not sure what it is yet)."""
        if self.state.mode != "read":
            self.save(None)

    def accept(self) -> None:
        """Enter: save with the model's answer (or, when collecting, with the digit asked for;
        reading a number, the number as typed or read)."""
        if self.state.mode == "read":
            self.lines.accept()
            return
        if self.saved_already():
            return
        if self.state.mode == "collect":
            if self.collect.wanted is None:
                self.notify("info", "The set is complete: press 'Train my model'.")
            else:
                self.save(self.collect.wanted)
            return
        prediction = self.answer_to_save(self.session.predict)
        if prediction is None:
            return
        if prediction.not_digit:  # Enter means "the model is right": it named no digit
            self.notify("warn", "The model says that is not a digit: if it is one, press its "
                                "key to save it (L keeps it for Review).")
            return
        self.save(prediction.digit)

    def undo_save(self) -> None:
        """Backspace: delete the last sample saved in this session (in read mode: the last
        number saved), bringing its drawing back when nothing was drawn since."""
        if self.state.mode == "read":
            self.lines.undo()
            return
        try:
            sample_id = self.session.undo_save()
        except NothingToUndoError as error:
            self.notify("info", f"Nothing to undo: {error}.")
            return
        self.show_samples()
        back = " Its drawing is back on the pad." if self.bring_back_drawing() else ""
        self.notify("ok", f"Took back the last save (sample #{sample_id} deleted).{back}")

    def relabel(self, sample_id: int, label: int) -> None:
        """A history slot's label was changed."""
        try:
            self.session.relabel(sample_id, label)
        except StoreError as error:
            self.notify("error", f"Could not relabel: {error}")
        else:
            self.notify("ok", f"Sample #{sample_id} is now labelled {label}.")
        self.show_samples()

    def delete(self, sample_id: int) -> None:
        """A history slot's delete button was pressed."""
        self.session.delete(sample_id)
        self.show_samples()
        self.notify("ok", f"Deleted sample #{sample_id}.")
