"""Prometheus metrics at ``/metrics``, in the Prometheus text exposition format.

The metrics are requests by endpoint, method and status, request latency by endpoint, query
timeouts, queries rejected by reason (forbidden, busy, invalid), responses of the response
cache by outcome (hit, miss), and the generation, quad count and triple count that the
responding process serves.

One process keeps its metrics in a registry of its own app. Under several granian workers the
``serve`` command sets PROMETHEUS_MULTIPROC_DIR before any worker imports prometheus_client,
so each worker writes its values to files in that folder, and ``/metrics`` adds up the files of
every worker (prometheus_client's multiprocess mode). The three gauges then carry a ``pid`` label
with one value per live worker, so a worker that still serves an older generation shows. A
worker updates its gauges after each request it serves.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from service.holder import EngineHolder

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

blueprint = Blueprint("metrics", __name__)


class Metrics:
    """The metrics of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "notekg_http_requests",
            "HTTP requests by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "notekg_http_request_duration_seconds",
            "Time to answer an HTTP request, in seconds.",
            ["endpoint"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "notekg_query_timeouts",
            "SPARQL queries that ran longer than the time limit.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "notekg_queries_rejected",
            "SPARQL queries and updates rejected by reason: forbidden, busy or invalid.",
            ["reason"],
            registry=self.registry,
        )
        self.cached = Counter(
            "notekg_response_cache",
            "Responses that the response cache answered (hit) or had to compute (miss).",
            ["outcome"],
            registry=self.registry,
        )
        self.generation = Gauge(
            "notekg_generation",
            "Store generation that the service answers from.",
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        self.quads = Gauge(
            "notekg_quads",
            "Quads in the generation that the service answers from.",
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        self.triples = Gauge(
            "notekg_triples",
            "Triples in the merged default graph of the generation that the service answers from.",
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        # The generation that the gauges above show, None before they are first set.
        self.generation_shown: int | None = None
        # The labelled metrics by their label values. ``labels`` returns the same one each
        # time, after it takes a lock and checks the values.
        self._request_metrics: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._cached_metrics: dict[str, Counter] = {}

    def request_metrics(self, endpoint: str, method: str, status: int) -> tuple[Counter, Histogram]:
        """Return the request counter and the latency histogram with these label values."""
        key = (endpoint, method, status)
        found = self._request_metrics.get(key)
        if found is None:
            found = self._request_metrics[key] = (
                self.requests.labels(endpoint, method, str(status)),
                self.latency.labels(endpoint),
            )
        return found

    def cached_metric(self, outcome: str) -> Counter:
        """Return the response cache counter of an outcome: hit or miss."""
        found = self._cached_metrics.get(outcome)
        if found is None:
            found = self._cached_metrics[outcome] = self.cached.labels(outcome=outcome)
        return found

    def exposition(self) -> bytes:
        """Return every metric in the text exposition format, summed over all workers."""
        if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def install(app: Flask) -> None:
    """Add the metrics, their request hooks and the /metrics endpoint to the app."""
    app.extensions["notekg.metrics"] = Metrics()
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(blueprint)


def count_rejected(reason: str) -> None:
    """Count a query or update rejected for reason: forbidden, busy or invalid."""
    _metrics().rejected.labels(reason=reason).inc()


def count_cached_response(outcome: str) -> None:
    """Count a response of the response cache: hit or miss."""
    _metrics().cached_metric(outcome).inc()


def count_timeout() -> None:
    """Count a query that ran longer than the time limit."""
    _metrics().timeouts.inc()


@blueprint.get("/metrics")
def metrics_endpoint() -> Response:
    """Send every metric in the Prometheus text exposition format."""
    _set_generation_gauges()
    return Response(_metrics().exposition(), content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    # The route's rule, such as "/id/<path:rest>", keeps the number of label values small.
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    requests, latency = _metrics().request_metrics(endpoint, request.method, response.status_code)
    requests.inc()
    started = g.get("metrics_started")
    if started is not None:
        latency.observe(time.perf_counter() - started)

    _set_generation_gauges()
    return response


def _set_generation_gauges() -> None:
    holder: EngineHolder = current_app.extensions["notekg"]
    engine = holder.engine()
    metrics = _metrics()
    # A gauge in prometheus_client's multiprocess mode writes to a shared file on each set.
    if metrics.generation_shown != engine.generation:
        metrics.generation.set(engine.generation)
        metrics.quads.set(engine.triple_count)
        metrics.triples.set(engine.merged_triple_count)
        metrics.generation_shown = engine.generation


def _metrics() -> Metrics:
    metrics: Metrics = current_app.extensions["notekg.metrics"]
    return metrics
