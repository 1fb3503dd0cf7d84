"""One contract, two buses: the in-process bus of the embedded default and real Kafka."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage
from shared.bus.inprocess import InProcessBus
from shared.bus.kafka import KafkaBus
from tests.conftest import need, wait_until


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


@asynccontextmanager
async def consuming(bus: Bus, topic: str, group: str | None = None) -> AsyncIterator[Consumer]:
    """A started consumer of `topic` in `group` (a new group when None), stopped afterwards."""
    consumer = bus.consumer(group or f"g-{uuid.uuid4().hex}", [topic])
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


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
    async with consuming(bus, topic) as consumer:
        got = await read(consumer, 40)
    for key in ("a", "b"):
        values = [m.value.decode() for m in got if m.key == key]
        assert values == [f"{key}-{i}" for i in range(20)]


async def test_a_committed_message_is_not_read_again_by_its_group(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    group = f"g-{uuid.uuid4().hex}"
    await bus.publish(messages(topic, "k", 5))
    async with consuming(bus, topic, group) as first:
        got = await read(first, 5)
        await first.commit(got[2])  # done up to and including the third

    async with consuming(bus, topic, group) as second:
        again = await read(second, 2)
    assert [m.value for m in again] == [b"k-3", b"k-4"]


async def test_commit_all_commits_each_partition_up_to_its_message(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    group = f"g-{uuid.uuid4().hex}"
    await bus.publish([m for k in "abcdef" for m in messages(topic, k, 3)])
    async with consuming(bus, topic, group) as first:
        by_partition: dict[int, list[Message]] = {}
        for m in await read(first, 18):
            by_partition.setdefault(m.partition, []).append(m)
        await first.commit_all([ms[1] for ms in by_partition.values()])  # each one's second

    rest = sorted(m.value for ms in by_partition.values() for m in ms[2:])
    async with consuming(bus, topic, group) as second:
        again = await read(second, len(rest))
    assert sorted(m.value for m in again) == rest


async def test_rewind_reads_uncommitted_messages_again(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish(messages(topic, "k", 3))
    async with consuming(bus, topic) as consumer:
        got = await read(consumer, 3)
        await consumer.commit(got[0])
        await consumer.rewind()
        again = await read(consumer, 2)
    assert [m.value for m in again] == [b"k-1", b"k-2"]


async def test_end_offsets_mark_what_was_published_and_reached_says_when_it_is_read(
    bus: Bus,
) -> None:
    """A rebuild's stop mark: everything published before it took the mark, and no more."""
    topic = await fresh_topic(bus)
    await bus.publish(messages(topic, "a", 3) + messages(topic, "b", 4))
    async with consuming(bus, topic) as consumer:
        marks = await consumer.end_offsets()
        assert {t for t, _ in marks} == {topic}
        assert len(marks) >= 1  # every partition, empty ones included
        assert not await consumer.reached(marks)
        await bus.publish(messages(topic, "c", 2))  # after the mark: not waited for
        got = await read(consumer, 7)
        assert len(got) >= 7

        async def reached() -> bool:  # a broker may hand out the rest a fetch later
            if await consumer.reached(marks):
                return True
            got.extend(await consumer.fetch(timeout=0.5))
            return False

        await wait_until(reached, what="the consumer reached the marks")


async def test_every_group_gets_every_message(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish(messages(topic, "k", 4))
    for _ in range(2):
        async with consuming(bus, topic) as consumer:
            assert len(await read(consumer, 4)) == 4


async def test_headers_travel_with_the_message(bus: Bus) -> None:
    topic = await fresh_topic(bus)
    await bus.publish([OutgoingMessage(topic, "k", b"v", (("ce_type", b"t.v1"),))])
    async with consuming(bus, topic) as consumer:
        (message,) = await read(consumer, 1)
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
    async with consuming(before, topic, group) as consumer:
        got = await read(consumer, 5)
        await consumer.commit(next(m for m in got if m.value == b"k-1"))
    await before.stop()

    after = make_bus(kind, tmp_path)  # a new process, same log
    await after.start()
    try:
        async with consuming(after, topic, group) as resumed:
            rest = await read(resumed, 3)
        assert [m.value for m in rest if m.key == "k"] == [b"k-2", b"k-3"]
        async with consuming(after, topic) as newcomer:
            everything = await read(newcomer, 5)
        assert len(everything) == 5
        assert next(m for m in everything if m.key == "h").header("ce_type") == b"t.v1"
    finally:
        await after.stop()


async def test_the_durable_in_process_log_writes_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write of the log file waits for the disk; the event loop goes on meanwhile (the
    requests and consumers of `kuaiche up` share it). A publish cancelled while its write runs
    still shows what was written, and the log goes on after it."""
    bus = InProcessBus(log_path=tmp_path / "bus.sqlite3")
    await bus.start()
    append = bus._append_to_file
    writing = threading.Event()

    def slow(added: list) -> None:  # type: ignore[type-arg]
        writing.set()
        time.sleep(0.3)
        append(added)

    monkeypatch.setattr(bus, "_append_to_file", slow)
    try:
        topic = await fresh_topic(bus)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        await bus.publish(messages(topic, "a", 1))
        ticker.cancel()
        assert ticks > 5  # the loop ran during the 0.3 s write

        writing.clear()
        publishing = asyncio.create_task(bus.publish(messages(topic, "b", 1)))

        async def begun() -> bool:
            return writing.is_set()

        await wait_until(begun, timeout=10, what="the second write begun")
        publishing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await publishing
        await bus.publish(messages(topic, "c", 1))
        async with consuming(bus, topic) as consumer:
            got = await read(consumer, 3)
        assert sorted(m.value for m in got) == [b"a-0", b"b-0", b"c-0"]
    finally:
        await bus.stop()
    again = InProcessBus(log_path=tmp_path / "bus.sqlite3")  # and it is all on disk
    await again.start()
    try:
        async with consuming(again, topic) as consumer:
            assert sorted(m.value for m in await read(consumer, 3)) == [b"a-0", b"b-0", b"c-0"]
    finally:
        await again.stop()
