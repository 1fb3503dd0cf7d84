"""A running service's resources: engine, sessions, bus, metrics, relay and consumers.

Built when the app or the worker starts (never at import), closed when it stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.base import Bus
from shared.bus.inprocess import InProcessBus
from shared.bus.watch import BusWatch
from shared.config import ServiceSettings
from shared.db import (
    OutageLog,
    is_unavailable,
    make_engine,
    make_session_factory,
    retry_pause,
    utcnow,
)
from shared.events.topics import ALL_TOPICS, dead_letter_topic
from shared.inbox import InboxConsumer, OnOutcome, Outcome
from shared.metrics import Metrics
from shared.outbox import OutboxRelay
from shared.service import ServiceDefinition, WorkerJob
from shared.uow import HeldTransaction, UnitOfWork
from shared.waiting import pause

log = logging.getLogger(__name__)


def build_bus(settings: ServiceSettings) -> Bus:
    if settings.kafka_bootstrap:
        # imported here: aiokafka is a large import the embedded default (`kuaiche up`) never uses
        from shared.bus.kafka import KafkaBus

        return KafkaBus(
            settings.kafka_bootstrap,
            client_id=f"kuaiche-{settings.service}",
            replication_factor=settings.kafka_replication_factor,
            instance_id=settings.instance_id,
        )
    return InProcessBus(log_path=settings.data_dir / "bus.sqlite3")


@dataclass
class Runtime:
    definition: ServiceDefinition
    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bus: Bus
    metrics: Metrics
    owns_bus: bool
    relay: OutboxRelay
    consumers: list[InboxConsumer] = field(default_factory=list)
    # The service's own settings (ServiceDefinition.load_config), read once at start.
    config: Any = None
    relay_in_process: bool = False
    # worker task name -> "running" or why it is restarting (for /readyz)
    worker_state: dict[str, str] = field(default_factory=dict)

    def uow(self, held: HeldTransaction | None = None) -> UnitOfWork:
        d = self.definition
        return UnitOfWork(
            self.session_factory,
            outbox=d.outbox,
            source=d.source,
            topic=d.topic,
            after_commit=self.relay.wake if self.relay_in_process else None,
            held=held,
        )

    def topics(self) -> list[str]:
        """Every topic the suite uses, and this service's own (a test may give it another)."""
        own = self.definition.topic
        return sorted({*ALL_TOPICS, own, dead_letter_topic(own)})

    def periodic(
        self, job: str, step: Callable[[], Awaitable[int]], every: float, done: str
    ) -> WorkerJob:
        """A worker job running `step` (a use case: a scan returning how many things it did)
        every `every` seconds until stopped. Each completed run counts in
        `kuaiche_job_runs{job=...}` (what a test or an operator waits on), and a run that did
        something logs `done` with the count. A failure propagates to the worker's supervisor,
        which restarts the job."""
        runs = self.metrics.job_runs.labels(job=job)

        async def run(stop: asyncio.Event) -> None:
            while not stop.is_set():
                count = await step()
                runs.inc()
                if count:
                    log.info("%s: %s: %d", self.definition.name, done, count)
                await pause(stop, every)

        return run

    async def measure_backlog(self) -> tuple[int, float]:
        """The outbox's backlog and its oldest row's age in seconds, into the metrics too."""
        count, oldest = await self.relay.backlog()
        age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
        self.metrics.outbox_backlog.set(count)
        self.metrics.outbox_oldest.set(age)
        return count, age

    async def watch(self, stop: asyncio.Event) -> None:
        """Every `watch_interval` seconds: ping the bus, measure the backlog, and log what
        changed (`shared.bus.watch`)."""
        every = self.settings.watch_interval
        watch = BusWatch(self.definition.name)
        while not stop.is_set():
            try:
                await asyncio.wait_for(self.bus.ping(), max(every, 5.0))
                error = None
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            count, age = await self.measure_backlog()
            watch.observe(error, count, age, stuck_after=max(30.0, 6 * every))
            await pause(stop, every)

    async def publish_all(self) -> None:
        """Relay every pending outbox row now (a demo loader's events, before the next service
        catches up on them). The topics are created first: no worker has run yet to do it."""
        await self.bus.ensure_topics(self.topics())
        while await self.relay.publish_pending():
            pass

    async def catch_up(self) -> None:
        """Apply every event already published to this service's consumers. On the in-process
        bus a publish is in the log when it returns, so this reads up to the log's end as it is
        now and stops there, without waiting for more. A broker needs a few seconds to assign
        partitions, so there an empty fetch means "caught up" only after a longer wait."""
        for consumer in self.consumers:
            if self.settings.kafka_bootstrap is None:
                await consumer.catch_up(0.2, to_end=600.0)
            else:
                await consumer.catch_up(5.0)

    async def close(self) -> None:
        if self.owns_bus:
            await self.bus.stop()
        await self.engine.dispose()


