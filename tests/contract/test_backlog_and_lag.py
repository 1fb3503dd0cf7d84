"""What /metrics tells an operator about events in flight: the outbox's backlog and its oldest
row's age (measured when scraped), and each consumer's lag per partition (as it last fetched)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.registry.main import SERVICE as REGISTRY
from shared.bus.base import Consumer, OutgoingMessage
from shared.bus.inprocess import InProcessBus
from shared.bus.kafka import KafkaBus
from shared.metrics import Metrics
from shared.runtime import report_lag
from tests.conftest import COMMANDER, RunningService, make_settings, start_service, wait_until


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, None when it is not there."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(2))
    return None


@pytest.fixture
async def registry_without_worker(tmp_path: Path, sqlite_url: str) -> AsyncIterator[RunningService]:
    """The registry API alone: nothing relays its outbox until the test says so."""
    app, lifespan = await start_service(
        REGISTRY, make_settings("registry", sqlite_url, tmp_path), InProcessBus(), False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry"
    ) as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)


async def test_the_outbox_backlog_and_its_age_are_on_metrics(
    registry_without_worker: RunningService,
) -> None:
    api = registry_without_worker.client
    before = (await api.get("/metrics")).text
    assert sample(before, "kuaiche_outbox_backlog") == 0
    assert sample(before, "kuaiche_outbox_oldest_seconds") == 0
    for n in range(3):
        body = {
            "name": f"积压-{n}-{uuid.uuid4().hex[:6]}",
            "county": "371602",
            "track": "implementation",
            "total_investment": "100",
        }
        assert (await api.post("/v1/projects", json=body, headers=COMMANDER)).status_code == 201

    async def aged() -> str | None:
        text = (await api.get("/metrics")).text
        return text if (sample(text, "kuaiche_outbox_oldest_seconds") or 0) > 0 else None

    waiting = await wait_until(aged, what="the oldest row to age")
    assert sample(waiting, "kuaiche_outbox_backlog") == 3

    await registry_without_worker.runtime.relay.publish_pending()
    after = (await api.get("/metrics")).text
    assert sample(after, "kuaiche_outbox_backlog") == 0
    assert sample(after, "kuaiche_outbox_oldest_seconds") == 0


async def fetched(consumer: Consumer, count: int) -> int:
    """Fetch until `count` messages came (a new member is assigned its partitions first)."""
    got = 0
    while got < count:
        got += len(await consumer.fetch(timeout=1.0, max_messages=count - got))
    return got


@pytest.mark.integration
async def test_a_consumers_lag_is_on_metrics_per_partition(kafka_bootstrap: str) -> None:
    topic, group = f"kuaiche.it.{uuid.uuid4().hex[:10]}", f"lag-{uuid.uuid4().hex[:8]}"
    bus = KafkaBus(kafka_bootstrap)
    await bus.ensure_topics([topic])
    # one key: one partition; two transactions, so a commit marker lies between them
    await bus.publish([OutgoingMessage(topic, "p-1", b"{}") for _ in range(2)])
    await bus.publish([OutgoingMessage(topic, "p-1", b"{}") for _ in range(3)])
    consumer = bus.consumer(group, [topic])
    metrics = Metrics("test")
    await consumer.start()
    try:
        await fetched(consumer, 2)
        lag = await consumer.partition_lag()
        ((_, partition),) = [tp for tp, behind in lag.items() if behind]
        report_lag(metrics)(group, lag)
        text = metrics.render().decode()
        at = {"group": group, "topic": topic, "partition": str(partition)}
        # offsets, as Kafka counts them: the 3 unread and the two transactions' commit markers
        assert sample(text, "kuaiche_consumer_lag", **at) == 3 + 2

        await fetched(consumer, 3)
        assert await consumer.fetch(timeout=1.0) == []  # and past the last commit marker
        report_lag(metrics)(group, await consumer.partition_lag())
        assert sample(metrics.render().decode(), "kuaiche_consumer_lag", **at) == 0
    finally:
        await consumer.stop()
        await bus.stop()
