"""The whole path on real parts: registry HTTP → outbox (PostgreSQL) → relay → Kafka →
a consumer with its inbox (PostgreSQL), including redelivery, a late commit and a poison event."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.base import OutgoingMessage
from shared.bus.kafka import KafkaBus
from shared.db import make_engine, make_session_factory
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic
from shared.inbox import InboxConsumer, Outcome
from shared.outbox import OutboxRelay, write_event
from tests.conftest import COMMANDER, create_database, make_settings, start_service, wait_until
from tests.contract import backbone
from tests.contract.backbone import bump, counter
from tests.support.outcomes import each

pytestmark = pytest.mark.integration

REGISTERED = "kuaiche.project.registered.v1"
STAGE_CHANGED = "kuaiche.project.stage_changed.v1"
MILESTONE = "kuaiche.project.milestone_updated.v1"


@pytest.fixture
async def kafka(kafka_bootstrap: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture
async def topic(kafka: KafkaBus) -> str:
    name = f"kuaiche.it.{uuid.uuid4().hex[:10]}"
    await kafka.ensure_topics([name, dead_letter_topic(name)])
    return name


@pytest.fixture
async def projection(postgres_server: str):  # type: ignore[no-untyped-def]
    """A downstream consumer's own database: inbox + a table its handlers change."""
    engine = make_engine(await create_database(postgres_server))
    await backbone.create_schema(engine)
    yield make_session_factory(engine)
    await engine.dispose()


def projector(name: str, kafka: KafkaBus, sessions, topic: str) -> InboxConsumer:  # type: ignore[no-untyped-def]
    async def on_event(session, event: CloudEvent, payload) -> None:  # type: ignore[no-untyped-def]
        await bump(session, f"{event.subject}:{event.type}")
        await bump(session, "events")
        await bump(session, f"{event.subject}:seq:{event.sequence}")

    return InboxConsumer(
        name,
        kafka,
        sessions,
        backbone.inbox,
        [topic],
        {REGISTERED: on_event, STAGE_CHANGED: on_event},
        retry_backoff=0,
    )


async def run_consumer(consumer: InboxConsumer, group: str | None = None):  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    reader = consumer.bus.consumer(group or consumer.name, consumer.topics)
    task = asyncio.create_task(consumer.run(stop, reader))
    return stop, task


async def consume_until(
    consumer: InboxConsumer, projection: async_sessionmaker[AsyncSession], counts: dict[str, int]
) -> None:
    """Run `consumer` until the projection's counters read `counts`, then stop it."""
    stop, task = await run_consumer(consumer)

    async def reached() -> bool:
        async with projection() as s:
            return all([await counter(s, name) == n for name, n in counts.items()])

    try:
        await wait_until(reached, timeout=60)
    finally:
        stop.set()
        await task


async def test_registry_events_reach_a_consumer_once_even_when_redelivered(
    tmp_path: Path, postgres_server: str, kafka: KafkaBus, topic: str, projection
) -> None:
    from services.registry.main import SERVICE

    definition = dataclasses.replace(SERVICE, topic=topic)
    settings = make_settings(
        "registry", await create_database(postgres_server), tmp_path, kafka=kafka.bootstrap
    )
    app, lifespan = await start_service(definition, settings, bus=kafka)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://r"
        ) as client:
            ids = []
            for n in range(3):
                r = await client.post(
                    "/v1/projects",
                    json={
                        "name": f"邹平市项目{n}",
                        "county": "371626",
                        "track": "implementation",
                        "total_investment": "5000",
                    },
                    headers=COMMANDER,
                )
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            r = await client.post(
                f"/v1/projects/{ids[0]}/stage",
                json={"stage": "started", "date": "2020-04-10"},
                headers=COMMANDER,
            )
            assert r.status_code == 200, r.text

        await consume_until(
            projector("projection", kafka, projection, topic), projection, {"events": 4}
        )
        async with projection() as s:
            assert await counter(s, f"{ids[0]}:{STAGE_CHANGED}") == 1
            assert (
                await counter(s, f"{ids[0]}:seq:2") == 1
            )  # the stage move is the project's version 2
            for pid in ids:
                assert await counter(s, f"{pid}:{REGISTERED}") == 1

        # Redelivery: the same consumer reads the whole topic again (a lost offset commit).
        outcomes: list[Outcome] = []
        again = projector("projection", kafka, projection, topic)
        again.on_outcome = each(outcomes)
        stop, task = await run_consumer(again, group=f"replay-{uuid.uuid4().hex}")
        await wait_until(lambda: asyncio.sleep(0, result=len(outcomes) >= 4), timeout=60)
        stop.set()
        await task
        assert outcomes[:4] == [Outcome.DUPLICATE] * 4
        async with projection() as s:
            assert await counter(s, "events") == 4
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_a_late_commit_reaches_kafka(
    kafka: KafkaBus, topic: str, projection, postgres_server: str
) -> None:
    engine = make_engine(await create_database(postgres_server))
    await backbone.create_schema(engine)
    sessions = make_session_factory(engine)
    relay = OutboxRelay("late", sessions, kafka, backbone.outbox)
    try:
        late = sessions()
        await late.begin()
        await write_event(late, backbone.outbox, topic, backbone.event("p-late", 1))
        async with sessions() as s, s.begin():
            await write_event(s, backbone.outbox, topic, backbone.event("p-early", 1))
        assert await relay.publish_pending() == 1
        await late.commit()
        await late.close()
        assert await relay.publish_pending() == 1
    finally:
        await engine.dispose()

    consumer = projector("late-reader", kafka, projection, topic)
    consumer.handlers = {MILESTONE: _count_only}
    await consume_until(consumer, projection, {"p-early": 1, "p-late": 1})


async def _count_only(session, event: CloudEvent, payload) -> None:  # type: ignore[no-untyped-def]
    await bump(session, event.subject)


async def test_a_poison_event_is_dead_lettered_on_kafka_and_the_consumer_goes_on(
    kafka: KafkaBus, topic: str, projection
) -> None:
    good = backbone.event("good", 1)
    await kafka.publish(
        [
            OutgoingMessage(topic, "good", b"{ this is not an event"),
            OutgoingMessage(topic, "good", good.to_json()),
        ]
    )
    consumer = projector("poison-reader", kafka, projection, topic)
    consumer.handlers = {MILESTONE: _count_only}
    await consume_until(consumer, projection, {"good": 1})

    reader = kafka.consumer(f"dlq-{uuid.uuid4().hex}", [dead_letter_topic(topic)])
    await reader.start()
    try:
        dead = []
        for _ in range(60):
            dead += await reader.fetch(timeout=0.5)
            if dead:
                break
    finally:
        await reader.stop()
    assert len(dead) == 1
    assert dead[0].value == b"{ this is not an event"
    assert b"not a CloudEvent" in (dead[0].header("dlq.error") or b"")
    assert dead[0].header("dlq.consumer") == b"poison-reader"
