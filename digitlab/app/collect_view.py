"""The "train your own model" panel: set name, drawings per digit, progress and the next prompt."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from digitlab.app.collect import CollectionPlan, InvalidSetNameError, check_set_name
from digitlab.app.messages import article
from digitlab.app.state import AppState

DEFAULT_SET_NAME = "my-digits"


class CollectView:
    """Asks for N drawings of each digit, shows how far along the set is, then offers training."""

    def __init__(self, state: AppState, train: Callable[[str], None],
                 plan_changed: Callable[[], None], model_set: Callable[[], str | None],
                 job_line: widgets.Widget | None = None, per_digit: int = 10):
        self.state, self.train, self.plan_changed = state, train, plan_changed
        self.model_set = model_set  # the set the other modes use: the selected model's
        self.set_name = widgets.Text(value=DEFAULT_SET_NAME, description="Set name",
                                     layout=widgets.Layout(width="260px"))
        self.per_digit = widgets.BoundedIntText(value=per_digit, min=1, max=200,
                                                description="Per digit",
                                                layout=widgets.Layout(width="160px"))
        self.progress = widgets.IntProgress(value=0, min=0, max=10 * per_digit,
                                            layout=widgets.Layout(width="320px"))
        self.progress_text = widgets.HTML()
        self.prompt = widgets.HTML()
        self.prompt.add_class("dl-collect-prompt")
        self.train_button = widgets.Button(description="Train my model", icon="rocket",
                                           button_style="primary", disabled=True)
        self.wanted: int | None = None
        self.complete = False  # every digit has its share
        self.name_problem: str | None = None  # why the form's set name cannot be used, if so
        self.box = widgets.VBox([
            widgets.HTML('<div class="dl-section">Train your own model</div>'
                         '<div class="dl-hint">Draw what is asked and press <b>Enter</b>. When '
                         "every digit has its share, train a model from your drawings alone."
                         "</div>"),
            widgets.HBox([self.set_name, self.per_digit]),
            widgets.HBox([self.progress, self.progress_text],
                         layout=widgets.Layout(align_items="center")),
            self.prompt, widgets.HBox([self.train_button] + ([job_line] if job_line else []),
                                      layout=widgets.Layout(align_items="center",
                                                            grid_gap="8px"))])
        self.box.add_class("dl-card")
        self.set_name.observe(lambda _: self.select_set(), names="value")
        self.per_digit.observe(lambda _: self.select_set(), names="value")
        self.train_button.on_click(lambda _: self.train_set())
        state.watch(self.show_mode, "mode")
        state.watch(self.show_set_name, "set_name")
        state.observe(self.mode_changed, names="mode")
        state.observe(lambda _: self.show_train_button(), names="job")

    def refresh(self, counts: dict[int, int], last: int | None = None) -> None:
        """Update progress, counts and the next digit to ask for."""
        plan = CollectionPlan(self.set_name.value.strip(), int(self.per_digit.value))
        done = plan.done(counts)
        self.progress.max = plan.total
        self.progress.value = done
        self.progress_text.value = f'<span class="dl-hint">{done} / {plan.total}</span>'
        self.wanted = plan.next_digit(counts, last)
        if self.name_problem is not None:
            self.prompt.value = ('<div class="dl-prompt" data-wanted="">Give the set a valid name '
                                 "to start.</div>")
        elif self.wanted is None:
            self.prompt.value = ('<div class="dl-prompt" data-wanted="">All done: press '
                                 "<i>Train my model</i>.</div>")
        else:
            word, digit = article(self.wanted).split()
            self.prompt.value = (f'<div class="dl-prompt" data-wanted="{self.wanted}">Draw {word}'
                                 f"<b>{digit}</b></div>")
        self.complete = plan.complete(counts)
        self.show_train_button()

    def show_train_button(self) -> None:
        """Offer training once the set is complete, and not while a training job runs."""
        self.train_button.disabled = (not self.complete or self.name_problem is not None
                                      or self.state.job_running)

    def plan_size(self) -> int:
        """How many drawings of each digit the set wants."""
        return int(self.per_digit.value)

    def show_mode(self, change) -> None:
        """Show the panel while collecting, hide it in the other modes."""
        self.box.layout.display = "flex" if change["new"] == "collect" else "none"

    def mode_changed(self, change) -> None:
        """Collecting saves to the set named in the form; the other modes to the selected model's
        set."""
        if change["new"] == "collect":
            self.select_set()
        else:
            self.state.set_name = self.model_set()

    def form_set_name(self) -> str | None:
        """The set name in the form, or None after saying why it cannot name a model."""
        try:
            set_name = check_set_name(self.set_name.value)
        except InvalidSetNameError as error:
            self.name_problem = str(error)
            self.state.notify("error", self.name_problem)
            return None
        self.name_problem = None
        return set_name

    def select_set(self) -> None:
        """While collecting, make the set named in the form (or none, if invalid) the state's."""
        if self.state.mode != "collect":
            return
        set_name = self.form_set_name()
        if set_name is not None and set_name == self.state.set_name:
            self.plan_changed()  # the same set, asked for with another number per digit
        self.state.set_name = set_name

    def train_set(self) -> None:
        """Train a new model from the set named in the form alone (once: a second click while
        its job runs does nothing)."""
        if self.state.job_running:
            return
        set_name = self.form_set_name()
        if set_name is not None:
            self.train(set_name)

    def show_set_name(self, change) -> None:
        """Put a newly selected set's name in the form (unless the form already names it)."""
        if change["new"] is not None and change["new"] != self.set_name.value.strip():
            self.set_name.value = change["new"]
