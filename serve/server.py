"""Run the app under (hardened) waitress and the camera TCP server side by side, in threads."""

from __future__ import annotations

import logging
import os
import threading

from digitlab.serve.tcp import CameraServer
from digitlab.serve.wsgi import HTTPServer

BODY_SLACK = 1024 * 1024  # multipart overhead above MAX_CONTENT_LENGTH; Flask answers 413 in JSON
# Requests queue while every worker is busy; that is normal under load, not worth a log line each.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def worker_threads(configured: int) -> int:
    """HTTP workers for short requests: as configured, else one per CPU core (at least two).

    waitress buffers whole requests and responses, so a worker is busy only while the app
    computes; more workers than cores fight over the GIL (on 2 cores, 16 workers serve
    /predict about a third slower than 2).
    """
    return configured if configured > 0 else max(2, os.cpu_count() or 1)


class ServeServer:
    """Both servers of one app; start() binds and serves, stop() shuts everything down."""

    def __init__(self, app):
        config, self.app = app.config, app
        self.state = app.extensions["digitlab"]
        self.threads = worker_threads(config["THREADS"])
        self.http = HTTPServer(
            app, host=config["HOST"], port=config["HTTP_PORT"], threads=self.threads,
            max_body=config["MAX_CONTENT_LENGTH"] + BODY_SLACK,
            header_timeout=config["HEADER_TIMEOUT"], body_timeout=config["BODY_TIMEOUT"],
            connection_limit=config["CONNECTION_LIMIT"])
        self.camera = CameraServer(
            self.state.hub, host=config["HOST"], port=config["TCP_PORT"],
            token=config["CAMERA_TOKEN"], idle_timeout=config["IDLE_TIMEOUT"],
            hello_timeout=config["HELLO_TIMEOUT"], message_timeout=config["MESSAGE_TIMEOUT"],
            max_pending=config["MAX_PENDING_HELLOS"], max_json=config["MAX_HEADER_JSON"],
            max_frame=config["MAX_FRAME_BYTES"], legacy=config["LEGACY_CAMERAS"],
            max_bytes_per_second=config["CAMERA_BYTES_PER_SECOND"])
        config["TCP_PORT"] = self.camera.port
        # A live video feed holds its worker for as long as someone watches: give it its own.
        self.state.video_feeds.on_change = self.resize_workers
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_http, name="waitress", daemon=True)

    @property
    def http_port(self) -> int:
        """The bound HTTP port (useful with port 0)."""
        return self.http.port

    @property
    def tcp_port(self) -> int:
        """The bound camera port."""
        return self.camera.port

    def resize_workers(self, live_feeds: int) -> None:
        """One worker per core for requests plus one per live video feed."""
        if not self.stopping.is_set():
            self.http.task_dispatcher.set_thread_count(self.threads + live_feeds)

    def start(self) -> ServeServer:
        """Serve HTTP and TCP in background threads."""
        self.camera.start()
        self.thread.start()
        return self

    def serve_http(self) -> None:
        """waitress's event loop, in short slices so stop() can end it from here."""
        while not self.stopping.is_set():
            self.http.poll(timeout=0.2)
        self.http.close()

    def stop(self) -> None:
        """Stop both servers and the inference worker."""
        self.stopping.set()
        self.state.close()  # ends camera sessions and live views first
        self.camera.stop()
        self.thread.join(timeout=10)
