"""The camera hub: connected sessions and one inference worker that batches frames from all."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from digitlab import imagefile, ink, preprocess
from digitlab.frames import DigitBox
from digitlab.predict import FoundDigits
from digitlab.serve.sessions import ClientSession

logger = logging.getLogger(__name__)
SINGLE_DIGIT_SIZE = 64  # frames this small (like the reference's 28x28 stream) are one digit


class CameraHub:
    """Keeps the sessions and turns their frames into readings, fairly and in batches.

    One worker thread hands frames to a small pool that decodes them and finds their digits,
    at most one frame per camera at a time, and answers each frame as soon as its own work is
    done: the crops of every frame finished by then share one model call. So a camera whose
    frames are slow to decode holds one pool thread, not everyone's results. Cameras whose
    recent frames cost the least go first when several wait, so a costly neighbour gets only
    the time that is left over.
    """

    def __init__(self, model, max_clients: int = 16, max_pixels: int = 4_000_000,
                 max_decoded_bytes: int | None = None, queue_size: int = 2,
                 find_threads: int | None = None):
        self.model = model  # has .predictor, .collector (or None) and .maybe_reload()
        self.max_clients, self.queue_size = max_clients, queue_size
        self.max_pixels, self.max_decoded_bytes = max_pixels, max_decoded_bytes
        self.sessions: dict[str, ClientSession] = {}
        self.wakeup = threading.Condition()
        self.stopping = False
        self.worker: threading.Thread | None = None
        self.find_threads = find_threads or max(2, min(4, (os.cpu_count() or 1) + 1))
        self.pool: ThreadPoolExecutor | None = None
        self.in_flight: dict[ClientSession, tuple] = {}  # session -> (entry, future); worker only

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
                self.pool = ThreadPoolExecutor(self.find_threads, thread_name_prefix="find-digits")
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
        self.notify()

    def notify(self, *_) -> None:
        """Wake the worker (a frame came or a pool thread finished)."""
        with self.wakeup:
            self.wakeup.notify()

    def find_session(self, name: str) -> ClientSession | None:
        """The session with this client id, else the only one connected from this address."""
        with self.wakeup:
            session = self.sessions.get(name)
            if session is None:
                matches = [s for s in self.sessions.values() if s.address == name]
                session = matches[0] if len(matches) == 1 else None
            return session

    def snapshot(self) -> list[ClientSession]:
        """The connected sessions right now."""
        with self.wakeup:
            return list(self.sessions.values())

    def stats(self) -> list[dict]:
        """Every connected session's statistics."""
        return [session.stats() for session in self.snapshot()]

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

    def has_work(self) -> bool:
        """A pool thread finished, or a free thread could start a waiting camera's frame."""
        if any(future.done() for _, future in self.in_flight.values()):
            return True
        return len(self.in_flight) < self.find_threads and any(
            session.has_waiting() and session not in self.in_flight
            for session in self.sessions.values())

    def run(self) -> None:
        """The worker loop: start frames on free pool threads, answer the finished ones."""
        while True:
            with self.wakeup:
                while not self.stopping and not self.has_work():
                    self.wakeup.wait(1.0)
                if self.stopping:
                    return
                waiting = [session for session in self.sessions.values()
                           if session.has_waiting() and session not in self.in_flight]
            self.start_frames(waiting)
            self.answer_finished()
            self.model.maybe_reload()

    def start_frames(self, waiting: list) -> None:
        """Give free pool threads the newest frame of the cameras that cost least lately."""
        free = self.find_threads - len(self.in_flight)
        for session in sorted(waiting, key=lambda s: s.recent_cost)[:max(free, 0)]:
            entry = session.take()
            if entry is not None:
                future = self.pool.submit(self.find, entry.data)
                self.in_flight[session] = (entry, future)
                future.add_done_callback(self.notify)

    def answer_finished(self) -> None:
        """Run the model once on the crops of every finished frame and answer each of them."""
        finished = [(session, entry, future.result())
                    for session, (entry, future) in list(self.in_flight.items()) if future.done()]
        for session, _, _ in finished:
            del self.in_flight[session]
        try:
            readings = iter(self.model.predictor.read_found(
                [result[1] for *_, (result, _) in finished if not isinstance(result, str)]))
            for session, entry, (result, seconds) in finished:
                session.recent_cost = 0.8 * session.recent_cost + seconds
                if isinstance(result, str):
                    session.finish(entry, {"type": "result", "seq": entry.seq, "error": result})
                    continue
                reading = next(readings).to_dict()
                latency = (time.monotonic() - entry.received) * 1000.0
                session.finish(entry, {"type": "result", "seq": entry.seq, **reading,
                                       "latency_ms": round(latency, 2)}, result[0], reading)
                if self.model.collector is not None:  # uncertain digits wait for review
                    self.model.collector.offer(session.client_id, entry.seq, result[0], reading,
                                               self.model.predictor.model_id)
        except Exception:  # a bug must not stop the cameras: answer every frame
            logger.exception("inference batch failed")
            for session, entry, _ in finished:
                if entry.message is None:
                    session.finish(entry, {"type": "result", "seq": entry.seq,
                                           "error": "internal error"})

    def find(self, data: bytes):
        """Decode one frame and find its digits: ((image, FoundDigits) or an error, seconds)."""
        started = time.perf_counter()
        try:
            image = imagefile.decode_image(data, max_pixels=self.max_pixels,
                                           max_decoded_bytes=self.max_decoded_bytes)
            result = image, frame_digits(self.model.predictor, image)
        except imagefile.InvalidImageError as error:
            result = f"cannot decode frame: {error}"
        except Exception as error:  # answered as this frame's error; the others go on
            logger.exception("finding digits failed")
            result = f"internal error: {type(error).__name__}"
        return result, time.perf_counter() - started


def frame_digits(predictor, image) -> FoundDigits:
    """A frame's digits: tiny frames (the reference camera's 28x28) are one digit, others are searched."""
    height, width = image.shape[:2]
    if max(height, width) > SINGLE_DIGIT_SIZE:
        return predictor.find(image)
    try:
        return FoundDigits([DigitBox(0, 0, width, height, preprocess.to_mnist(image))], [None])
    except ink.EmptyImageError:
        return FoundDigits([], [])
