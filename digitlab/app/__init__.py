"""The drawing & correction app (Voila / JupyterLab): `DrawingApp().show()`."""

from __future__ import annotations

__all__ = ["DrawingApp"]


def __getattr__(name: str):
    """Import the widgets only when DrawingApp is used (so `digitlab app` starts fast)."""
    if name == "DrawingApp":
        from digitlab.app.widgets import DrawingApp

        return DrawingApp
    raise AttributeError(f"module 'digitlab.app' has no attribute {name!r}")
