"""The Prometheus metrics of one app, in a registry of its own (two apps in one
process, as in tests, do not share counters)."""

from __future__ import annotations

from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServeMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("lmforge_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("lmforge_http_request_duration_seconds",
                                 "Time from request to response", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("lmforge_batch_size", "Texts per forward pass", ["model"],
                                    buckets=BATCH_BUCKETS, registry=r)
        self.forward_seconds = Histogram("lmforge_forward_duration_seconds",
                                         "Time of one forward pass (tokenize + model)", ["model"],
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("lmforge_queue_depth", "Texts waiting for the model", ["model"],
                                 registry=r)
        self.queue_rejections = Counter("lmforge_queue_rejections",
                                        "Requests turned away with 503 because the queue was full",
                                        ["model"], registry=r)
        # counted, not logged per request (the log says once per model that they are here)
        self.texts_truncated = Counter("lmforge_texts_truncated",
                                       "Texts longer than the model reads (max_length tokens), "
                                       "shortened before prediction or explanation", ["model"],
                                       registry=r)
        self.texts_windowed = Counter("lmforge_texts_windowed",
                                      "Texts longer than max_length tokens, read whole as "
                                      "several windows", ["model"], registry=r)
        self.model_errors = Counter("lmforge_model_errors",
                                    "Requests that failed inside the model (500)", ["model"],
                                    registry=r)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def sample(self, name: str, labels: dict[str, str] | None = None) -> Any:
        """One sample's value (None if absent): ``sample('lmforge_batch_size_count', ...)``."""
        return self.registry.get_sample_value(name, labels or {})
