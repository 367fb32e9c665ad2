"""Saving numbers in "Read a number": as typed or as read, listed, and taken back."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import ipywidgets as widgets

from digitlab.app import messages, panels
from digitlab.app.session import NoModelError, NothingToUndoError
from digitlab.ink import EmptyImageError
from digitlab.store import StoreError

if TYPE_CHECKING:
    from digitlab.app.saving import SampleActions

TYPED_NUMBERS = re.compile(r"[0-9]+( +[0-9]+)*")  # one number per line, separated by spaces
ALREADY_SAVED = ("That number is saved: write the next one (Backspace or Undo save takes it back "
                 "onto the pad).")


class LineActions:
    """Store the number on the pad with its text for the reader to learn from, list the set's
    saved numbers and take this page's last save back."""

    def __init__(self, actions: SampleActions, line_text: widgets.Text, saved_lines: widgets.HTML):
        self.actions, self.session, self.notify = actions, actions.session, actions.notify
        self.line_text, self.saved_lines = line_text, saved_lines

    def save_line(self, typed: str | None = None) -> None:
        """Save line / Enter in the box: store the number on the pad with the text typed for it
        (or given), then clear the pad."""
        if self.actions.saved_already():
            self.notify("info", ALREADY_SAVED)
            return
        typed = (self.line_text.value if typed is None else typed).strip()
        if not typed:
            self.notify("info", "Type the right number in the box first, then press Enter "
                                "(several lines: numbers separated by spaces, top line first).")
            return
        if not TYPED_NUMBERS.fullmatch(typed):
            self.notify("warn", f"Type digits 0-9 only, e.g. 1907 (several lines: numbers "
                                f"separated by spaces), not {typed!r}.")
            return
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
        self.actions.cleared_after_save("Saved. Write the next number")
        self.show_lines()
        self.notify("ok", messages.saved_lines_text(saved))

    def accept(self) -> None:
        """Enter on the pad: save the number as typed in the box, or, with the box empty, as it
        was read (the reader is right), as Enter saves the model's answer for a digit."""
        if self.line_text.value.strip() or self.actions.saved_already():
            self.save_line()
            return
        reading = self.actions.answer_to_save(self.session.read)
        if reading is None:
            return
        if not reading.lines:
            self.notify("warn", "No number was read on the pad, so there is nothing to save.")
            return
        self.save_line(" ".join(line.text for line in reading.lines))

    def undo(self) -> None:
        """Backspace / Undo save: take back the lines the last Save line of this page stored,
        and bring its drawing back onto the pad when nothing was drawn since."""
        try:
            undone = self.session.undo_line_save()
        except NothingToUndoError as error:
            self.notify("info", f"Nothing to undo: {error}.")
            return
        self.show_lines()
        parts = [f"#{line.id} reads {line.relabelled_from} again" if line.relabelled_from
                 else line.text for line in undone]
        back = " Its drawing is back on the pad." if self.actions.bring_back_drawing() else ""
        self.notify("ok", f"Took back the saved number{'s' * (len(parts) > 1)} {', '.join(parts)}.{back}")

    def show_lines(self) -> None:
        """List the newest saved numbers of the set (shown in read mode)."""
        self.saved_lines.value = panels.saved_lines_html(self.session.recent_lines())