async def open_runtime(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    bus: Bus | None = None,
    *,
    same_thread: bool = False,
) -> Runtime:
    """The service's resources. `same_thread`: an engine whose SQLite statements run on the
    loop's thread (`shared.db.make_engine`), for a runtime that one caller drives alone (the
    demo loaders of `kuaiche up --demo`, before any API or worker starts), never one that
    serves."""
    config = definition.load_config()  # a bad service setting stops the start here
    engine = make_engine(
        settings.database_url, same_thread=same_thread, timeouts=settings.db_timeouts
    )
    session_factory = make_session_factory(engine)
    owns_bus = bus is None
    bus = bus or build_bus(settings)
    if owns_bus:
        await bus.start()
    metrics = Metrics(settings.service)
    relay = OutboxRelay(
        settings.service,
        session_factory,
        bus,
        definition.outbox,
        interval=settings.relay_interval,
        on_published=lambda n: metrics.events_published.inc(n),
    )
    runtime = Runtime(
        definition, settings, engine, session_factory, bus, metrics, owns_bus, relay, config=config
    )
    if definition.consumer is not None and definition.subscribes:
        runtime.consumers = [
            InboxConsumer(
                definition.consumer,
                bus,
                session_factory,
                definition.inbox,
                list(definition.subscribes),
                definition.handlers(runtime),
                before_batch=definition.before_batch,
            )
        ]
    for consumer in runtime.consumers:
        consumer.on_outcome = count_outcomes(metrics)
        consumer.on_lag = report_lag(metrics)
        consumer.max_attempts = settings.consumer_max_attempts
    return runtime


def count_outcomes(metrics: Metrics) -> OnOutcome:
    """A consumer's `on_outcome` that counts what it did with each event in the metrics."""

    counters = {o: metrics.events_consumed.labels(outcome=str(o)) for o in Outcome}

    def on_outcome(outcome: Outcome, count: int) -> None:
        counters[outcome].inc(count)

    return on_outcome


def report_lag(metrics: Metrics) -> Callable[[str, dict[tuple[str, int], int]], None]:
    """A consumer's `on_lag` that sets `kuaiche_consumer_lag` per group, topic and partition."""

    def on_lag(group: str, lag: dict[tuple[str, int], int]) -> None:
        for (topic, partition), behind in lag.items():
            metrics.consumer_lag.labels(group, topic, str(partition)).set(behind)

    return on_lag


async def run_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """The worker: the outbox relay, every consumer and the service's own jobs (periodic
    scans), until `stop` is set. Each runs under a supervisor, so one that fails is restarted
    and never takes the others down."""
    runtime.relay_in_process = True
    name = runtime.settings.service
    while not stop.is_set():  # the broker may still be starting
        try:
            await runtime.bus.ensure_topics(runtime.topics())
            break
        except Exception as exc:
            runtime.worker_state[f"{name}-topics"] = f"waiting for the bus: {type(exc).__name__}"
            log.warning("%s: cannot create topics yet (%r); retrying", name, exc)
            await pause(stop, 2.0)
    runtime.worker_state.pop(f"{name}-topics", None)
    jobs: dict[str, Callable[[], Awaitable[None]]] = {
        f"{name}-relay": lambda: runtime.relay.run(stop),
        f"{name}-watch": lambda: runtime.watch(stop),
    }
    for consumer in runtime.consumers:
        jobs[f"{name}-{consumer.name}"] = partial(consumer.run, stop)
    for job_name, job in runtime.definition.jobs(runtime).items():
        jobs[f"{name}-{job_name}"] = partial(job, stop)
    tasks = [
        asyncio.create_task(_supervise(job_name, job, stop, runtime.worker_state), name=job_name)
        for job_name, job in jobs.items()
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _supervise(
    name: str, job: Callable[[], Awaitable[None]], stop: asyncio.Event, state: dict[str, str]
) -> None:
    failures = 0
    outage = OutageLog(log, name)
    while not stop.is_set():
        state[name] = "running"
        started = time.monotonic()
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if time.monotonic() - started > HEALTHY_RUN:
                failures = 0  # it had recovered: a new failure starts the backoff afresh
                outage.succeeded()
            failures += 1
            state[name] = f"restarting after {type(exc).__name__}"
            down = is_unavailable(exc)
            if down:
                outage.failed(exc)
            else:
                log.exception("%s failed; restarting (failure %d)", name, failures)
            await pause(stop, retry_pause(failures, down))


# A job that ran this many seconds before failing had recovered from its previous failure.
HEALTHY_RUN = 60.0
