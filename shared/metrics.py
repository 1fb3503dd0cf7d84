"""Prometheus metrics, one registry per service so each /metrics speaks for its own service
even when `kuaiche up` runs them all in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "kuaiche_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "kuaiche_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.events_published = Counter(
            "kuaiche_outbox_published", "events the outbox relay published", registry=self.registry
        )
        self.events_consumed = Counter(
            "kuaiche_events_consumed",
            "events consumed, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "kuaiche_job_runs",
            "completed runs of a periodic worker job (a scan), by job",
            ["job"],
            registry=self.registry,
        )
        self.delivery_attempts = Counter(
            "kuaiche_delivery_attempts",
            "tries to deliver a message outside (webhook, dingtalk, wecom), by outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "kuaiche_delivery_seconds",
            "how long one try took, by channel",
            ["channel"],
            registry=self.registry,
        )

        self.outbox_backlog = Gauge(
            "kuaiche_outbox_backlog", "outbox rows not yet published", registry=self.registry
        )
        self.outbox_oldest = Gauge(
            "kuaiche_outbox_oldest_seconds",
            "age of the oldest outbox row not yet published (0 when there is none)",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "kuaiche_consumer_lag",
            "messages on a partition past a consumer group member's position, as it last fetched",
            ["group", "topic", "partition"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
