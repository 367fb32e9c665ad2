"""The "improve the model" panel: start a job, show its progress, compare, promote or keep."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from digitlab.app.messages import counted, job_text
from digitlab.app.state import AppState
from digitlab.app.training import Outcome, RetrainController
from digitlab.jobs import JobAlreadyRunningError, JobError
from digitlab.registry import Registry
from digitlab.retrain_job import RetrainJobs


def percent(value: float | None) -> str:
    """An accuracy as a percentage, or a dash when there was nothing to measure."""
    return "–" if value is None else f"{value:.1%}"


def comparison_html(outcome: Outcome) -> str:
    """The before/after table of a finished job, with the promotion gate's verdict."""
    rows = []
    for title, before, after in outcome.rows():
        change = ""
        if before is not None and after is not None and abs(after - before) >= 0.0005:
            kind = "dl-better" if after > before else "dl-worse"
            change = f' <span class="{kind}">({(after - before) * 100:+.1f})</span>'
        rows.append(f"<tr><td>{title}</td><td>{percent(before)}</td>"
                    f"<td>{percent(after)}{change}</td></tr>")
    verdict_class = "dl-better" if outcome.passed else "dl-worse"
    verdict = "passes the gate" if outcome.passed else "fails the gate"
    return (f'<div class="dl-outcome"><b>{html.escape(outcome.name)} v{outcome.version}</b> '
            f'<span class="{verdict_class}">{verdict}</span>'
            '<table class="dl-compare"><tr><th></th><th>now in use</th><th>candidate</th></tr>'
            f'{"".join(rows)}</table>'
            f'<div class="dl-hint">{html.escape(outcome.reason)}</div></div>')


class RetrainView:
    """Buttons and progress for retraining; the job runs in its own process, the UI stays live."""

    def __init__(self, jobs: RetrainJobs, registry: Registry, state: AppState,
                 base: Callable[[], str], promoted: Callable[[str], None]):
        self.state, self.base, self.promoted = state, base, promoted
        self.notify = state.notify
        self.controller = RetrainController(jobs, registry, self.update_job, self.finished)
        self.outcome: Outcome | None = None
        self.summary = widgets.HTML()
        self.finetune_button = widgets.Button(description="Fine-tune on my drawings",
                                              icon="graduation-cap", button_style="primary",
                                              layout=widgets.Layout(width="220px"))
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
        self.box = widgets.VBox([
            widgets.HTML('<div class="dl-section">Improve the model</div>'), self.summary,
            widgets.HBox([self.finetune_button, self.cancel_button]),
            self.progress, self.status,
            self.result, self.decision])
        self.box.add_class("dl-card")
        state.watch(self.show_job, "job")

    def refresh(self, saved: int, corrections: int) -> None:
        """Describe what a fine-tune would learn from."""
        self.summary.value = (f'<div class="dl-hint">{counted(saved, "drawing")} in the default '
                              f'pool ({counted(corrections, "correction")}). Fine-tuning mixes '
                              "them with MNIST so the model learns your hand without forgetting."
                              "</div>")

    def start_finetune(self) -> None:
        """Start fine-tuning the model in use on the default pool (once: a second click while
        the job runs does nothing)."""
        if not self.state.job_running:
            self.start(lambda: self.controller.start_finetune(self.base()))

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
        self.result.value = comparison_html(self.outcome)
        self.promote_button.description = (f"Promote v{self.outcome.version}" if self.outcome.passed
                                           else f"Promote v{self.outcome.version} anyway")
        self.promote_button.button_style = "success" if self.outcome.passed else "warning"
        self.decision.layout.display = "flex"
        self.notify("ok", "Training finished: compare, then promote or keep the current model.")

    def promote(self) -> None:
        """Make the candidate current and switch the app to it."""
        if self.outcome is None:
            return
        self.controller.promote(self.outcome)
        self.decision.layout.display = "none"
        self.notify("ok", f"{self.outcome.name} v{self.outcome.version} is now in use.")
        self.promoted(self.outcome.name)

    def keep(self) -> None:
        """Leave the current model in place (the candidate stays in the registry, unpromoted)."""
        if self.outcome is None:
            return
        self.decision.layout.display = "none"
        self.notify("info", f"Kept the current model; {self.outcome.name} v{self.outcome.version} "
                            "stays in the registry, unpromoted.")
