"""One contract, two buses: the in-process bus of the embedded default and real Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage
from shared.bus.inprocess import InProcessBus
from shared.bus.kafka import KafkaBus
from tests.conftest import need


def make_bus(kind: str, tmp_path: Path) -> Bus:
    if kind == "kafka":
        return KafkaBus(need("KUAICHE_TEST_KAFKA_BOOTSTRAP"))
    if kind == "inprocess-durable":
        return InProcessBus(log_path=tmp_path / "bus.sqlite3")
    return InProcessBus()


@pytest.fixture(params=["inprocess", "inprocess-durable", "kafka"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bus]:
    instance = make_bus(request.param, tmp_path)
    await instance.start()
    yield instance
    await instance.stop()


async def fresh_topic(bus: Bus) -> str:
    topic = f"kuaiche.test.{uuid.uuid4().hex[:10]}"
    await bus.ensure_topics([topic])
    return topic


async def read(consumer: Consumer, count: int, rounds: int = 60) -> list[Message]:
    out: list[Message] = []
    for _ in range(rounds):
        out += await consumer.fetch(timeout=0.5)
        if len(out) >= count:
            break
    return out


def messages(topic: str, key: str, n: int) -> list[OutgoingMessage]:
    return [OutgoingMessage(topic, key, f"{key}-{i}".encode()) for i in range(n)]


async def test_one_key_keeps_its_order(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish(messages(topic, "a", 20) + messages(topic, "b", 20))
    consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [topic])
    await consumer.start()
    try:
        got = await read(consumer, 40)
    finally:
        await consumer.stop()
    for key in ("a", "b"):
        values = [m.value.decode() for m in got if m.key == key]
        assert values == [f"{key}-{i}" for i in range(20)]


async def test_a_committed_message_is_not_read_again_by_its_group(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    group = f"g-{uuid.uuid4().hex}"
    await bus.publish(messages(topic, "k", 5))
    first = bus.consumer(group, [topic])
    await first.start()
    got = await read(first, 5)
    await first.commit(got[2])  # done up to and including the third
    await first.stop()

    second = bus.consumer(group, [topic])
    await second.start()
    try:
        again = await read(second, 2)
    finally:
        await second.stop()
    assert [m.value for m in again] == [b"k-3", b"k-4"]


async def test_rewind_reads_uncommitted_messages_again(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish(messages(topic, "k", 3))
    consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [topic])
    await consumer.start()
    try:
        got = await read(consumer, 3)
        await consumer.commit(got[0])
        await consumer.rewind()
        again = await read(consumer, 2)
    finally:
        await consumer.stop()
    assert [m.value for m in again] == [b"k-1", b"k-2"]


async def test_every_group_gets_every_message(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish(messages(topic, "k", 4))
    for _ in range(2):
        consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [topic])
        await consumer.start()
        try:
            assert len(await read(consumer, 4)) == 4
        finally:
            await consumer.stop()


async def test_headers_travel_with_the_message(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish([OutgoingMessage(topic, "k", b"v", (("ce_type", b"t.v1"),))])
    consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [topic])
    await consumer.start()
    try:
        (message,) = await read(consumer, 1)
    finally:
        await consumer.stop()
    assert message.header("ce_type") == b"t.v1"
    assert message.key == "k"


@pytest.mark.parametrize("kind", ["inprocess-durable", "kafka"])
async def test_the_log_and_committed_positions_survive_a_restart(kind: str, tmp_path: Path) -> None:
    group = f"g-{uuid.uuid4().hex}"
    before = make_bus(kind, tmp_path)
    await before.start()
    topic = await fresh_topic(before)
    await before.publish(
        [*messages(topic, "k", 4), OutgoingMessage(topic, "h", b"x", (("ce_type", b"t.v1"),))]
    )
    consumer = before.consumer(group, [topic])
    await consumer.start()
    got = await read(consumer, 5)
    await consumer.commit(next(m for m in got if m.value == b"k-1"))
    await consumer.stop()
    await before.stop()

    after = make_bus(kind, tmp_path)  # a new process, same log
    await after.start()
    try:
        resumed = after.consumer(group, [topic])
        await resumed.start()
        rest = await read(resumed, 3)
        await resumed.stop()
        assert [m.value for m in rest if m.key == "k"] == [b"k-2", b"k-3"]
        newcomer = after.consumer(f"g-{uuid.uuid4().hex}", [topic])
        await newcomer.start()
        everything = await read(newcomer, 5)
        await newcomer.stop()
        assert len(everything) == 5
        assert next(m for m in everything if m.key == "h").header("ce_type") == b"t.v1"
    finally:
        await after.stop()
