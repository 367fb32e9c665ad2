"""The "improve the model" panel: start a job, show its progress, compare, promote or keep."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from digitlab.app.messages import counted, job_text
from digitlab.app.state import AppState
from digitlab.app.training import SHOWN_CHANGE, Measure, Outcome, RetrainController
from digitlab.jobs import JobAlreadyRunningError, JobError
from digitlab.registry import ModelRef, Registry
from digitlab.retrain_job import RetrainJobs
from digitlab.review import model_set

MODE_WORDS = {"finetune": "a fine-tune", "scratch": "a model trained from scratch"}


def percent(value: float | None) -> str:
    """An accuracy as a percentage, or a dash when there was nothing to measure."""
    return "–" if value is None else f"{value:.1%}"


def accuracy_cell(row: Measure, accuracy: float | None, change: str = "") -> str:
    """A table cell: the accuracy, its 95 % interval when measured on few images, its change."""
    interval = row.interval(accuracy)
    shown = "" if interval is None else (
        f' <small class="dl-interval" title="Wilson 95 % interval on {row.count} images">'
        f"{interval[0] * 100:.0f}–{interval[1] * 100:.0f} %</small>")
    return f"<td>{percent(accuracy)}{shown}{change}</td>"


def verdict(outcome: Outcome, in_use: str | None) -> tuple[str, str]:
    """(style class, words) of the card's headline: what the gate said, honestly."""
    if outcome.before is None:
        other = f"; {in_use} stays in use until you switch" if in_use else ""
        return "dl-neutral", (f"first version of {outcome.name}: there is nothing to compare it "
                              f"with{other}")
    if not outcome.passed:
        if outcome.holdout_judged is False and outcome.checked_validation is False:
            return "dl-unsure", "not promoted: too few holdout samples to judge it"
        return "dl-worse", "fails the gate"
    unjudged = " (holdout not judged: too few samples)" if outcome.holdout_judged is False else ""
    if not outcome.gained():
        return "dl-neutral", (f"passes the gate{unjudged}, but no gain: it is not better on "
                              "anything measured")
    return "dl-better", f"passes the gate{unjudged}"


def comparison_html(outcome: Outcome, in_use: str | None = None) -> str:
    """The card of a finished job: the model in use and the candidate, the gate's rule and
    verdict, and the before/after table with changes and intervals."""
    rows = []
    for row in outcome.rows():
        change = ""
        if row.change is not None and abs(row.change) >= SHOWN_CHANGE:
            kind = "dl-better" if row.change > 0 else "dl-worse"
            change = f' <span class="{kind}">({row.change * 100:+.1f})</span>'
        rows.append(f"<tr><td>{html.escape(row.title)}</td>{accuracy_cell(row, row.before)}"
                    f"{accuracy_cell(row, row.after, change)}</tr>")
    if outcome.candidate == in_use:
        status = '<span class="dl-better">now in use</span>'
    else:
        where = "promoted, but not in use here" if outcome.promoted else "not in use"
        status = f'<span class="dl-hint">{where}</span>'
    kind, words = verdict(outcome, in_use)
    compared = outcome.compared or f"no {outcome.name} yet"
    rule = "" if not outcome.rule else (
        f'<div class="dl-hint dl-rule">Gate for {MODE_WORDS.get(outcome.mode, outcome.mode)}: '
        f"{html.escape(outcome.rule)}</div>")
    return (f'<div class="dl-outcome" data-verdict="{kind.removeprefix("dl-")}">'
            f'<div class="dl-models">In use: <b class="dl-in-use">'
            f'{html.escape(in_use or "no model")}</b> · Candidate: <b class="dl-candidate">'
            f"{html.escape(outcome.candidate)}</b> {status}</div>"
            f'<div class="{kind} dl-verdict">{html.escape(words)}</div>{rule}'
            '<table class="dl-compare"><tr><th></th>'
            f"<th>compared with {html.escape(compared)}</th><th>candidate</th></tr>"
            f'{"".join(rows)}</table>'
            f'<div class="dl-hint">{html.escape(outcome.reason)}</div></div>')


