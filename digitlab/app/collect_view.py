"""The "train your own model" panel: set name, drawings per digit, progress and the next prompt."""

from __future__ import annotations

import ipywidgets as widgets

from digitlab.app.collect import CollectionPlan, check_set_name

DEFAULT_SET_NAME = "my-digits"


class CollectView:
    """Asks for N drawings of each digit, shows how far along the set is, then offers training."""

    def __init__(self, per_digit: int = 10):
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
        self.box = widgets.VBox([
            widgets.HTML('<div class="dl-section">Train your own model</div>'
                         '<div class="dl-hint">Draw what is asked and press <b>Enter</b>. When '
                         "every digit has its share, train a model from your drawings alone."
                         "</div>"),
            widgets.HBox([self.set_name, self.per_digit]),
            widgets.HBox([self.progress, self.progress_text],
                         layout=widgets.Layout(align_items="center")),
            self.prompt, self.train_button],
            layout=widgets.Layout(display="none"))
        self.box.add_class("dl-card")

    def plan(self) -> CollectionPlan:
        """The plan for the set named in the form (raises InvalidSetNameError)."""
        return CollectionPlan(check_set_name(self.set_name.value), int(self.per_digit.value))

    def refresh(self, counts: dict[int, int], last: int | None = None) -> None:
        """Update progress, counts and the next digit to ask for."""
        plan = CollectionPlan(self.set_name.value.strip(), int(self.per_digit.value))
        done = plan.done(counts)
        self.progress.max = plan.total
        self.progress.value = done
        self.progress_text.value = f'<span class="dl-hint">{done} / {plan.total}</span>'
        self.wanted = plan.next_digit(counts, last)
        if self.wanted is None:
            self.prompt.value = ('<div class="dl-prompt" data-wanted="">All done: press '
                                 "<i>Train my model</i>.</div>")
        else:
            self.prompt.value = (f'<div class="dl-prompt" data-wanted="{self.wanted}">Draw a'
                                 f"<b>{self.wanted}</b></div>")
        self.train_button.disabled = not plan.complete(counts)

    def plan_size(self) -> int:
        """How many drawings of each digit the set wants."""
        return int(self.per_digit.value)

    def show(self, visible: bool) -> None:
        """Show or hide the panel."""
        self.box.layout.display = "flex" if visible else "none"
