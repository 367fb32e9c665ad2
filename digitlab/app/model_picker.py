"""The model picker: registry models and versions in a dropdown that shows the state's model."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import ipywidgets as widgets

from digitlab.app.session import DrawingSession
from digitlab.app.state import AppState


class ModelPicker:
    """Lists every registry model (each name's current version first) and switches the session."""

    def __init__(self, session: DrawingSession, state: AppState, dropdown: widgets.Dropdown,
                 refresh: widgets.Button, changed: Callable[[], None]):
        self.session, self.state, self.dropdown, self.changed = session, state, dropdown, changed
        self.filling = False
        dropdown.observe(self.picked, names="value")
        refresh.on_click(lambda _: self.refresh())
        state.watch(self.show_model, "model")

    def refresh(self) -> None:
        """Fill the dropdown from the registry, keeping the model in use selected."""
        choices = self.session.model_choices()
        with self.filling_in():
            self.dropdown.disabled = not choices
            self.dropdown.options = choices or [("no model found", "")]
        if choices:
            self.select(self.state.model)

    def select(self, spec: str | None) -> None:
        """Show a spec as the dropdown's choice (none when the registry does not list it)."""
        with self.filling_in():
            specs = [value for _, value in self.dropdown.options]
            self.dropdown.value = spec if spec in specs else None

    @contextmanager
    def filling_in(self):
        """Change the dropdown without taking the change for the user's pick."""
        self.filling = True
        try:
            yield
        finally:
            self.filling = False

    def show_model(self, change) -> None:
        """The model in use changed: select it (a failed pick stays shown beside its error)."""
        if change["new"] is not None and not self.dropdown.disabled:
            self.select(change["new"])

    def picked(self, change) -> None:
        """Load the model chosen by the user."""
        if not self.filling and change["new"]:
            self.choose(change["new"])

    def choose(self, spec: str) -> None:
        """Load a model into the session, make it the state's model and say which one it is."""
        model_id = self.session.use_model(spec)
        self.state.model = spec if model_id is not None else None
        if model_id is None:
            self.state.notify("error", self.session.model_error or "Could not load that model.")
            return
        self.state.notify("ok", f"Using {model_id}.")
        self.changed()

    def follow(self, name: str) -> None:
        """Use (and keep following) the current version of a model name, e.g. after a promote."""
        self.refresh()
        if self.state.model == name:
            self.session.reload_if_changed()
            self.changed()
        else:
            self.choose(name)
        self.refresh()
