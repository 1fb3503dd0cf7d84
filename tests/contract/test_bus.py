"""One contract, two buses: the in-process bus of the embedded default and real Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage
from shared.bus.inprocess import InProcessBus
from shared.bus.kafka import KafkaBus
from tests.conftest import need


@pytest.fixture(params=["inprocess", "kafka"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "kafka":
        instance: Bus = KafkaBus(need("KUAICHE_TEST_KAFKA_BOOTSTRAP"))
    else:
        instance = InProcessBus()
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
