"""The TCP camera server: protocol v1 connections and legacy raw-JPEG streams, a thread each."""

from __future__ import annotations

import logging
import socket
import threading
import time

from digitlab.serve.hub import CameraHub
from digitlab.serve.jpegstream import JPEG_START, JpegStreamSplitter
from digitlab.serve.protocol import (
    PROTOCOL_VERSION,
    ConnectionClosed,
    MessageTimeout,
    ProtocolError,
    check_frame,
    check_hello,
    pack_message,
    read_message,
    receive_exactly,
)

logger = logging.getLogger(__name__)


PENDING_BYTES_PER_SECOND = 1024 * 1024  # before its hello or first JPEG: a flood gets little


class ThrottledSocket:
    """A connection whose reads keep to a byte rate (a token bucket with a small burst).

    Reading no faster than that lets TCP's own back-pressure slow a flooding client down, so a
    hostile stream costs this server a bounded amount of work however fast it can send.
    """

    BURST_BYTES = 512 * 1024  # a usual frame passes at once; a flood soon waits

    def __init__(self, connection: socket.socket, bytes_per_second: float):
        self.connection, self.rate = connection, float(bytes_per_second)
        self.burst = min(self.rate, self.BURST_BYTES)
        self.tokens, self.refilled = self.burst, time.monotonic()

    def recv(self, size: int) -> bytes:
        """socket.recv, then a pause when the connection is over its rate."""
        chunk = self.connection.recv(size)
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate) - len(chunk)
        self.refilled = now
        if self.tokens < 0:
            time.sleep(-self.tokens / self.rate)
        return chunk

    def __getattr__(self, name):
        return getattr(self.connection, name)


