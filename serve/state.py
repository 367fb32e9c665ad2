"""What the views, the camera hub and the TCP server share: model, limits, store, registry, jobs."""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property

from flask import current_app

from digitlab.predict import Predictor
from digitlab.serve.hub import CameraHub

logger = logging.getLogger(__name__)


class Gate:
    """A counter of work in progress with a ceiling (a non-blocking semaphore you can read)."""

    def __init__(self, limit: int, on_change=None):
        if limit < 1:
            raise ValueError(f"a limit must be at least 1, got {limit}")
        self.limit, self.active = limit, 0
        self.lock = threading.Lock()
        self.on_change = on_change  # called with the new count after every enter and leave

    def try_enter(self) -> bool:
        """Take a slot if one is free."""
        with self.lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            if self.on_change is not None:  # under the lock, so changes arrive in order
                self.on_change(self.active)
            return True

    def leave(self) -> None:
        """Give a slot back."""
        with self.lock:
            self.active -= 1
            if self.on_change is not None:
                self.on_change(self.active)


class ServeState:
    """One server's shared objects; built by create_app and kept in app.extensions."""

    def __init__(self, config):
        self.config = config
        self.predictor = config["PREDICTOR"] or Predictor.load(config["MODEL"])
        self.started = time.time()
        self.requests = Gate(config["MAX_IN_FLIGHT"])
        self.video_feeds = Gate(config["MAX_VIDEO_FEEDS"])
        self.reload_lock = threading.Lock()
        self.hub = CameraHub(self, max_clients=config["MAX_CLIENTS"],
                             max_pixels=config["MAX_FRAME_PIXELS"],
                             max_decoded_bytes=config["MAX_DECODED_BYTES"],
                             queue_size=config["FRAME_QUEUE"])
        self.collector = None  # stores uncertain camera digits for review (--collect-uncertain)
        if config["COLLECT_UNCERTAIN"]:
            from digitlab.review import model_set
            from digitlab.serve.collect import UncertainCollector

            self.collector = UncertainCollector(self.store, model_set(self.model_name),
                                                per_hour=config["COLLECT_PER_HOUR"])

    @property
    def model_name(self) -> str:
        """The registry name of the served model ("digits" in "digits@3")."""
        ref = self.predictor.ref
        return ref.name if ref is not None else self.predictor.model_id

    def before_request(self) -> None:
        """Pick up a newly promoted model (the predictor itself polls at most every ~2 s)."""
        self.maybe_reload()

    def maybe_reload(self, force: bool = False) -> bool:
        """Swap in a newly promoted model (the predictor polls at most every ~2 s)."""
        if not self.reload_lock.acquire(blocking=force):
            return False
        try:
            before = self.predictor.model_id
            changed = self.predictor.reload_if_changed(force=force)
        except Exception:  # a broken new version must not take the served one down
            logger.exception("reloading the model failed; still serving %s",
                             self.predictor.model_id)
            return False
        finally:
            self.reload_lock.release()
        if changed:
            logger.warning("model reloaded: %s -> %s", before, self.predictor.model_id)
        return changed

    @cached_property
    def store(self):
        """The sample store: SAMPLES_PATH (a path or URL), else $DIGITLAB_STORE_URL, else data/."""
        from digitlab.store import SampleStore

        return SampleStore(self.config["SAMPLES_PATH"])

    @cached_property
    def registry(self):
        """The model registry (models_dir())."""
        from digitlab.registry import Registry

        return Registry()

    @cached_property
    def jobs(self):
        """The background job manager (runs_dir()/jobs), retraining on this server's samples."""
        from digitlab.retrain_job import RetrainJobs

        return RetrainJobs(store_path=self.config["SAMPLES_PATH"])

    def close(self) -> None:
        """Stop the camera worker, then store the uncertain digits still queued."""
        self.hub.stop()
        if self.collector is not None:
            self.collector.stop()


def state() -> ServeState:
    """The running app's ServeState."""
    return current_app.extensions["digitlab"]
