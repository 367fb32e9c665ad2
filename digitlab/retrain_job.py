"""Retraining as a background job: the bridge between `digitlab.jobs` and `digitlab.retrain`.

`RetrainJobs` is a JobManager that also knows where the samples, models and MNIST live, and
starts `run` (this module's job function) with checked `RetrainOptions`; neither side imports
the other.
"""

from __future__ import annotations

import threading
import time
import zlib
from pathlib import Path

from digitlab.jobs import JobAlreadyRunningError, JobError, JobManager
from digitlab.paths import models_dir
from digitlab.store_backends import is_postgres, store_location

TARGET = "digitlab.retrain_job:run"


class RetrainJobs(JobManager):
    """Background retraining jobs on one store and one registry (one job per model name)."""

    def __init__(self, runs_root: str | Path | None = None, models_root: str | Path | None = None,
                 store_path: str | Path | None = None, mnist_path: str | Path | None = None):
        super().__init__(runs_root)
        self.models_root = Path(models_root) if models_root is not None else models_dir()
        self.store_path = store_location(store_path)  # a path or a postgresql:// URL
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
        name = checked.target()
        if not is_postgres(self.store_path):  # one machine: the job's file lock is enough
            return self.start(TARGET, request, lock_name=name)
        lock = StoreLock(self.store_path, f"retrain:{name}")
        if not lock.acquire():
            running = self.active(name)
            where = f"here (job {running['id']})" if running else "on another replica"
            raise JobAlreadyRunningError(f"a job for {name!r} is already running {where}; "
                                         "wait for it or cancel it")
        try:
            status = self.start(TARGET, request, lock_name=name)
        except BaseException:
            lock.release()
            raise
        lock.release_when(lambda: not self.alive(status["id"]))
        return status


class StoreLock:
    """A PostgreSQL advisory lock, held by this process (on its own connection) while a job runs.

    Replicas on other machines share the store but not the runs folder's file locks; the
    database refuses them the same lock. It is dropped when the job ends or this process dies.
    """

    def __init__(self, url: str, name: str):
        self.url, self.name = url, name
        self.key = zlib.crc32(name.encode()) - 2**31  # a stable signed 32-bit key
        self.connection = None

    def acquire(self) -> bool:
        """Take the lock now if no one holds it; True when taken."""
        import psycopg

        self.connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        if self.connection.execute("SELECT pg_try_advisory_lock(1684628340, %s)",
                                   (self.key,)).fetchone()[0]:
            return True
        self.release()
        return False

    def release(self) -> None:
        """Let go of the lock (closing the session drops it)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def release_when(self, finished, poll_seconds: float = 0.5) -> None:
        """Release from a watcher thread once finished() is true (the job has exited)."""
        def watch():
            while not finished():
                time.sleep(poll_seconds)
            self.release()

        threading.Thread(target=watch, name=f"lock {self.name}", daemon=True).start()


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
