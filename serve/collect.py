"""Collecting uncertain camera digits for the review queue (`digitlab serve --collect-uncertain`).

The camera hub offers every reading; digits the model is unsure about are cropped from their
frame, brought to MNIST form by the one preprocessing path, and stored unlabelled as
``source="camera"`` in the served model's sample set, with the camera, frame, prediction and
confidence. A writer thread does the storing, so cameras never wait for the database. Each
camera adds at most `per_hour` samples an hour (counted in the store, so a restart does not
reset it), and a crop that looks like one of its camera's recent ones (a number left in view)
is stored once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from digitlab import ink, preprocess
from digitlab.review import camera_saves_since
from digitlab.samples import encode_png

logger = logging.getLogger(__name__)
CROP_MARGIN = 0.15  # of the box's larger side, added around a digit's box
RECENT_PER_CAMERA = 64  # crops remembered per camera for the near-duplicate check
# Two crops count as one under this difference (see `difference`): a digit re-shot with noise,
# JPEG and a shift gives 0.01-0.03 (median), two different MNIST test digits of one class
# never less than 0.08 (300 digits, every same-class pair).
SAME_CROP = 0.06
QUEUE_SIZE = 256  # offers waiting for the writer; more are dropped (and counted)


def crop(image: np.ndarray, box, margin: float = CROP_MARGIN) -> np.ndarray:
    """The part of a frame around a digit's box [x, y, w, h], clipped to the frame."""
    x, y, width, height = (int(value) for value in box)
    pad = int(round(max(width, height) * margin))
    top, left = max(0, y - pad), max(0, x - pad)
    return image[top:y + height + pad, left:x + width + pad]


def difference(blurred: np.ndarray, other: np.ndarray) -> float:
    """How different two blurred 28x28 crops are: the absolute difference over the larger ink."""
    return float(np.abs(blurred - other).sum() / max(blurred.sum(), other.sum(), 1e-6))


class UncertainCollector:
    """Stores the uncertain digits of camera frames, unlabelled, capped and deduplicated."""

    def __init__(self, store, set_name: str | None, per_hour: int = 120):
        if per_hour < 1:
            raise ValueError(f"per_hour must be at least 1 sample an hour, got {per_hour}")
        self.store, self.set_name, self.per_hour = store, set_name, per_hour
        self.offers: queue.Queue = queue.Queue(QUEUE_SIZE)
        self.recent: dict[str, deque] = {}
        self.counts = {"saved": 0, "duplicates": 0, "capped": 0, "dropped": 0}
        self.writer = threading.Thread(target=self.run, name="collect-uncertain", daemon=True)
        self.writer.start()

    def offer(self, camera: str, frame_id: int, image: np.ndarray, reading: dict,
              model_id: str) -> None:
        """Queue a frame's uncertain digits for storing (returns at once)."""
        digits = [digit for digit in reading.get("digits", []) if digit.get("uncertain")]
        if not digits:
            return
        try:
            self.offers.put_nowait((camera, frame_id, image, digits, model_id))
        except queue.Full:
            self.counts["dropped"] += 1

    def stats(self) -> dict:
        """What was stored and why the rest was not."""
        return {"set_name": self.set_name, "per_hour": self.per_hour, **self.counts}

    def stop(self) -> None:
        """Store what is queued, then end the writer."""
        self.offers.put(None)
        self.writer.join(timeout=10)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued offer is stored (tests, shutdown); False on timeout."""
        done = threading.Event()
        self.offers.put(done)
        return done.wait(timeout)

    def run(self) -> None:
        """The writer: store offers until stopped; a failure is logged, never raised."""
        while (offer := self.offers.get()) is not None:
            if isinstance(offer, threading.Event):
                offer.set()
                continue
            try:
                self.store_offer(*offer)
            except Exception:  # a full disk or a locked database must not stop the cameras
                logger.exception("storing an uncertain camera digit failed")

    def store_offer(self, camera: str, frame_id: int, image: np.ndarray, digits: list[dict],
                    model_id: str) -> None:
        """Crop, check the cap and near-duplicates, and store each digit of one frame."""
        hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(
            timespec="milliseconds")
        recent = self.recent.setdefault(camera, deque(maxlen=RECENT_PER_CAMERA))
        for digit in digits:
            part = crop(image, digit["box"])
            try:
                image28 = preprocess.to_mnist(part)
            except (ink.EmptyImageError, ValueError):
                continue
            blurred = cv2.GaussianBlur(image28, (0, 0), 1.5)
            if any(difference(blurred, seen) < SAME_CROP for seen in recent):
                self.counts["duplicates"] += 1
                continue
            if camera_saves_since(self.store, camera, hour_ago) >= self.per_hour:
                self.counts["capped"] += 1
                continue
            sample = self.store.add(image28, None, "camera", original_png=encode_png(
                np.ascontiguousarray(to_gray(part))), predicted=int(digit["digit"]),
                confidence=float(digit["confidence"]), model_version=model_id,
                set_name=self.set_name, camera=camera, frame_id=frame_id)
            recent.append(blurred)
            self.counts["duplicates" if sample.duplicate else "saved"] += 1


def to_gray(image: np.ndarray) -> np.ndarray:
    """A decoded crop (gray, BGR or BGRA) as uint8 grayscale (what the review page shows)."""
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image
