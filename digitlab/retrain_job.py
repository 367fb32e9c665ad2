"""Retraining as a background job: the bridge between `digitlab.jobs` and `digitlab.retrain`.

`RetrainJobs` is a JobManager that also knows where the samples, models and MNIST live, and
starts `run` (this module's job function) with checked `RetrainOptions`; neither side imports
the other.
"""

from __future__ import annotations

from pathlib import Path

from digitlab.jobs import JobError, JobManager
from digitlab.paths import data_dir, models_dir
from digitlab.store import STORE_FILENAME

TARGET = "digitlab.retrain_job:run"


class RetrainJobs(JobManager):
    """Background retraining jobs on one store and one registry (one job per model name)."""

    def __init__(self, runs_root: str | Path | None = None, models_root: str | Path | None = None,
                 store_path: str | Path | None = None, mnist_path: str | Path | None = None):
        super().__init__(runs_root)
        self.models_root = Path(models_root) if models_root is not None else models_dir()
        self.store_path = Path(store_path) if store_path is not None \
            else data_dir() / STORE_FILENAME
        self.mnist_path = Path(mnist_path) if mnist_path is not None else None

    def start_retrain(self, base: str = "digits", **options) -> dict:
        """Start a retraining job (options are RetrainOptions fields); return its status."""
        from digitlab.retrain import RetrainOptions

        given = {key: value for key, value in options.items() if value is not None}
        try:
            checked = RetrainOptions.from_dict({**given, "base": base})
        except (TypeError, ValueError) as error:  # JobError is a ValueError too
            raise JobError(str(error)) from None
        request = {"retrain": {**given, "base": base}, "store_path": str(self.store_path),
                   "models_root": str(self.models_root),
                   "mnist_path": str(self.mnist_path) if self.mnist_path else None}
        return self.start(TARGET, request, lock_name=checked.target())


def run(request: dict, progress) -> dict:
    """The job: retrain with the request's options on its store and registry; the report."""
    from digitlab.registry import Registry
    from digitlab.retrain import RetrainOptions, retrain
    from digitlab.store import SampleStore

    mnist = None
    if request.get("mnist_path"):
        from digitlab.data import load_mnist

        mnist = load_mnist(Path(request["mnist_path"]))
    return retrain(RetrainOptions.from_dict(request["retrain"]),
                   store=SampleStore(request["store_path"]),
                   registry=Registry(request["models_root"]), mnist=mnist, progress=progress)
