"""A stand-in training job for the browser tests: it reports progress, waits for a go-ahead
file, then succeeds with the registry's digits@1 as its candidate (no TensorFlow, no training)."""

from __future__ import annotations

import time
from pathlib import Path


def run(request: dict, progress) -> dict:
    """Report an epoch, wait until request["go"] exists (at most request["timeout"] s), succeed."""
    go, deadline = Path(request["go"]), time.monotonic() + request.get("timeout", 120)
    progress(0.25, "epoch 1 of 4")
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    progress(0.95, "saving the candidate")
    measured = {"base_validation": 0.99, "holdout": 0.8, "samples": 0.9}
    return {"name": "digits", "version": 1, "reason": "a stand-in job", "before": measured,
            "after": measured}