class RetrainView:
    """Buttons and progress for retraining; the job runs in its own process, the UI stays live."""

    def __init__(self, jobs: RetrainJobs, registry: Registry, state: AppState,
                 base: Callable[[], str], promoted: Callable[[str], None]):
        self.state, self.base, self.promoted, self.registry = state, base, promoted, registry
        self.notify = state.notify
        self.controller = RetrainController(jobs, registry, self.update_job, self.finished)
        self.outcome: Outcome | None = None
        self.summary = widgets.HTML()
        self.finetune_button = widgets.Button(description="Fine-tune on its samples",
                                              icon="graduation-cap", button_style="primary",
                                              layout=widgets.Layout(width="auto"))
        self.cancel_button = widgets.Button(description="Cancel", icon="stop")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0,
                                              layout=widgets.Layout(width="320px"))
        self.status = widgets.HTML()
        self.status.add_class("dl-job-status")
        self.result = widgets.HTML()
        self.promote_button = widgets.Button(description="Promote", icon="check",
                                             button_style="success",
                                             layout=widgets.Layout(width="auto"))
        self.keep_button = widgets.Button(description="Keep the current model", icon="times",
                                          layout=widgets.Layout(width="auto"))
        self.decision = widgets.HBox([self.promote_button, self.keep_button],
                                     layout=widgets.Layout(display="none"))
        self.finetune_button.on_click(lambda _: self.start_finetune())
        self.cancel_button.on_click(lambda _: self.controller.cancel())
        self.promote_button.on_click(lambda _: self.promote())
        self.keep_button.on_click(lambda _: self.keep())
        self.job_line = widgets.HBox([self.progress, self.status],
                                     layout=widgets.Layout(align_items="center", grid_gap="8px"))
        self.box = widgets.VBox([
            widgets.HTML('<div class="dl-section">Improve the selected model</div>'),
            self.summary,
            widgets.HBox([self.finetune_button, self.cancel_button, self.job_line],
                         layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
            self.result, self.decision])
        self.box.add_class("dl-card")
        state.watch(self.show_job, "job")

    def refresh(self, name: str, saved: int, corrections: int, waiting: int) -> None:
        """Describe what a fine-tune of the selected model would learn from."""
        where = "the default pool" if model_set(name) is None else \
            f"the set <b>{html.escape(name)}</b>"
        review = f" {waiting} more wait in Review." if waiting else ""
        self.finetune_button.description = f"Fine-tune {name} on its samples"
        self.summary.value = (f'<div class="dl-hint">{html.escape(name)} learns from '
                              f"{where}: {counted(saved, 'labelled sample')} "
                              f"({counted(corrections, 'correction')}).{review} Fine-tuning "
                              "mixes them with MNIST so the model learns your hand without "
                              "forgetting.</div>")

    def start_finetune(self) -> None:
        """Start fine-tuning the model in use on its own sample set (once: a second click while
        the job runs does nothing)."""
        if not self.state.job_running:
            base = self.base()
            self.start(lambda: self.controller.start_finetune(base, set_name=model_set(base)))

    def start_scratch(self, set_name: str) -> None:
        """Start training a new model from a custom set alone."""
        self.start(lambda: self.controller.start_scratch(set_name))

    def resume(self, name: str) -> None:
        """Follow a training job that is already running (started before this page opened),
        unless this page follows one already."""
        if self.controller.running:
            return
        status = self.controller.running_job(name)
        if status is not None:
            self.follow(self.controller.start(status))
            self.notify("info", "A training job is running: its progress is below, and its "
                                "result will be shown here when it finishes.")

    def start(self, begin: Callable[[], dict]) -> None:
        """Start a job, turning the known failures into messages."""
        try:
            status = begin()
        except JobAlreadyRunningError as error:
            self.notify("warn", f"A training job is already running: {error}")
            return
        except (JobError, ValueError, KeyError, OSError) as error:
            self.notify("error", f"Could not start training: {error}")
            return
        self.follow(status)
        self.notify("info", "Training started; keep drawing while it runs.")

    def follow(self, status: dict) -> None:
        """Show a newly followed job in place of the last one's result."""
        self.outcome = None
        self.result.value = ""
        self.decision.layout.display = "none"
        self.update_job(status)

    def update_job(self, status: dict) -> None:
        """Make this job's status the state's job (also called from the watcher thread)."""
        self.state.job = status

    def show_job(self, change) -> None:
        """Show the job: its buttons, and its bar and status line while it runs."""
        status, running = change["new"], self.state.job_running
        self.finetune_button.disabled = running
        self.cancel_button.layout.display = "flex" if running else "none"
        if running or status is None:  # a finished job's bar stays until finished() decides
            self.progress.layout.display = "flex" if running else "none"
        if status is None:
            return
        self.progress.value = float(status.get("progress") or 0.0)
        self.status.value = f'<span class="dl-hint">{html.escape(job_text(status))}</span>'

    def finished(self, status: dict) -> None:
        """Show the before/after card, or why the job did not finish (from the watcher thread)."""
        if status.get("state") == "succeeded":
            status = {**status, "message": "the candidate is saved; compare it below"}
        self.update_job(status)
        try:
            self.outcome = self.controller.outcome(status)
        except (KeyError, ValueError, OSError) as error:
            self.notify("error", f"The job finished but its model card is unreadable: {error}")
            return
        if self.outcome is None:
            self.progress.layout.display = "none"
            kind = "warn" if status.get("state") == "cancelled" else "error"
            self.notify(kind, f"Training {job_text(status)}.")
            return
        self.show_outcome()
        passed = self.outcome.passed
        self.promote_button.description = (f"Promote v{self.outcome.version}" if passed
                                           else f"Promote v{self.outcome.version} anyway")
        kind = verdict(self.outcome, self.model_in_use())[0]
        self.promote_button.button_style = {"dl-better": "success", "dl-neutral": ""}.get(
            kind, "warning")
        self.decision.layout.display = "flex"
        where = "" if self.state.mode == "train" else " in the Training tab"
        self.notify("ok", f"Training finished: compare{where}, then promote or keep the current "
                          "model.")

    def promote(self) -> None:
        """Make the candidate current and switch the app to it."""
        if self.outcome is None:
            return
        self.controller.promote(self.outcome)
        self.outcome.promoted = True
        self.decision.layout.display = "none"
        self.promoted(self.outcome.name)
        in_use = self.model_in_use()
        self.show_outcome()
        if in_use == self.outcome.candidate:
            self.notify("ok", f"{self.outcome.candidate} is promoted and now in use.")
        elif self.state.message[0] != "error":  # an error says why the app could not switch
            self.notify("warn", f"{self.outcome.candidate} is promoted, but the app still uses "
                                f"{in_use or 'no model'}.")

    def model_in_use(self) -> str | None:
        """The id of the model the app uses ("digits@1"): the state's spec, with the current
        version of a followed name; the bare spec when the registry cannot say."""
        spec = self.state.model
        if not spec:
            return None
        try:
            model = ModelRef.parse(spec)
            version = model.version or self.registry.current(model.name)
        except (KeyError, ValueError, OSError):  # UnknownModelError is both
            return spec
        return f"{model.name}@{version}"

    def show_outcome(self) -> None:
        """Draw the outcome's card against the model in use now."""
        if self.outcome is not None:
            self.result.value = comparison_html(self.outcome, self.model_in_use())

    def keep(self) -> None:
        """Leave the current model in place (the candidate stays in the registry, unpromoted)."""
        if self.outcome is None:
            return
        self.decision.layout.display = "none"
        self.notify("info", f"Kept the current model; {self.outcome.name} v{self.outcome.version} "
                            "stays in the registry, unpromoted.")
