"""A running service's resources: engine, sessions, bus, metrics, relay and consumers.

Built when the app or the worker starts (never at import), closed when it stops.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.base import Bus
from shared.bus.inprocess import InProcessBus
from shared.bus.kafka import KafkaBus
from shared.config import ServiceSettings
from shared.db import make_engine, make_session_factory
from shared.events.topics import ALL_TOPICS
from shared.inbox import InboxConsumer, Outcome
from shared.metrics import Metrics
from shared.outbox import OutboxRelay
from shared.service import ServiceDefinition
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def build_bus(settings: ServiceSettings) -> Bus:
    if settings.kafka_bootstrap:
        return KafkaBus(settings.kafka_bootstrap, client_id=f"kuaiche-{settings.service}")
    return InProcessBus()


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
    relay_in_process: bool = False

    def uow(self) -> UnitOfWork:
        d = self.definition
        return UnitOfWork(
            self.session_factory,
            outbox=d.outbox,
            source=d.source,
            topic=d.topic,
            after_commit=self.relay.wake if self.relay_in_process else None,
        )

    async def close(self) -> None:
        if self.owns_bus:
            await self.bus.stop()
        await self.engine.dispose()


async def open_runtime(
    definition: ServiceDefinition, settings: ServiceSettings, bus: Bus | None = None
) -> Runtime:
    engine = make_engine(settings.database_url)
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
    runtime = Runtime(definition, settings, engine, session_factory, bus, metrics, owns_bus, relay)
    runtime.consumers = definition.consumers(runtime)
    for consumer in runtime.consumers:
        consumer.on_outcome = _count(metrics)
        consumer.max_attempts = settings.consumer_max_attempts
    return runtime


def _count(metrics: Metrics):
    def on_outcome(outcome: Outcome) -> None:
        metrics.events_consumed.labels(outcome=str(outcome)).inc()

    return on_outcome


async def run_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """The worker: the outbox relay and every consumer, until `stop` is set."""
    runtime.relay_in_process = True
    await runtime.bus.ensure_topics(ALL_TOPICS)
    tasks = [asyncio.create_task(runtime.relay.run(stop), name=f"{runtime.settings.service}-relay")]
    tasks += [
        asyncio.create_task(c.run(stop), name=f"{runtime.settings.service}-{c.name}")
        for c in runtime.consumers
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
