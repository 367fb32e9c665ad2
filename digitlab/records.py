"""Small helpers for files that record state: UTC timestamps and atomic JSON writes."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # temp files and folders start with this and the writer's pid


def utc_now(timespec: str = "milliseconds") -> str:
    """The current UTC time as ISO 8601 ("seconds" or "milliseconds" precision)."""
    return datetime.now(timezone.utc).isoformat(timespec=timespec)


def write_json_atomically(path: Path, value) -> None:
    """Write JSON to a temp file in the same folder, fsync it, then rename over the target."""
    handle, temp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".json",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(json.dumps(value, indent=2, default=str) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
