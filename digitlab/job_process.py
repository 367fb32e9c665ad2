"""Inside a job process: `python -m digitlab.job_process --job-dir DIR` runs one job.

It reads DIR/request.json, holds the locks the manager passed down (or takes them), imports
the request's target function and calls it with the options and a progress callback, keeping
DIR/status.json and DIR/log.txt up to date. SIGTERM asks the job to stop at its next progress
report (JobCancelledError); any other failure is recorded as "failed" with its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import traceback
from pathlib import Path

from digitlab.jobs import CANCEL_MARKER, JobError, try_lock
from digitlab.records import utc_now, write_json_atomically


class JobCancelledError(BaseException):
    """Raised inside a job at its next progress report after a cancel was requested."""


class JobFiles:
    """The job side of a job folder: status.json and log.txt, and whether to stop."""

    def __init__(self, folder: Path):
        self.folder, path = folder, folder / "status.json"
        self.status = json.loads(path.read_text()) if path.exists() else {}
        self.cancel_requested = False

    def request_cancel(self, signum=None, frame=None) -> None:
        """The SIGTERM handler: only sets a flag (an exception raised inside TensorFlow's C++
        code can be turned into a RuntimeError and swallowed, so it is raised at a report)."""
        self.cancel_requested = True

    def check_cancelled(self) -> None:
        """Raise JobCancelledError once SIGTERM arrived or the cancel marker file exists."""
        if self.cancel_requested or (self.folder / CANCEL_MARKER).exists():
            raise JobCancelledError("cancelled")

    def log(self, message: str) -> None:
        """Append a timestamped line to log.txt."""
        with open(self.folder / "log.txt", "a") as handle:
            handle.write(f"{utc_now('seconds')} {message}\n")

    def update(self, **fields) -> None:
        """Merge fields into status.json (atomically)."""
        self.status.update(fields)
        write_json_atomically(self.folder / "status.json", self.status)

    def progress(self, fraction: float, message: str) -> None:
        """A progress callback: status and log (and the point where a cancel takes effect)."""
        self.check_cancelled()
        self.update(state="running", progress=round(float(fraction), 4), message=message)
        self.log(f"[{fraction:4.0%}] {message}")


def hold_lock(path: Path, inherited_fd: int | None) -> int:
    """Keep the lock the manager passed down, or take it now; JobError when someone holds it."""
    if inherited_fd is not None:
        return inherited_fd
    handle = try_lock(path)
    if handle is None:
        raise JobError(f"another job holds {path}; not starting")
    return handle


def load_target(target: str):
    """The function a "package.module:function" target names."""
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def run(folder: Path, lock_fd: int | None = None, alive_fd: int | None = None) -> int:
    """Run the job in folder to its end; returns the process exit code."""
    request, files = json.loads((folder / "request.json").read_text()), JobFiles(folder)
    try:
        hold_lock(folder / "alive.lock", alive_fd)
        hold_lock(Path(request["lock_path"]), lock_fd)
    except JobError as error:
        files.update(state="failed", message=str(error), finished=utc_now("seconds"))
        return 1
    signal.signal(signal.SIGTERM, files.request_cancel)
    files.update(state="running", progress=0.0, message="starting", pid=os.getpid(),
                 started=files.status.get("started") or utc_now("seconds"))
    files.log(f"job {folder.name} started (pid {os.getpid()})")
    try:
        result = load_target(request["target"])(request["options"], files.progress)
    except JobCancelledError:
        files.update(state="cancelled", message="cancelled", finished=utc_now("seconds"))
        files.log("cancelled")
        return 130
    except Exception as error:
        files.log(traceback.format_exc().rstrip())
        files.update(state="failed", message=f"{type(error).__name__}: {error}",
                     finished=utc_now("seconds"))
        return 1
    message = result.get("reason", "done") if isinstance(result, dict) else "done"
    files.update(state="succeeded", progress=1.0, message=message, result=result,
                 finished=utc_now("seconds"))
    files.log("finished")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: --job-dir DIR (the lock descriptors are passed by the manager)."""
    parser = argparse.ArgumentParser(prog="python -m digitlab.job_process",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--job-dir", type=Path, required=True, help="job folder with request.json")
    parser.add_argument("--lock-fd", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--alive-fd", type=int, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    return run(arguments.job_dir, arguments.lock_fd, arguments.alive_fd)


if __name__ == "__main__":
    sys.exit(main())
