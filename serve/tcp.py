"""The TCP camera server: protocol v1 connections and legacy raw-JPEG streams, a thread each."""

from __future__ import annotations

import logging
import socket
import threading

from serve.hub import CameraHub
from serve.jpegstream import JPEG_START, split_jpeg_stream
from serve.protocol import (
    PROTOCOL_VERSION,
    ConnectionClosed,
    ProtocolError,
    check_frame,
    check_hello,
    pack_message,
    read_message,
    receive_exactly,
)

logger = logging.getLogger(__name__)


class CameraServer:
    """Accepts camera connections on a listening socket and feeds their frames to the hub."""

    def __init__(self, hub: CameraHub, host: str = "127.0.0.1", port: int = 8001,
                 token: str | None = None, idle_timeout: float = 30.0,
                 max_json: int = 4096, max_frame: int = 4 * 1024 * 1024, legacy: bool = True):
        self.hub, self.token, self.idle_timeout = hub, token, idle_timeout
        self.legacy = legacy and token is None  # a raw JPEG stream cannot carry a token
        self.max_json, self.max_frame = max_json, max_frame
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family)
        self.listener.settimeout(0.5)
        self.host, self.port = self.listener.getsockname()[:2]
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
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
        """Accept connections until stopped; too many at once are closed right away."""
        while not self.stopping.is_set():
            try:
                connection, address = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            with self.lock:
                crowded = len(self.connections) >= 2 * self.hub.max_clients + 8
                if not crowded:
                    self.connections.add(connection)
            if crowded:
                shutdown(connection)
                continue
            threading.Thread(target=self.handle, args=(connection, address),
                             name=f"camera-{address[1]}", daemon=True).start()

    def handle(self, connection: socket.socket, address) -> None:
        """Serve one connection: legacy when it starts with a JPEG SOI, else protocol v1."""
        peer = f"{address[0]}:{address[1]}"
        try:
            connection.settimeout(self.idle_timeout)
            first = receive_exactly(connection, 2)
            if first == JPEG_START:
                if self.legacy:
                    self.serve_legacy(connection, peer, first)
            else:
                self.serve_v1(connection, peer, first)
        except (ConnectionClosed, OSError):
            pass
        except Exception:
            logger.exception("camera connection %s failed", peer)
        finally:
            with self.lock:
                self.connections.discard(connection)
            shutdown(connection)

    def serve_legacy(self, connection: socket.socket, peer: str, first: bytes) -> None:
        """The reference client: back-to-back JPEGs (stray bytes between them), nothing sent back."""
        session = self.hub.connect(peer, peer, "legacy", replies=False)
        if session is None:
            return
        buffer, seq = bytearray(first), 0
        try:
            while not session.closed:
                chunk = connection.recv(1 << 16)
                if not chunk:
                    return
                buffer += chunk
                images, consumed = split_jpeg_stream(buffer)
                del buffer[:consumed]
                for image in images:
                    self.hub.submit(session, seq, image)
                    seq += 1
                if len(buffer) > self.max_frame:
                    logger.warning("legacy camera %s: frame over %d bytes", peer, self.max_frame)
                    return
        finally:
            self.hub.disconnect(session)

    def serve_v1(self, connection: socket.socket, peer: str, first: bytes) -> None:
        """Protocol v1: hello, then frames; results are sent by a writer thread in order."""
        try:
            hello, _ = read_message(connection, first, self.max_json, self.max_frame)
            client_id = check_hello(hello, self.token)
        except ProtocolError as error:
            send_quietly(connection, {"type": "error", "error": str(error)})
            return
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
                message, body = read_message(connection, b"", self.max_json, self.max_frame)
                self.hub.submit(session, *check_frame(message, body))
        except ProtocolError as error:
            session.close({"type": "error", "error": str(error)})
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
