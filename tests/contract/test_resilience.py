"""The worker keeps going: failures are retried, never fatal, never silently skipped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from aiokafka.structs import TopicPartition
from pydantic import ValidationError
from sqlalchemy import func, select

from shared.bus.base import OutgoingMessage
from shared.bus.inprocess import InProcessBus
from shared.bus.kafka import KafkaBus
from shared.config import ServiceSettings
from shared.db import make_engine, make_session_factory
from shared.events.topics import dead_letter_topic
from shared.inbox import InboxConsumer
from shared.runtime import _supervise
from tests.conftest import COMMANDER, SECRET, need, wait_until
from tests.contract import backbone

TOPIC = "kuaiche.registry"
TYPE = "kuaiche.project.milestone_updated.v1"


class FlakyDeadLetters(InProcessBus):
    """Refuses the dead-letter topic a few times, like a broker that is briefly away."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if any(m.topic.endswith(".dlq") for m in messages) and self.refusals > 0:
            self.refusals -= 1
            raise ConnectionError("dead-letter topic unreachable")
        await super().publish(messages)


@pytest.fixture
async def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    await backbone.create_schema(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def test_a_poison_event_waits_for_the_dead_letter_topic_and_is_never_skipped(
    sessions,
) -> None:
    bus = FlakyDeadLetters(refusals=2)

    async def handler(session, event, payload):  # type: ignore[no-untyped-def]
        if event.subject == "poison":
            raise ValueError("cannot apply")
        await backbone.bump(session, event.subject)

    consumer = InboxConsumer(
        "c",
        bus,
        sessions,
        backbone.inbox,
        [TOPIC],
        {TYPE: handler},
        max_attempts=1,
        retry_backoff=0,
    )
    await bus.publish(
        [
            OutgoingMessage(TOPIC, "k", backbone.event("poison").to_json()),
            OutgoingMessage(TOPIC, "k", backbone.event("good").to_json()),
        ]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    async def good_applied() -> bool:
        async with sessions() as s:
            return await backbone.counter(s, "good") == 1

    await wait_until(good_applied, timeout=30)
    stop.set()
    await task
    dead = [m for p in range(bus.partitions) for m in bus.log(dead_letter_topic(TOPIC), p)]
    assert len(dead) == 1  # written once the topic took it, and only then passed
    assert bus.refusals == 0


async def test_a_failing_job_is_restarted_and_reported() -> None:
    stop = asyncio.Event()
    state: dict[str, str] = {}
    runs = {"n": 0}

    async def job() -> None:
        runs["n"] += 1
        if runs["n"] == 1:
            raise RuntimeError("first run fails")
        state_seen.append(dict(state))
        stop.set()

    state_seen: list[dict[str, str]] = []
    await asyncio.wait_for(_supervise("registry-relay", job, stop, state), 10)
    assert runs["n"] == 2
    assert state_seen == [{"registry-relay": "running"}]


def test_production_needs_kafka_and_postgresql(tmp_path: Path) -> None:
    base = dict(
        service="registry", port=1, jwt_secret=SECRET, data_dir=tmp_path, environment="production"
    )
    with pytest.raises(ValidationError, match="Kafka"):
        ServiceSettings(**base, database_url="postgresql+asyncpg://u:p@h/db")
    with pytest.raises(ValidationError, match="SQLite"):
        ServiceSettings(**base, database_url="sqlite+aiosqlite:///x", kafka_bootstrap="k:9092")
    with pytest.raises(ValidationError, match="at least 32"):
        ServiceSettings(
            **{**base, "jwt_secret": "short"},
            database_url="postgresql+asyncpg://u:p@h/db",
            kafka_bootstrap="k:9092",
        )


async def test_an_event_too_large_to_publish_is_refused_and_nothing_is_written(registry) -> None:
    from services.registry.models import Project, outbox

    body = {
        "name": "标签过多的项目",
        "county": "371602",
        "track": "implementation",
        "total_investment": "1",
        "tags": [f"标签{i:05d}-" + "x" * 30 for i in range(8000)],
    }
    r = await registry.client.post("/v1/projects", json=body, headers=COMMANDER)
    assert r.status_code in (413, 422), r.text
    async with registry.runtime.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Project)) == 0
        assert await s.scalar(select(func.count()).select_from(outbox)) == 0