class CameraServer:
    """Accepts camera connections on a listening socket and feeds their frames to the hub.

    Connections that have not finished their hello (or, for a legacy camera, their first JPEG)
    are "pending": they have hello_timeout seconds from connect, and at most max_pending of
    them are kept; when a new one comes and the pending pool is full, the oldest is dropped,
    so a crowd of trickling clients cannot keep real cameras out. Every later message must
    arrive whole within message_timeout of its first byte.
    """

    def __init__(self, hub: CameraHub, host: str = "127.0.0.1", port: int = 8001,
                 token: str | None = None, idle_timeout: float = 30.0,
                 hello_timeout: float = 5.0, message_timeout: float = 10.0, max_pending: int = 64,
                 max_json: int = 4096, max_frame: int = 4 * 1024 * 1024, legacy: bool = True,
                 max_bytes_per_second: float = 8 * 1024 * 1024):
        self.hub, self.token, self.idle_timeout = hub, token, idle_timeout
        self.max_bytes_per_second = max_bytes_per_second
        self.hello_timeout, self.message_timeout = hello_timeout, message_timeout
        self.max_pending = max_pending
        self.legacy = legacy and token is None  # a raw JPEG stream cannot carry a token
        self.max_json, self.max_frame = max_json, max_frame
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family, backlog=128)
        self.listener.settimeout(0.5)
        self.host, self.port = self.listener.getsockname()[:2]
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.pending: dict[socket.socket, float] = {}  # still in hello, oldest first
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.accept_loop, name="camera-accept", daemon=True)

    def start(self) -> CameraServer:
        """Start accepting connections."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close every connection."""
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()
        with self.lock:
            connections = list(self.connections)
        for connection in connections:
            shutdown(connection)

    def accept_loop(self) -> None:
        """Accept connections until stopped, keeping the pending pool within its limit."""
        while not self.stopping.is_set():
            try:
                connection, address = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            evicted = None
            with self.lock:
                crowded = len(self.connections) >= self.hub.max_clients + self.max_pending + 8
                if not crowded:
                    if len(self.pending) >= self.max_pending:
                        evicted = next(iter(self.pending))
                        del self.pending[evicted]
                    self.pending[connection] = time.monotonic()
                    self.connections.add(connection)
            if evicted is not None:
                shutdown(evicted)  # its handler sees the connection end and cleans up
            if crowded:
                shutdown(connection)
                continue
            threading.Thread(target=self.handle, args=(connection, address),
                             name=f"camera-{address[1]}", daemon=True).start()

    def joined(self, connection: ThrottledSocket) -> None:
        """A pending connection became a camera: out of the pending pool, read at full rate."""
        connection.rate = float(self.max_bytes_per_second)
        with self.lock:
            self.pending.pop(connection.connection, None)

    def handle(self, connection: socket.socket, address) -> None:
        """Serve one connection: legacy when it starts with a JPEG SOI, else protocol v1."""
        peer = f"{address[0]}:{address[1]}"
        hello_deadline = time.monotonic() + self.hello_timeout
        throttled = ThrottledSocket(connection, min(PENDING_BYTES_PER_SECOND,
                                                    self.max_bytes_per_second))
        try:
            first = receive_exactly(throttled, 2, deadline=hello_deadline)
            if first == JPEG_START:
                if self.legacy:
                    self.serve_legacy(throttled, peer, first, hello_deadline)
            else:
                self.serve_v1(throttled, peer, first, hello_deadline)
        except (ConnectionClosed, OSError):
            pass
        except Exception:
            logger.exception("camera connection %s failed", peer)
        finally:
            with self.lock:
                self.connections.discard(connection)
                self.pending.pop(connection, None)
            shutdown(connection)

    def serve_legacy(self, connection: ThrottledSocket, peer: str, first: bytes,
                     hello_deadline: float) -> None:
        """The reference client: back-to-back JPEGs (stray bytes between them), nothing sent back.

        It becomes a camera with its first complete JPEG, which must come before the hello
        deadline; every later JPEG must arrive within message_timeout of its start.
        """
        splitter, session, seq = JpegStreamSplitter(), None, 0
        chunk = first
        try:
            while True:
                images = splitter.feed(chunk)
                if images and session is None:
                    self.joined(connection)
                    session = self.hub.connect(peer, peer, "legacy", replies=False)
                    if session is None:
                        return
                for image in images:
                    self.hub.submit(session, seq, image)
                    seq += 1
                if session is not None and session.closed:
                    return
                if splitter.pending_bytes > self.max_frame:
                    logger.warning("legacy camera %s: frame over %d bytes", peer, self.max_frame)
                    return
                if session is None:
                    deadline = hello_deadline
                elif splitter.pending_bytes:
                    deadline = splitter.image_started + self.message_timeout
                else:
                    deadline = time.monotonic() + self.idle_timeout
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                connection.settimeout(remaining)
                chunk = connection.recv(1 << 16)
                if not chunk:
                    return
        finally:
            if session is not None:
                self.hub.disconnect(session)

    def serve_v1(self, connection: ThrottledSocket, peer: str, first: bytes,
                 hello_deadline: float) -> None:
        """Protocol v1: hello, then frames; results are sent by a writer thread in order."""
        try:
            hello, _ = read_message(connection, first, self.max_json, self.max_frame,
                                    deadline=hello_deadline)
            client_id = check_hello(hello, self.token)
        except ProtocolError as error:
            send_quietly(connection, {"type": "error", "error": str(error)})
            return
        except MessageTimeout:
            send_quietly(connection, {"type": "error", "error": "no complete hello within "
                                      f"{self.hello_timeout:g} s of connecting"})
            return
        self.joined(connection)
        session = self.hub.connect(client_id, peer, "v1")
        if session is None:
            send_quietly(connection, {"type": "error", "error": "too many cameras connected"})
            return
        writer = threading.Thread(target=self.write_results, args=(connection, session),
                                  name=f"camera-writer-{client_id}", daemon=True)
        connection.sendall(pack_message({"type": "welcome", "client_id": client_id,
                                         "model": self.hub.model.predictor.model_id,
                                         "protocol": PROTOCOL_VERSION}))
        writer.start()
        try:
            while not session.closed:
                connection.settimeout(self.idle_timeout)
                start = receive_exactly(connection, 1)
                message, body = read_message(connection, start, self.max_json, self.max_frame,
                                             deadline=time.monotonic() + self.message_timeout)
                self.hub.submit(session, *check_frame(message, body))
        except ProtocolError as error:
            session.close({"type": "error", "error": str(error)})
        except MessageTimeout:
            session.close({"type": "error", "error": "a message did not arrive whole within "
                                                     f"{self.message_timeout:g} s"})
        except TimeoutError:
            session.close({"type": "error", "error": f"idle for {self.idle_timeout:g} s"})
        except ConnectionClosed as closed:
            if not closed.partial:  # a clean end (or half-close): send what is still coming
                session.drain(timeout=5.0)
            session.close()
        except OSError:
            session.close()
        finally:
            self.hub.disconnect(session)
            writer.join(timeout=5)

    @staticmethod
    def write_results(connection: socket.socket, session) -> None:
        """Send the session's result messages in order until it is closed and drained."""
        try:
            while True:
                messages, closed = session.next_messages()
                if messages:
                    connection.sendall(b"".join(pack_message(m) for m in messages))
                if closed and not messages:
                    break
        except OSError:
            session.close()
        shutdown(connection)


def send_quietly(connection: socket.socket, message: dict) -> None:
    """Send a message, ignoring a peer that is already gone."""
    try:
        connection.sendall(pack_message(message))
    except OSError:
        pass


def shutdown(connection: socket.socket) -> None:
    """Shut a socket down both ways and close it."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()
