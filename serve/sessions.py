"""One connected camera: its frame queue (latest frame wins), in-order results and statistics."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

WINDOW_SECONDS = 5.0
MAX_OUTBOX = 1000  # results a client has not read yet before it counts as stuck
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)  # for /metrics


@dataclass
class FrameEntry:
    """One received frame waiting for its result message."""

    seq: int
    data: bytes
    received: float = field(default_factory=time.monotonic)
    message: dict | None = None


class RateCounter:
    """Counts events and their rate per second over the last few seconds."""

    def __init__(self):
        self.total = 0
        self.times: deque[float] = deque()

    def add(self, now: float) -> None:
        """Record one event."""
        self.total += 1
        self.times.append(now)

    def rate(self, now: float) -> float:
        """Events per second over the window."""
        while self.times and self.times[0] < now - WINDOW_SECONDS:
            self.times.popleft()
        return round(len(self.times) / WINDOW_SECONDS, 2)


class LatencyHistogram:
    """Frame latencies counted into fixed buckets (Prometheus style: upper bounds in seconds)."""

    def __init__(self, bounds=LATENCY_BUCKETS_S):
        self.bounds, self.counts, self.sum = bounds, [0] * (len(bounds) + 1), 0.0

    def observe(self, seconds: float) -> None:
        """Count one latency."""
        self.counts[next((i for i, b in enumerate(self.bounds) if seconds <= b), -1)] += 1
        self.sum += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, how many at or below it), ending with +Inf."""
        buckets, total = [], 0
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts):
            total += count
            buckets.append((bound, total))
        return buckets


class ClientSession:
    """A camera's state: the worker takes frames from it, the connection sends its outbox."""

    def __init__(self, client_id: str, peer: str, protocol: str, queue_size: int = 2,
                 replies: bool = True):
        self.client_id, self.peer, self.protocol = client_id, peer, protocol
        self.queue_size, self.replies = queue_size, replies
        self.connected_at = time.time()
        self.lock = threading.Condition()
        self.waiting: deque[FrameEntry] = deque()  # not yet taken by the inference worker
        self.ledger: deque[FrameEntry] = deque()  # waiting for a result, in arrival order
        self.outbox: deque[dict] = deque()  # result messages ready to send, in order
        self.received, self.processed, self.skipped = RateCounter(), RateCounter(), RateCounter()
        self.latencies: deque[float] = deque(maxlen=200)
        self.histogram = LatencyHistogram()
        self.last_frame_at: float | None = None  # time.monotonic() of the newest frame
        self.closed = False
        self.frame = None  # last decoded frame and its reading, for the live view
        self.reading: dict | None = None
        self.frame_version = 0
        self.recent_cost = 0.0  # decayed seconds of decode + find work, for the hub's fairness

    def submit(self, seq: int, data: bytes) -> None:
        """Queue a frame; when the queue is full the oldest waiting frame is skipped."""
        with self.lock:
            entry = FrameEntry(seq, data)
            self.received.add(entry.received)
            self.last_frame_at = entry.received
            if self.replies:
                self.ledger.append(entry)
            if len(self.waiting) >= self.queue_size:
                self.skip(self.waiting.popleft())
            self.waiting.append(entry)

    def take(self) -> FrameEntry | None:
        """The newest waiting frame for the worker; older waiting frames are skipped."""
        with self.lock:
            if self.closed or not self.waiting:
                return None
            entry = self.waiting.pop()
            while self.waiting:
                self.skip(self.waiting.popleft())
            return entry

    def has_waiting(self) -> bool:
        """True when a frame waits for the worker."""
        return bool(self.waiting) and not self.closed

    def skip(self, entry: FrameEntry) -> None:
        """Answer a dropped frame with a skipped result (lock held)."""
        self.skipped.add(time.monotonic())
        self.resolve(entry, {"type": "result", "seq": entry.seq, "skipped": True})

    def finish(self, entry: FrameEntry, message: dict, frame=None, reading: dict | None = None):
        """Record a processed frame's result (and its picture for the live view)."""
        with self.lock:
            now = time.monotonic()
            self.processed.add(now)
            self.latencies.append((now - entry.received) * 1000.0)
            self.histogram.observe(now - entry.received)
            if frame is not None:
                self.frame, self.reading = frame, reading
                self.frame_version += 1
            self.resolve(entry, message)

    def resolve(self, entry: FrameEntry, message: dict) -> None:
        """Attach a result and move every leading finished entry to the outbox (lock held)."""
        entry.message, entry.data = message, b""
        while self.ledger and self.ledger[0].message is not None:
            self.outbox.append(self.ledger.popleft().message)
        if len(self.outbox) > MAX_OUTBOX:
            self.close({"type": "error", "error": "client does not read its results"})
        self.lock.notify_all()

    def close(self, final_message: dict | None = None) -> None:
        """Stop taking frames; the connection sends what is in the outbox, then final_message."""
        with self.lock:
            if not self.closed:
                self.closed = True
                self.waiting.clear()
                if final_message is not None and self.replies:
                    self.outbox.append(final_message)
            self.lock.notify_all()

    def drain(self, timeout: float) -> None:
        """Wait (up to timeout) until every received frame has its result in the outbox."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.ledger and not self.closed and time.monotonic() < deadline:
                self.lock.wait(max(0.0, min(0.5, deadline - time.monotonic())))

    def next_messages(self, timeout: float = 0.5) -> tuple[list[dict], bool]:
        """Wait for outgoing messages; returns (messages, closed)."""
        with self.lock:
            if not self.outbox and not self.closed:
                self.lock.wait(timeout)
            messages = list(self.outbox)
            self.outbox.clear()
            return messages, self.closed

    def metrics(self) -> dict:
        """Totals, the latency histogram and seconds since the last frame, for /metrics."""
        with self.lock:
            since = None if self.last_frame_at is None else time.monotonic() - self.last_frame_at
            return {"received": self.received.total, "processed": self.processed.total,
                    "skipped": self.skipped.total, "buckets": self.histogram.cumulative(),
                    "latency_sum": self.histogram.sum, "seconds_since_last_frame": since,
                    "connected_seconds": time.time() - self.connected_at}

    @property
    def address(self) -> str:
        """The peer's address without its port ("10.0.0.7", "::1")."""
        return self.peer.rpartition(":")[0].strip("[]") or self.peer

    def stats(self) -> dict:
        """What the monitoring page shows for this client."""
        with self.lock:
            now, latencies = time.monotonic(), sorted(self.latencies)
            return {
                "client_id": self.client_id, "peer": self.peer, "address": self.address,
                "protocol": self.protocol,
                "connected_at": self.connected_at,
                "fps_in": self.received.rate(now), "fps_processed": self.processed.rate(now),
                "fps_skipped": self.skipped.rate(now),
                "frames": {"received": self.received.total, "processed": self.processed.total,
                           "skipped": self.skipped.total},
                "latency_ms": {
                    "mean": round(sum(latencies) / len(latencies), 1) if latencies else None,
                    "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1)
                    if latencies else None},
                "last_reading": self.reading,
            }
