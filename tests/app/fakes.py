"""Stand-ins for the app's widget tests: a job manager, a registry, and a pen on the pad."""

from __future__ import annotations

import threading

from digitlab.gate import Gate
from digitlab.jobs import JobAlreadyRunningError
from digitlab.registry import Registry

BEFORE = {"base_validation": 0.98, "validation_count": 6000, "holdout": 0.5, "holdout_count": 4,
          "holdout_per_class": {"1": 2, "7": 2}, "samples": 0.6, "samples_count": 40}
AFTER = {**BEFORE, "base_validation": 0.979, "holdout": 0.75, "samples": 0.95}


class FakeJobs:
    """A JobManager stand-in: one job at a time, running for two polls (and until `release` is
    set), then succeeding with `result`; `existing` is a job already running before the app was
    built."""

    def __init__(self, busy: bool = False):
        self.busy, self.polls, self.started = busy, 0, []
        self.release = threading.Event()
        self.release.set()
        self.existing: dict | None = None
        self.result = {"name": "digits", "version": 2, "mode": "finetune", "compared_with": 1,
                       "promoted": False, "before": BEFORE, "after": AFTER, "reason": "passed"}

    def start_retrain(self, base="digits", **options):
        if self.busy:
            raise JobAlreadyRunningError("a retraining job for 'digits' is already running")
        self.busy = True
        self.started.append((base, options))
        return {"id": "job-1", "state": "starting", "progress": 0.0, "message": "starting"}

    def status(self, job_id):
        self.polls += 1
        if self.polls < 3 or not self.release.is_set():
            return {"id": job_id, "state": "running", "progress": 0.3, "message": "epoch 1 of 3"}
        self.busy, self.existing = False, None
        return {"id": job_id, "state": "succeeded", "progress": 1.0, "message": "done",
                "result": dict(self.result)}

    def cancel(self, job_id):
        return self.status(job_id)

    def active(self, name="digits"):
        return self.existing

    def list(self, limit=None):
        return [self.existing] if self.existing else []


class FakeRegistry(Registry):
    """A registry with digits@1 current, whose candidate cards carry `gate` (by default what a
    fine-tune's gate records for the fake job's result); promotions are recorded."""

    def __init__(self, root):
        super().__init__(root)
        self.promoted = []
        self.currents = {"digits": 1}
        self.gate = Gate().record(BEFORE, AFTER)

    def card(self, name, version=None):
        return {"retrain": {"gate": self.gate}}

    def current(self, name):
        return self.currents[name] if name in self.currents else super().current(name)

    def promote(self, name, version):
        self.promoted.append((name, version))
        self.currents[name] = version


def pen(app, shape):
    """Send the pointer events of a shape to the pad."""
    for stroke in shape:
        app.pad.pen_down(*stroke[0])
        for point in stroke[1:]:
            app.pad.pen_move(*point)
        app.pad.pen_up(*stroke[-1])
