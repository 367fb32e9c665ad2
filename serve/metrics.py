"""GET /metrics in Prometheus text format: HTTP latency and status by route, the model, cameras."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from digitlab.serve.state import state

bp = Blueprint("metrics", __name__)
HTTP_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServedState:
    """Collects, at scrape time, what the server holds: the model, HTTP load and each camera."""

    def __init__(self, served):
        self.served = served

    def collect(self):
        """Yield the metric families (a frozen camera shows as a growing seconds-since-frame)."""
        served, predictor = self.served, self.served.predictor
        model = GaugeMetricFamily("digitlab_model_info", "The served model (always 1).",
                                  labels=["model", "name", "version"])
        ref = predictor.ref
        version = "" if ref is None or ref.version is None else str(ref.version)
        model.add_metric([predictor.model_id, served.model_name, version], 1)
        yield model
        yield GaugeMetricFamily("digitlab_http_in_flight", "Model requests being served now.",
                                value=served.requests.active)
        sessions = served.hub.snapshot()
        yield GaugeMetricFamily("digitlab_cameras_connected", "Cameras connected now.",
                                value=len(sessions))
        families = {
            "received": CounterMetricFamily("digitlab_camera_frames_received",
                                            "Frames a camera sent.", labels=["camera"]),
            "processed": CounterMetricFamily("digitlab_camera_frames_processed",
                                             "Frames read and answered.", labels=["camera"]),
            "skipped": CounterMetricFamily("digitlab_camera_frames_skipped",
                                           "Frames dropped under back-pressure (latest wins).",
                                           labels=["camera"]),
        }
        latency = HistogramMetricFamily("digitlab_camera_latency_seconds",
                                        "Frame arrival to result.", labels=["camera"])
        silence = GaugeMetricFamily("digitlab_camera_seconds_since_last_frame",
                                    "Seconds since the camera's newest frame (or since it "
                                    "connected, if none came).", labels=["camera"])
        for session in sessions:
            numbers = session.metrics()
            for key, family in families.items():
                family.add_metric([session.client_id], numbers[key])
            latency.add_metric([session.client_id], numbers["buckets"], numbers["latency_sum"])
            since = numbers["seconds_since_last_frame"]
            silence.add_metric([session.client_id],
                               numbers["connected_seconds"] if since is None else since)
        yield from families.values()
        yield latency
        yield silence


class ServeMetrics:
    """One app's metrics registry (not the global one, so several apps can live in a process)."""

    def __init__(self, served):
        self.registry = CollectorRegistry()
        self.latency = Histogram("digitlab_http_request_duration_seconds",
                                 "HTTP request time by route.", ["route", "method"],
                                 buckets=HTTP_BUCKETS_S, registry=self.registry)
        self.requests = Counter("digitlab_http_requests", "HTTP requests by route and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.registry.register(ServedState(served))

    def observe(self, response):
        """Count a finished request (after_request hook)."""
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        started = g.get("started")
        if started is not None:
            self.latency.labels(route, request.method).observe(time.perf_counter() - started)
        self.requests.labels(route, request.method, str(response.status_code)).inc()
        return response


def start_timer() -> None:
    """Note when the request began (before_request hook)."""
    g.started = time.perf_counter()


@bp.get("/metrics")
def metrics():
    """Everything above, in the Prometheus text exposition format."""
    return Response(generate_latest(state().metrics.registry), content_type=CONTENT_TYPE_LATEST)
