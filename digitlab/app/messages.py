"""The words the app says: hints per mode, the waiting captions and what a save did."""

from __future__ import annotations

import html

from digitlab.app.session import SaveResult

BLANK = "The canvas is blank: draw a digit first."
SPECKS = "That is only a dot or a few specks, not a digit yet: draw the whole digit."
WAITING = {"recognise": "Draw a digit on the pad", "read": "Write a few digits side by side",
           "collect": "Draw the digit asked for", "review": "Nothing waits for review",
           "train": ""}
MODE_HINTS = {
    "recognise": "Draw a digit: the model answers when you lift the pen.",
    "read": "Write a number (digits may touch; several lines are read top to bottom).",
    "collect": "Draw the digit asked for and press Enter; Backspace takes a save back.",
    "review": "Label what you see: 0-9, N for not a digit, Space to skip, Backspace to undo.",
    "train": "Fine-tune the selected model on its samples (Train your own makes a new model "
             "from a set you draw).",
}
AFTER_ANSWER = {
    "recognise": "Wrong? Press the right digit key. Right? Press Enter.",
    "read": "Read wrong? Type the right number in the box and press Enter (Enter on the pad "
            "saves it as read). Esc starts again.",
    "collect": "Press Enter to save it as the digit asked for.",
    "review": "",
    "train": "",
}


def no_digit(blank: bool) -> str:
    """Why there is no answer: the pad is blank, or holds only a dot or specks."""
    return BLANK if blank else SPECKS


def nothing_to_save(blank: bool) -> str:
    """Why nothing was saved: the pad is blank, or holds only a dot or specks."""
    if blank:
        return "Nothing to save: the canvas is blank. Draw a digit first."
    return "Nothing to save: a dot or a few specks are not a digit. Draw the whole digit first."


def article(digit: int | str) -> str:
    """A single digit with its indefinite article: "a 7", "an 8"."""
    return f"{'an' if str(digit) == '8' else 'a'} {digit}"


def counted(count: int, noun: str) -> str:
    """A count with its noun, plural unless the count is one: "1 drawing", "3 drawings"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def job_text(status: dict) -> str:
    """A job's state and message, the message left out when it only repeats the state."""
    state, message = status.get("state", ""), str(status.get("message") or "")
    return state if message in ("", state) else f"{state}: {message}"


def message_html(kind: str, text: str) -> str:
    """A message line; kind is info, ok, warn or error."""
    return (f'<div class="dl-message dl-message-{kind}" data-kind="{kind}">'
            f"{html.escape(text)}</div>")


def saved_text(result: SaveResult, set_name: str | None) -> str:
    """Tell the user what a save did, and how to take it back."""
    if result.duplicate:
        return f"That exact drawing is already saved (#{result.sample_id})."
    if result.label is None:
        return (f"Put aside (#{result.sample_id}): label it in Review when you know. "
                "Backspace takes it back.")
    if set_name is not None:
        return f"Saved {article(result.label)} in set {set_name!r}. Backspace takes it back."
    if result.corrected:
        return (f"Saved as {result.label}, a correction (the model said {result.predicted}). "
                "Backspace takes it back.")
    return f"Saved as {result.label}. Backspace takes it back."


def saved_lines_text(saved) -> str:
    """Tell the user which lines a line save stored, relabelled or found already stored."""
    parts = []
    for sample in saved:
        if sample.relabelled_from is not None:
            parts.append(f"relabelled the saved line {sample.relabelled_from} as {sample.text}")
        elif sample.duplicate:
            parts.append(f"{sample.text} was already saved")
        else:
            parts.append(f"saved {sample.text}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + " (for the reader to learn from)."
