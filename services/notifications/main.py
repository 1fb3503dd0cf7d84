"""The notifications service (通知): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker).

It follows every other service's topic and publishes nothing of its own yet; its worker runs
the consumer, the dispatcher (webhooks and robots), the reminder scan and the feed's trim."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.notifications import api, handlers, service
from services.notifications.channels import Attempt
from services.notifications.config import Context, NotificationsConfig, load_config
from services.notifications.delivery import Dispatcher
from services.notifications.demo import load_demo
from services.notifications.models import Base, idempotency, inbox, outbox
from shared.db import utcnow
from shared.events.catalogue import factors, issues, registry, scoring
from shared.events.topics import FACTORS, ISSUES, NOTIFICATIONS, REGISTRY, SCORING
from shared.inbox import OnOutcome, Outcome
from shared.runtime import Runtime
from shared.service import ServiceDefinition, WorkerJob

SOURCE = "kuaiche/notifications"
FEED_TRIM_INTERVAL = 3600.0


def reminder_scan(runtime: Runtime, clock: Callable[[], dt.datetime] = utcnow) -> WorkerJob:
    """Every `reminder_scan_interval` seconds: blue deadlines and missing plans as of `clock()`
    (a rerun tells nobody twice)."""
    config: NotificationsConfig = runtime.config
    ctx = Context.of(runtime)

    async def step() -> int:
        return await service.scan_reminders(runtime.uow(), ctx, clock())

    return runtime.periodic(
        "reminder-scan", step, config.reminder_scan_interval, "reminder(s) written"
    )


def feed_trim(runtime: Runtime, clock: Callable[[], dt.datetime] = utcnow) -> WorkerJob:
    ctx = Context.of(runtime)

    async def step() -> int:
        return await service.trim_feed(runtime.uow(), ctx, clock())

    return runtime.periodic("feed-trim", step, FEED_TRIM_INTERVAL, "feed entries forgotten")


def dispatcher(runtime: Runtime) -> WorkerJob:
    """Tries what is due, woken by each event the consumer applies; each try counts in
    `kuaiche_delivery_attempts` and its latency in `kuaiche_delivery_seconds`."""
    metrics = runtime.metrics

    def on_attempt(channel: str, attempt: Attempt) -> None:
        outcome = "ok" if attempt.ok else "failed"
        metrics.delivery_attempts.labels(channel=channel, outcome=outcome).inc()
        metrics.delivery_seconds.labels(channel=channel).observe(attempt.latency_ms / 1000)

    worker = Dispatcher(runtime.session_factory, Context.of(runtime), on_attempt=on_attempt)
    for consumer in runtime.consumers:
        consumer.on_outcome = _then_wake(consumer.on_outcome, worker)
    return worker.run


def _then_wake(previous: OnOutcome | None, worker: Dispatcher) -> OnOutcome:
    def on_outcome(outcome: Outcome, count: int) -> None:  # once the events' transaction committed
        if previous is not None:
            previous(outcome, count)
        if outcome is Outcome.APPLIED:
            worker.wake()

    return on_outcome


def _jobs(runtime: Runtime) -> dict[str, WorkerJob]:
    return {
        "dispatch": dispatcher(runtime),
        "reminder-scan": reminder_scan(runtime),
        "feed-trim": feed_trim(runtime),
    }


def _subscribe(catalogue) -> Callable[[Runtime], dict]:
    return lambda runtime: handlers.handlers_for(catalogue.EVENT_TYPES, lambda: Context.of(runtime))


SERVICE = ServiceDefinition(
    name="notifications",
    title="notifications (通知)",
    source=SOURCE,
    topic=NOTIFICATIONS,
    metadata=Base.metadata,
    outbox=outbox,
    inbox=inbox,
    idempotency=idempotency,
    migrations_package="services.notifications.migrations",
    routers=[api.router],
    subscribes={
        REGISTRY: _subscribe(registry),
        FACTORS: _subscribe(factors),
        ISSUES: _subscribe(issues),
        SCORING: _subscribe(scoring),
    },
    consumer=handlers.CONSUMER,
    before_batch=handlers.prefetch,
    load_demo=load_demo,
    jobs=_jobs,
    load_config=load_config,
)
