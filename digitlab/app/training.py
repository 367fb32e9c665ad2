"""Retraining from the app: start a job, watch it from a thread, then promote or keep it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from digitlab.jobs import FINISHED_STATES
from digitlab.registry import Registry
from digitlab.retrain_job import RetrainJobs

POLL_SECONDS = 0.5
RECENT_JOBS = 20  # how far back a page looks for a running job of another model


@dataclass
class Outcome:
    """A finished job's candidate: where it lives and whether it passed the promotion gate."""

    name: str
    version: int
    passed: bool
    reason: str
    before: dict | None
    after: dict

    def rows(self) -> list[tuple[str, float | None, float | None]]:
        """(measure, before, after) accuracies for the before/after card."""
        before = self.before or {}
        return [(title, before.get(key), self.after.get(key)) for title, key in (
            ("MNIST validation", "base_validation"), ("Holdout samples", "holdout"),
            ("Your samples", "samples"))]


class RetrainController:
    """Starts fine-tune or scratch jobs, reports their progress from a thread, promotes results."""

    def __init__(self, jobs: RetrainJobs, registry: Registry,
                 on_progress: Callable[[dict], None], on_finished: Callable[[dict], None]):
        self.jobs, self.registry = jobs, registry
        self.on_progress, self.on_finished = on_progress, on_finished
        self.job_id: str | None = None
        self.watcher: threading.Thread | None = None
        self.stop = threading.Event()

    @property
    def running(self) -> bool:
        """True while a watched job has not finished."""
        return self.watcher is not None and self.watcher.is_alive()

    def start_finetune(self, base: str, **options) -> dict:
        """Fine-tune `base` on the default pool of samples; the candidate waits for promote()."""
        return self.start(self.jobs.start_retrain(base=base, mode="finetune",
                                                  auto_promote=False, **options))

    def start_scratch(self, set_name: str, **options) -> dict:
        """Train a new model (named like the set) from a custom set alone."""
        return self.start(self.jobs.start_retrain(base="digits", mode="scratch", set_name=set_name,
                                                  auto_promote=False, **options))

    def running_job(self, name: str) -> dict | None:
        """The status of a running job: the one for this model, else the newest of any model."""
        try:
            status = self.jobs.active(name)
            if status is None:
                status = next((recent for recent in self.jobs.list(limit=RECENT_JOBS)
                               if recent["state"] not in FINISHED_STATES), None)
        except (OSError, KeyError, ValueError):  # JobError is a ValueError
            return None  # a job folder half written or removed: nothing to follow
        return status

    def start(self, status: dict) -> dict:
        """Begin watching a job (freshly started, or found running)."""
        self.job_id = status["id"]
        self.stop.clear()
        self.watcher = threading.Thread(target=self.watch, args=(status["id"],), daemon=True,
                                        name=f"digitlab-job-{status['id']}")
        self.watcher.start()
        return status

    def watch(self, job_id: str) -> None:
        """Poll the job's status file until it finishes (runs in the watcher thread)."""
        last = None
        while not self.stop.is_set():
            try:
                status = self.jobs.status(job_id)
            except Exception as error:  # a vanished job folder must not kill the thread silently
                status = {"id": job_id, "state": "failed", "progress": 0.0,
                          "message": f"lost track of the job: {error}", "result": None}
            if status["state"] in FINISHED_STATES:
                self.on_finished(status)
                return
            key = (status.get("state"), status.get("progress"), status.get("message"))
            if key != last:
                self.on_progress(status)
                last = key
            self.stop.wait(POLL_SECONDS)

    def cancel(self) -> dict | None:
        """Cancel the running job (the watcher reports it as cancelled)."""
        if self.job_id is None:
            return None
        return self.jobs.cancel(self.job_id)

    def close(self) -> None:
        """Stop watching (the job itself keeps running)."""
        self.stop.set()

    def outcome(self, status: dict) -> Outcome | None:
        """The candidate of a succeeded job, with the gate verdict from its model card."""
        result = status.get("result") or {}
        if status.get("state") != "succeeded" or "version" not in result:
            return None
        card = self.registry.card(result["name"], result["version"])
        gate = card.get("retrain", {}).get("gate", {})
        return Outcome(name=result["name"], version=result["version"],
                       passed=bool(gate.get("passed", False)),
                       reason=gate.get("reason", result.get("reason", "")),
                       before=result.get("before"), after=result.get("after") or {})

    def promote(self, outcome: Outcome) -> None:
        """Make the candidate the current version of its model."""
        self.registry.promote(outcome.name, outcome.version)
