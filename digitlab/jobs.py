"""Background jobs: one process each, state in files under runs/jobs/<id>/.

A job runs a function named by its module path ("package.module:function") on a JSON
request, as ``python -m digitlab.job_process --job-dir DIR`` in its own process group; this
module knows nothing of what the function does (retraining is one such function, started by
``digitlab.retrain_job``). At most one job per lock name runs at a time, across every process
on the machine: the manager takes
``runs/jobs/locks/<name>.lock`` with ``fcntl.flock`` and hands the open file to the job, which
holds it until it exits. The kernel drops the lock when the job dies, however it dies, so a
lock is never left stale. A second lock per job (``<id>/alive.lock``) tells whether it still
runs. Cancel sends SIGTERM, which the job obeys at its next progress report, then SIGKILL
after a timeout: killing a job is always safe, since the registry only ever shows complete
versions. Importing this module is light: it never imports TensorFlow.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from digitlab.paths import PROJECT_ROOT, runs_dir
from digitlab.records import utc_now, write_json_atomically

JOB_ID_PATTERN = re.compile(r"\d{8}-\d{9}-[0-9a-f]{6}")
LOCK_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
TARGET_PATTERN = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
FINISHED_STATES = ("succeeded", "failed", "cancelled")
CANCEL_MARKER = "cancel-requested"


class JobError(ValueError):
    """Base class for job errors (bad ids, unknown jobs, bad options)."""


class JobAlreadyRunningError(JobError):
    """Raised when a job holding the same lock name is already running."""


class UnknownJobError(JobError):
    """Raised when no job has the given id."""


def check_lock_name(name: str) -> str:
    """Return the lock name if it is a safe file name, else raise JobError."""
    if not isinstance(name, str) or not LOCK_NAME_PATTERN.fullmatch(name) or ".." in name:
        raise JobError(f"invalid job lock name {name!r}")
    return name


def new_job_id() -> str:
    """A time-sortable id with a random suffix, e.g. 20250101-120000123-a1b2c3."""
    now = datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}{now.microsecond // 1000:03d}-{secrets.token_hex(3)}"


def check_job_id(job_id: str) -> str:
    """Return the id if it has the job id shape (so it cannot point outside runs/jobs)."""
    if not isinstance(job_id, str) or not JOB_ID_PATTERN.fullmatch(job_id):
        raise JobError(f"invalid job id {job_id!r}")
    return job_id


def try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on path, or None when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return None
    return handle


class JobManager:
    """Start, watch and cancel background jobs whose state lives in files."""

    def __init__(self, runs_root: str | Path | None = None):
        self.root = Path(runs_root) if runs_root is not None else runs_dir() / "jobs"
        self.processes: dict[str, subprocess.Popen] = {}  # jobs this object started, for reaping

    def folder(self, job_id: str) -> Path:
        """The folder of an existing job."""
        folder = self.root / check_job_id(job_id)
        if not (folder / "request.json").is_file():
            raise UnknownJobError(f"no job {job_id!r} in {self.root}")
        return folder

    def lock_path(self, name: str) -> Path:
        """The lock file for a lock name (one running job per name)."""
        return self.root / "locks" / f"{check_lock_name(name)}.lock"

    def start(self, target: str, options: dict, lock_name: str) -> dict:
        """Run target(options, progress) in a new job process; return its status.

        target is "package.module:function"; options must be JSON values. JobAlreadyRunningError
        when a job holding the same lock name still runs.
        """
        if not isinstance(target, str) or not TARGET_PATTERN.fullmatch(target):
            raise JobError(f"a job target is 'package.module:function', got {target!r}")
        try:
            json.dumps(options)
        except TypeError as error:
            raise JobError(f"job options must be JSON values: {error}") from None
        lock_path = self.lock_path(lock_name)
        lock_fd = try_lock(lock_path)
        if lock_fd is None:
            running = self.active(lock_name)
            detail = f" (job {running['id']}, {running['message']})" if running else ""
            raise JobAlreadyRunningError(f"a job for {lock_name!r} is already running{detail}; "
                                         "wait for it to finish or cancel it")
        alive_fd = None
        try:
            job_id = new_job_id()
            folder = self.root / job_id
            folder.mkdir(parents=True)
            alive_fd = try_lock(folder / "alive.lock")
            request = {"id": job_id, "target": target, "name": lock_name, "options": options,
                       "lock_path": str(lock_path), "created": utc_now("seconds")}
            write_json_atomically(folder / "request.json", request)
            write_json_atomically(folder / "status.json", {
                "id": job_id, "name": lock_name, "state": "starting", "progress": 0.0,
                "message": "starting", "started": utc_now("seconds"), "finished": None,
                "result": None})
            os.ftruncate(lock_fd, 0)
            os.pwrite(lock_fd, job_id.encode(), 0)
            environment = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
                           "PYTHONPATH": os.pathsep.join(
                               filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
            with open(folder / "log.txt", "a") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "digitlab.job_process", "--job-dir", str(folder),
                     "--lock-fd", str(lock_fd), "--alive-fd", str(alive_fd)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(lock_fd, alive_fd), start_new_session=True, env=environment,
                    cwd=PROJECT_ROOT)
            self.processes[job_id] = process
            write_json_atomically(folder / "process.json", {"pid": process.pid})
        finally:  # the job holds its own copies of both locks now
            os.close(lock_fd)
            if alive_fd is not None:
                os.close(alive_fd)
        return self.status(job_id)

    def alive(self, job_id: str) -> bool:
        """True while the job's process runs (it holds <id>/alive.lock)."""
        process = self.processes.get(job_id)
        if process is not None and process.poll() is not None:
            return False
        handle = try_lock(self.folder(job_id) / "alive.lock")
        if handle is None:
            return True
        os.close(handle)
        return False

    def status(self, job_id: str) -> dict:
        """The job's status.json; a job whose process died unfinished reads as failed."""
        folder = self.folder(job_id)
        status = json.loads((folder / "status.json").read_text())
        if status["state"] not in FINISHED_STATES and not self.alive(job_id):
            status = json.loads((folder / "status.json").read_text())  # final words, if any
            if status["state"] not in FINISHED_STATES:
                cancelled = (folder / CANCEL_MARKER).exists()
                status.update(state="cancelled" if cancelled else "failed",
                              finished=utc_now("seconds"),
                              message="cancelled" if cancelled
                              else "job process exited unexpectedly")
                write_json_atomically(folder / "status.json", status)
        return status

    def pid(self, job_id: str) -> int | None:
        """The job process id (also its process group id)."""
        path = self.folder(job_id) / "process.json"
        return json.loads(path.read_text())["pid"] if path.exists() else None

    def cancel(self, job_id: str, timeout: float = 10.0) -> dict:
        """SIGTERM the job's process group, SIGKILL it after timeout seconds; return its status."""
        folder = self.folder(job_id)
        if self.status(job_id)["state"] in FINISHED_STATES:
            return self.status(job_id)
        (folder / CANCEL_MARKER).touch()
        pid = self.pid(job_id)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if pid is None or not self.alive(job_id):
                break
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout
            while self.alive(job_id) and time.monotonic() < deadline:
                time.sleep(0.05)
        return self.status(job_id)

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> dict:
        """Block until the job finishes (or timeout seconds pass); return its status."""
        deadline = time.monotonic() + timeout
        while (status := self.status(job_id))["state"] not in FINISHED_STATES:
            if time.monotonic() > deadline:
                break
            time.sleep(poll)
        return status

    def active(self, name: str = "digits") -> dict | None:
        """The status of the running job for a model name, or None."""
        try:
            job_id = self.lock_path(name).read_text().strip()
            status = self.status(job_id)
        except (FileNotFoundError, JobError):
            return None
        return status if status["state"] not in FINISHED_STATES else None

    def list(self, limit: int | None = None) -> list[dict]:
        """Statuses of all jobs, newest first."""
        if not self.root.is_dir():
            return []
        ids = sorted((entry.name for entry in self.root.iterdir()
                      if JOB_ID_PATTERN.fullmatch(entry.name)), reverse=True)
        return [self.status(job_id) for job_id in ids[:limit]]

    def log(self, job_id: str, tail: int = 100) -> str:
        """The last lines of the job's log."""
        path = self.folder(job_id) / "log.txt"
        return "\n".join(path.read_text().splitlines()[-tail:]) if path.exists() else ""
