"""The words the app says: hints per mode, the waiting captions and what a save did."""

from __future__ import annotations

import html

from digitlab.app.session import SaveResult

BLANK = "The canvas is blank: draw a digit first."
NOTHING_TO_SAVE = "Nothing to save: the canvas is blank. Draw a digit first."
WAITING = {"recognise": "Draw a digit on the pad", "read": "Write a few digits side by side",
           "collect": "Draw the digit asked for"}
MODE_HINTS = {
    "recognise": "Draw a digit: the model answers when you lift the pen.",
    "read": "Write several digits side by side, not touching: the model reads them in order.",
    "collect": "Draw the digit asked for and press Enter; Backspace takes a save back.",
}
AFTER_ANSWER = {
    "recognise": "Wrong? Press the right digit key. Right? Press Enter.",
    "read": "Add more digits, or press Esc to start again.",
    "collect": "Press Enter to save it as the digit asked for.",
}


def message_html(kind: str, text: str) -> str:
    """A message line; kind is info, ok, warn or error."""
    return (f'<div class="dl-message dl-message-{kind}" data-kind="{kind}">'
            f"{html.escape(text)}</div>")


def saved_text(result: SaveResult, set_name: str | None) -> str:
    """Tell the user what a save did, and how to take it back."""
    if result.duplicate:
        return f"That exact drawing is already saved (#{result.sample_id})."
    if set_name is not None:
        return f"Saved a {result.label} in set {set_name!r}. Backspace takes it back."
    if result.corrected:
        return (f"Saved as {result.label}, a correction (the model said {result.predicted}). "
                "Backspace takes it back.")
    return f"Saved as {result.label}. Backspace takes it back."
