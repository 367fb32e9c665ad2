"""The camera hub: connected sessions and one inference worker that batches frames from all."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from digitlab import preprocess
from digitlab.predict import DigitReading, Reading
from serve.sessions import ClientSession

logger = logging.getLogger(__name__)
SINGLE_DIGIT_SIZE = 64  # frames this small (like the reference's 28x28 stream) are one digit


class CameraHub:
    """Keeps the sessions and turns their frames into readings, fairly and in batches."""

    def __init__(self, model, max_clients: int = 16, max_batch: int = 32,
                 max_pixels: int = 25_000_000, queue_size: int = 2,
                 find_threads: int | None = None):
        self.model = model  # has .predictor and .maybe_reload()
        self.max_clients, self.max_batch = max_clients, max_batch
        self.max_pixels, self.queue_size = max_pixels, queue_size
        self.sessions: dict[str, ClientSession] = {}
        self.wakeup = threading.Condition()
        self.stopping = False
        self.worker: threading.Thread | None = None
        self.rotation = 0
        self.find_threads = find_threads or min(4, os.cpu_count() or 1)
        self.pool: ThreadPoolExecutor | None = None

    def connect(self, client_id: str, peer: str, protocol: str, replies: bool = True):
        """Register a session (a reconnecting client id replaces its old one); None when full."""
        with self.wakeup:
            old = self.sessions.pop(client_id, None)
            if old is not None:
                old.close({"type": "error", "error": "replaced by a new connection"})
            if len(self.sessions) >= self.max_clients:
                return None
            session = ClientSession(client_id, peer, protocol, self.queue_size, replies)
            self.sessions[client_id] = session
            if self.worker is None:
                self.worker = threading.Thread(target=self.run, name="inference", daemon=True)
                self.worker.start()
            return session

    def disconnect(self, session: ClientSession) -> None:
        """Forget a session when its connection ends."""
        session.close()
        with self.wakeup:
            if self.sessions.get(session.client_id) is session:
                del self.sessions[session.client_id]

    def submit(self, session: ClientSession, seq: int, data: bytes) -> None:
        """Queue a frame and wake the worker."""
        session.submit(seq, data)
        with self.wakeup:
            self.wakeup.notify()

    def stats(self) -> list[dict]:
        """Every connected session's statistics."""
        with self.wakeup:
            sessions = list(self.sessions.values())
        return [session.stats() for session in sessions]

    def stop(self) -> None:
        """Stop the worker and close every session."""
        with self.wakeup:
            self.stopping = True
            sessions = list(self.sessions.values())
            self.wakeup.notify_all()
        for session in sessions:
            session.close({"type": "error", "error": "server shutting down"})
        if self.worker is not None:
            self.worker.join(timeout=5)
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def next_batch(self) -> list:
        """Wait for frames, then take the newest from each session, rotating the start."""
        with self.wakeup:
            while not self.stopping and not any(s.has_waiting() for s in self.sessions.values()):
                self.wakeup.wait(1.0)
            sessions = list(self.sessions.values())
        self.rotation = (self.rotation + 1) % max(len(sessions), 1)
        batch = []
        for session in sessions[self.rotation:] + sessions[:self.rotation]:
            entry = session.take() if len(batch) < self.max_batch else None
            if entry is not None:
                batch.append((session, entry))
        return batch

    def run(self) -> None:
        """The inference worker loop."""
        while not self.stopping:
            batch = self.next_batch()
            if batch:
                try:
                    self.process(batch)
                except Exception:  # a bug must not stop the cameras: answer every frame
                    logger.exception("inference batch failed")
                    for session, entry in batch:
                        if entry.message is None:
                            session.finish(entry, {"type": "result", "seq": entry.seq,
                                                   "error": "internal error"})
            self.model.maybe_reload()

    def find(self, data: bytes):
        """Decode one frame and find its digits: (image, [(box, crop)]) or an error message."""
        try:
            image = preprocess.decode_image(data, max_pixels=self.max_pixels)
        except preprocess.InvalidImageError as error:
            return f"cannot decode frame: {error}"
        return image, digit_crops(image, score=self.model.predictor.probabilities)

    def process(self, batch: list) -> None:
        """Find digits in every frame (in parallel), run the model once on all crops, answer."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.find_threads, thread_name_prefix="find-digits")
        found = list(self.pool.map(self.find, [entry.data for _, entry in batch]))
        crops = [crop for result in found if isinstance(result, tuple) for _, crop in result[1]]
        predictions = iter(self.model.predictor.predict(crops) if crops else [])
        for (session, entry), result in zip(batch, found):
            if isinstance(result, str):
                session.finish(entry, {"type": "result", "seq": entry.seq, "error": result})
                continue
            image, boxes = result
            digits = [DigitReading(p.digit, p.confidence, box, p.uncertain)
                      for (box, _), p in zip(boxes, predictions)]
            reading = Reading("".join(str(d.digit) for d in digits), digits).to_dict()
            latency = (time.monotonic() - entry.received) * 1000.0
            session.finish(entry, {"type": "result", "seq": entry.seq, **reading,
                                   "latency_ms": round(latency, 2)}, image, reading)


def digit_crops(image, score=None) -> list[tuple[tuple[int, int, int, int], object]]:
    """(box, 28x28 crop) per digit: tiny frames are one digit, others go through find_digits."""
    height, width = image.shape[:2]
    if max(height, width) <= SINGLE_DIGIT_SIZE:
        try:
            return [((0, 0, width, height), preprocess.to_mnist(image))]
        except preprocess.EmptyImageError:
            return []
    return [(box.box, box.image) for box in preprocess.find_digits(image, score=score)]
