"""Saving from the pad: a digit with its label, a number with its text, undo, relabel, delete."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from digitlab.app import messages, panels
from digitlab.app.collect_view import CollectView
from digitlab.app.pad import DrawingPad
from digitlab.app.session import DrawingSession, NoModelError, NothingToUndoError
from digitlab.app.state import AppState
from digitlab.ink import EmptyImageError
from digitlab.store import StoreError


class SampleActions:
    """Store what is on the pad, take saves back and edit stored samples, saying what it did."""

    def __init__(self, session: DrawingSession, state: AppState, pad: DrawingPad,
                 collect: CollectView, line_text: widgets.Text, saved_lines: widgets.HTML,
                 show_waiting: Callable[[str], None], show_samples: Callable[[], None]):
        self.session, self.state, self.pad, self.collect = session, state, pad, collect
        self.line_text, self.saved_lines = line_text, saved_lines
        self.show_waiting, self.show_samples = show_waiting, show_samples
        self.notify = state.notify
        self.last_label: int | None = None
        self.saved_revision: int | None = None  # the pad's revision right after the last save

    def saved_already(self) -> bool:
        """True when nothing was drawn since the last save (a double click, a key pressed twice)."""
        return self.session.recorder.revision == self.saved_revision

    def cleared_after_save(self, waiting: str) -> None:
        """Wipe the pad after a save, remembering that this blank pad is a saved drawing."""
        self.session.clear()
        self.saved_revision = self.session.recorder.revision
        self.pad.redraw_ink()
        self.show_waiting(waiting)

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

    def save_line(self) -> None:
        """Store the number on the pad with the text typed for it (read mode), then clear the pad."""
        if self.saved_already():
            self.notify("info", "That number is saved: write the next one (Backspace or Undo "
                                "save takes the last save back).")
            return
        typed = self.line_text.value.strip()
        try:
            saved = self.session.save_line(typed)
        except EmptyImageError as error:
            self.notify("warn", f"Nothing to save: {error}.")
            return
        except (StoreError, NoModelError, ValueError) as error:
            self.notify("error", f"Could not save the line: {error}")
            return
        if all(sample.duplicate and sample.relabelled_from is None for sample in saved):
            self.notify("info", messages.saved_lines_text(saved))  # nothing changed: keep the pad
            return
        self.line_text.value = ""
        self.cleared_after_save("Saved. Write the next number")
        self.show_lines()
        self.notify("ok", messages.saved_lines_text(saved))

    def show_lines(self) -> None:
        """List the newest saved numbers of the set (shown in read mode)."""
        self.saved_lines.value = panels.saved_lines_html(self.session.recent_lines())

    def accept(self) -> None:
        """Enter: save with the model's answer (or, when collecting, with the digit asked for)."""
        if self.saved_already():
            return
        if self.state.mode == "collect":
            if self.collect.wanted is None:
                self.notify("info", "The set is complete: press 'Train my model'.")
            else:
                self.save(self.collect.wanted)
            return
        try:
            prediction = self.session.predict()
        except EmptyImageError:
            self.notify("warn", messages.nothing_to_save(self.session.recorder.is_empty()))
            return
        except NoModelError as error:
            self.notify("error", f"No model to ask: {error}")
            return
        if prediction.not_digit:  # Enter means "the model is right": it named no digit
            self.notify("warn", "The model says that is not a digit: if it is one, press its "
                                "key to save it (L keeps it for Review).")
            return
        self.save(prediction.digit)

    def undo_save(self) -> None:
        """Backspace: delete the last sample saved in this session (in read mode: the last
        number saved)."""
        if self.state.mode == "read":
            self.undo_line_save()
            return
        try:
            sample_id = self.session.undo_save()
        except NothingToUndoError as error:
            self.notify("info", f"Nothing to undo: {error}.")
            return
        self.show_samples()
        self.notify("ok", f"Took back the last save (sample #{sample_id} deleted).")

    def undo_line_save(self) -> None:
        """Delete the lines the last Save line of this session stored."""
        try:
            texts = self.session.undo_line_save()
        except NothingToUndoError as error:
            self.notify("info", f"Nothing to undo: {error}.")
            return
        self.show_lines()
        self.notify("ok", f"Took back the saved number{'s' * (len(texts) > 1)} {' '.join(texts)}.")

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