async def test_nul_in_the_url_and_oversized_bodies_are_refused(registry) -> None:
    r = await registry.client.get("/v1/projects/abc%00def", headers=COMMANDER)
    assert r.status_code == 422
    r = await registry.client.get("/v1/projects", params={"q": "a\x00b"}, headers=COMMANDER)
    assert r.status_code == 422
    r = await registry.client.post(
        "/v1/projects",
        content=b"{}",
        headers={
            **COMMANDER,
            "Content-Length": str(100 * 1024 * 1024),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 413


async def test_a_retried_upload_with_its_key_is_replayed(registry) -> None:
    from services.registry.importing.columns import ledger_template_csv

    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}
    files = {"file": ("ledger.csv", ledger_template_csv(), "text/csv")}
    first = await registry.client.post("/v1/projects/import", files=files, headers=headers)
    again = await registry.client.post(
        "/v1/projects/import", files=files, headers=headers
    )  # new boundary
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("at_once", [False, True], ids=["one-by-one", "commit-all"])
async def test_a_commit_after_a_rebalance_is_skipped_not_fatal(
    caplog: pytest.LogCaptureFixture, at_once: bool
) -> None:
    """A second replica joins: the first loses partitions it had fetched from. Committing
    those must not crash it and must not move the group's offset on them (the new owner
    re-reads them; the inbox absorbs the repeat); the partitions it kept commit as usual,
    also when the batch's partitions are committed in one request (`commit_all`)."""
    kafka = KafkaBus(need("KUAICHE_TEST_KAFKA_BOOTSTRAP"))
    topic = f"kuaiche.rebalance.{uuid.uuid4().hex[:8]}"
    await kafka.ensure_topics([topic])
    await kafka.publish([OutgoingMessage(topic, f"k{i}", b"v") for i in range(30)])
    group = f"g-{uuid.uuid4().hex}"
    first = kafka.consumer(group, [topic])
    await first.start()
    fetched: list = []

    async def fetched_all() -> bool:
        fetched.extend(await first.fetch(timeout=0.5))
        return len(fetched) == 30

    second = kafka.consumer(group, [topic])
    try:
        await wait_until(fetched_all, timeout=30, what="the first replica fetched every message")
        before = set(_assigned(first))
        assert {m.partition for m in fetched} == before  # it owned every partition
        await second.start()

        async def rebalanced() -> bool:
            await second.fetch(timeout=0.25)
            await first.fetch(timeout=0.25)
            return bool(_assigned(second)) and not (set(_assigned(first)) & set(_assigned(second)))

        await wait_until(rebalanced, timeout=60, what="the group rebalanced over both replicas")
        kept, lost = set(_assigned(first)), set(_assigned(second))
        assert lost and kept | lost == before
        with caplog.at_level("INFO", logger="shared.bus.kafka"):
            if at_once:
                latest = {m.partition: m for m in sorted(fetched, key=lambda m: m.offset)}
                await first.commit_all(list(latest.values()))  # must not raise
            else:
                for message in fetched:
                    await first.commit(message)  # must not raise
        skipped = {r.getMessage() for r in caplog.records if "commit skipped" in r.getMessage()}
        assert skipped, "the commits on lost partitions were not reported as skipped"
        last = {p: max(m.offset for m in fetched if m.partition == p) for p in before}
        committed = {
            p: await first._consumer.committed(TopicPartition(topic, p)) for p in before
        }
        assert {p: committed[p] for p in kept} == {p: last[p] + 1 for p in kept}
        assert all(committed[p] is None for p in lost), committed
    finally:
        await second.stop()
        await first.stop()
        await kafka.stop()


def _assigned(consumer) -> list[int]:  # type: ignore[no-untyped-def]
    return [tp.partition for tp in consumer._consumer.assignment()]
