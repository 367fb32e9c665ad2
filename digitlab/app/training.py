"""Retraining from the app: start a job, watch it from a thread, then promote or keep it."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from digitlab.jobs import FINISHED_STATES
from digitlab.registry import Registry
from digitlab.retrain_job import RetrainJobs

POLL_SECONDS = 0.5
RECENT_JOBS = 20  # how far back a page looks for a running job of another model
SMALL_SAMPLE = 1000  # accuracies measured on fewer images than this get an interval
SHOWN_CHANGE = 0.0005  # smaller changes show (and count) as none: under 0.05 points
MEASURES = (("MNIST validation", "base_validation", "validation_count"),
            ("Holdout samples", "holdout", "holdout_count"),
            ("Your samples (trained on)", "samples", "samples_count"))


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of the proportion successes / total (95 % for z = 1.96)."""
    if total <= 0 or not 0 <= successes <= total:
        raise ValueError(f"need 0 <= successes <= total and total > 0, got {successes}/{total}")
    share, spread = successes / total, z * z / total
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / total + spread / (4 * total)) / (1 + spread)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Measure:
    """One row of the before/after card: an accuracy of each model and how many images it took."""

    title: str
    before: float | None
    after: float | None
    count: int | None

    @property
    def change(self) -> float | None:
        """The candidate's accuracy minus the compared model's (None when either is missing)."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def interval(self, accuracy: float | None) -> tuple[float, float] | None:
        """The Wilson 95 % interval of an accuracy measured on few images (None on many)."""
        if accuracy is None or not self.count or self.count >= SMALL_SAMPLE:
            return None
        return wilson_interval(round(accuracy * self.count), self.count)


@dataclass
class Outcome:
    """A finished job's candidate: where it lives, what it was compared with, the gate's verdict."""

    name: str
    version: int
    passed: bool
    reason: str
    before: dict | None
    after: dict
    mode: str = "finetune"
    compared_with: int | None = None  # the version of `name` the gate compared with
    rule: str | None = None  # the gate's rule, in words, as the job recorded it
    holdout_judged: bool | None = None  # False: too few holdout samples to judge
    checked_validation: bool | None = None  # False: the gate was on the holdout only
    promoted: bool = False

    @property
    def candidate(self) -> str:
        """The candidate's registry id ("digits@2")."""
        return f"{self.name}@{self.version}"

    @property
    def compared(self) -> str | None:
        """The id of the model the gate compared with, or None for a first version."""
        if self.before is None:
            return None
        return f"{self.name}@{self.compared_with}" if self.compared_with else f"current {self.name}"

    def rows(self) -> list[Measure]:
        """The before/after card's rows: MNIST validation, holdout and training samples."""
        before = self.before or {}
        return [Measure(title, before.get(key), self.after.get(key), self.after.get(count))
                for title, key, count in MEASURES]

    def gained(self) -> bool:
        """True when the candidate is better on at least one measure (by a shown amount)."""
        return any(row.change is not None and row.change >= SHOWN_CHANGE for row in self.rows())


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
        """Fine-tune `base` on a sample set (set_name, None: the default pool) with an MNIST
        replay; the candidate waits for promote()."""
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
        retrained = card.get("retrain", {})
        gate = retrained.get("gate", {})
        judged = gate.get("holdout_judged")
        return Outcome(name=result["name"], version=result["version"],
                       passed=bool(gate.get("passed", False)),
                       reason=gate.get("reason", result.get("reason", "")),
                       before=result.get("before", retrained.get("before")),
                       after=result.get("after") or retrained.get("after") or {},
                       mode=result.get("mode", retrained.get("mode", "finetune")),
                       compared_with=result.get("compared_with", retrained.get("compared_with")),
                       rule=gate.get("rule"),
                       holdout_judged=None if judged is None else bool(judged),
                       checked_validation=gate.get("check_validation"),
                       promoted=bool(result.get("promoted", False)))

    def promote(self, outcome: Outcome) -> None:
        """Make the candidate the current version of its model."""
        self.registry.promote(outcome.name, outcome.version)
