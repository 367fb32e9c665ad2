"""waitress, hardened for slow and hostile clients: request deadlines and JSON errors.

waitress is asynchronous up to the WSGI call: an open connection costs a socket and a little
memory, not a thread, so hundreds of slow clients can be held while the workers keep serving
others. What it lacks is a deadline for a request to arrive (its channel_timeout counts
inactivity, which a client trickling one byte a second never reaches) and JSON for the errors
it answers itself (413 over its body limit, 400 for a broken request line). Both are added
here by subclassing its public server, channel and error-task classes.
"""

from __future__ import annotations

import json
import time

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher


def json_error_body(message: str) -> bytes:
    """The bytes of {"error": message}, the shape of every error this server sends."""
    return json.dumps({"error": message}).encode("utf-8")


class JSONErrorTask(ErrorTask):
    """waitress's own error responses (bad request line, body too large, ...) as JSON."""

    def execute(self):
        error = self.request.error
        message = f"{error.reason}: {error.body}".strip().rstrip(":")
        if error.code == 413:  # waitress says "exceeds max_body of 9437184"
            message = "the request body is over this server's limit: send a smaller image"
        body = json_error_body(message)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class DeadlineChannel(HTTPChannel):
    """A connection that remembers when its unfinished request began to arrive."""

    error_task_class = JSONErrorTask

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map)
        self.request_started = time.time()  # waiting for the first request counts too

    def received(self, data):
        """Parse data as waitress does, then note when a new unfinished request started."""
        before = self.request
        result = super().received(data)
        if self.request is None:
            self.request_started = None
        elif self.request is not before or self.request_started is None:
            self.request_started = time.time()
        return result

    def overdue(self, now: float, header_timeout: float, body_timeout: float) -> str | None:
        """Why this connection's request is too late ("header" or "body"), or None."""
        if self.requests or self.request_started is None or self.will_close:
            return None
        headers_done = self.request is not None and self.request.headers_finished
        limit, part = (body_timeout, "body") if headers_done else (header_timeout, "header")
        return part if now - self.request_started > limit else None

    def time_out(self, part: str, limit: float) -> None:
        """Answer 408 in JSON and close once it is sent."""
        body = json_error_body(f"the request {part} did not arrive within {limit:g} s")
        head = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
        try:
            self.write_soon(head + body)
        except Exception:  # the peer is already gone
            self.will_close = True
            return
        self.close_when_flushed = True


class DeadlineServer(TcpWSGIServer):
    """One listening socket whose maintenance also closes requests past their deadline."""

    channel_class = DeadlineChannel

    def __init__(self, *args, header_timeout: float, body_timeout: float, **kwargs):
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        super().__init__(*args, **kwargs)

    def maintenance(self, now):
        """waitress's idle sweep, then the request deadlines."""
        super().maintenance(now)
        for channel in list(self.active_channels.values()):
            part = channel.overdue(now, self.header_timeout, self.body_timeout)
            if part is not None:
                channel.time_out(part, self.header_timeout if part == "header"
                                 else self.body_timeout)


class HTTPServer:
    """Every listening socket of one address (e.g. 127.0.0.1 and ::1 for "localhost")."""

    def __init__(self, app, host: str, port: int, threads: int, max_body: int,
                 header_timeout: float, body_timeout: float, connection_limit: int):
        self.map: dict = {}  # our own socket map, so nothing else shares its event loop
        self.adjustments = Adjustments(
            host=host, port=port, threads=threads, max_request_body_size=max_body,
            connection_limit=connection_limit, channel_timeout=60, cleanup_interval=1,
            asyncore_use_poll=True, ident="digitlab")
        self.task_dispatcher = ThreadedTaskDispatcher()
        self.task_dispatcher.set_thread_count(threads)
        self.servers = [
            DeadlineServer(app, self.map, dispatcher=self.task_dispatcher, adj=self.adjustments,
                           sockinfo=info, header_timeout=header_timeout,
                           body_timeout=body_timeout)
            for info in self.adjustments.listen]

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return self.servers[0].effective_port

    def poll(self, timeout: float) -> None:
        """Run the event loop once (poll(2), not select: no 1024-descriptor ceiling)."""
        self.servers[0].asyncore.loop(timeout=timeout, map=self.map, use_poll=True, count=1)

    def close(self) -> None:
        """Stop the workers and close every socket."""
        self.task_dispatcher.shutdown(timeout=5)
        self.servers[0].asyncore.close_all(self.map)
