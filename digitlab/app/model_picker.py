"""The model picker: registry models and versions in a dropdown, loaded into the session."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from digitlab.app.session import DrawingSession


class ModelPicker:
    """Lists every registry model (each name's current version first) and switches the session."""

    def __init__(self, session: DrawingSession, dropdown: widgets.Dropdown,
                 refresh: widgets.Button, notify: Callable[[str, str], None],
                 changed: Callable[[], None]):
        self.session, self.dropdown = session, dropdown
        self.notify, self.changed = notify, changed
        self.filling = False
        dropdown.observe(self.picked, names="value")
        refresh.on_click(lambda _: self.refresh())

    def refresh(self) -> None:
        """Fill the dropdown from the registry, keeping the model in use selected."""
        choices = self.session.model_choices()
        predictor = self.session.predictor
        spec = str(predictor.spec) if predictor is not None else None
        self.filling = True
        try:
            if not choices:
                self.dropdown.options = [("no model found", "")]
                self.dropdown.disabled = True
                return
            self.dropdown.disabled = False
            self.dropdown.options = choices
            self.dropdown.value = spec if spec in [value for _, value in choices] else None
        finally:
            self.filling = False

    def picked(self, change) -> None:
        """Load the model chosen by the user."""
        if self.filling or not change["new"]:
            return
        model_id = self.session.use_model(change["new"])
        if model_id is None:
            self.notify("error", self.session.model_error or "Could not load that model.")
            return
        self.notify("ok", f"Using {model_id}.")
        self.changed()

    def follow(self, name: str) -> None:
        """Use (and keep following) the current version of a model name, e.g. after a promote."""
        self.refresh()
        if self.dropdown.value == name:
            self.session.reload_if_changed()
            self.changed()
        else:
            self.dropdown.value = name
        self.refresh()
