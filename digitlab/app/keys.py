"""Keyboard shortcuts on the pad, as a plain mapping from a key to an action name."""

from __future__ import annotations

SHORTCUTS = {"Enter": "accept", "Backspace": "undo_save", "Escape": "clear", "Delete": "clear",
             "c": "clear", "z": "undo_stroke", "u": "undo_stroke", "p": "answer", " ": "answer",
             "l": "later"}


def key_action(key: str, ctrl: bool = False, meta: bool = False) -> tuple[str, int | None] | None:
    """("save", digit) for 0-9, (action, None) for a shortcut, None for other keys."""
    if ctrl or meta:
        return ("undo_stroke", None) if key.lower() == "z" else None
    if len(key) == 1 and key.isdigit():
        return "save", int(key)
    action = SHORTCUTS.get(key, SHORTCUTS.get(key.lower()) if len(key) == 1 else None)
    return (action, None) if action else None
