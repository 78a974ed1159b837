"""Prometheus metrics of the service (``GET /metrics``), on a registry of its own per app.

Names follow TEI's where they mean the same (request count, success, failure, request, queue and
batch histograms); the exit-layer histogram is what no generic server has: where inputs leave.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from epee.runtime import Predictions
from epee.serve.batcher import BatchKey

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServeMetrics:
    def __init__(self, exit_layers: Sequence[int], max_batch_size: int, queued_rows: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter("epee_request_count", "Requests received, by route.", ["route"], registry=registry)
        self.successes = Counter("epee_request_success", "Requests answered 2xx.", ["route"], registry=registry)
        self.failures = Counter(
            "epee_request_failure", "Requests answered 4xx or 5xx, by status.", ["route", "status"], registry=registry
        )
        self.request_duration = Histogram(
            "epee_request_duration_seconds",
            "Time from request to response.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_duration = Histogram(
            "epee_queue_duration_seconds",
            "Time a request's rows waited for a batch.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.inference_duration = Histogram(
            "epee_inference_duration_seconds", "Time to run one batch.", buckets=LATENCY_BUCKETS, registry=registry
        )
        batch_buckets = sorted({1, 2, 4, 8, 16, 32, 64, 128, 256, max_batch_size})
        self.batch_size = Histogram(
            "epee_batch_size",
            "Rows per batch (per layer step under --schedule layer).",
            buckets=[b for b in batch_buckets if b <= max_batch_size],
            registry=registry,
        )
        self.exit_layer = Histogram(
            "epee_exit_layer",
            "Backbone layer (1-based) at which each row exited, by policy kind.",
            ["policy"],
            buckets=list(exit_layers),
            registry=registry,
        )
        self.rows = Counter("epee_rows", "Rows predicted, by policy kind.", ["policy"], registry=registry)
        self.rows_per_second = Gauge(
            "epee_rows_per_second", "Rows per second of the latest batch's inference.", registry=registry
        )
        queue_size = Gauge("epee_queue_size", "Rows waiting for a batch.", registry=registry)
        queue_size.set_function(queued_rows)
        self._by_route: dict[str, tuple] = {}  # route -> its children of the per-route series

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        children = self._by_route.get(route)
        if children is None:  # routes are few (path templates), so each is looked up once
            children = (self.requests.labels(route), self.successes.labels(route), self.request_duration.labels(route))
            self._by_route[route] = children
        requests, successes, duration = children
        requests.inc()
        if status < 400:
            successes.inc()
        else:
            self.failures.labels(route, str(status)).inc()
        duration.observe(seconds)

    def observe_batch(
        self, key: BatchKey, batch_rows: list[int], queue_seconds: list[float], seconds: float, predictions: Predictions
    ) -> None:
        """Finished rows; ``batch_rows``: the batches run for them (one per layer step under ``--schedule layer``)."""
        for batch in batch_rows:
            self.batch_size.observe(batch)
        rows = len(predictions.exit_layer)
        self.inference_duration.observe(seconds)
        for waited in queue_seconds:
            self.queue_duration.observe(waited)
        exit_layer = self.exit_layer.labels(key.policy_kind)
        for layer in predictions.exit_layer.tolist():
            exit_layer.observe(layer)
        self.rows.labels(key.policy_kind).inc(rows)
        if seconds > 0:
            self.rows_per_second.set(rows / seconds)
