"""In-process bus for the embedded default: append-only logs per topic partition, held in
memory, with consumer groups that keep committed positions, so the code above the bus is the
same as on Kafka. The log lives as long as the process: `kuaiche up` stops relays first and lets
consumers drain before it exits.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import defaultdict
from collections.abc import Sequence

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage

PARTITIONS = 3


def partition_for(key: str, partitions: int = PARTITIONS) -> int:
    return zlib.crc32(key.encode("utf-8")) % partitions


class InProcessBus(Bus):
    def __init__(self, partitions: int = PARTITIONS) -> None:
        self.partitions = partitions
        self._logs: dict[tuple[str, int], list[Message]] = defaultdict(list)
        self._committed: dict[tuple[str, str, int], int] = {}  # (group, topic, partition) -> next
        self._topics: set[str] = set()
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        self._topics.update(topics)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        async with self._changed:
            for m in messages:
                partition = partition_for(m.key, self.partitions)
                log = self._logs[(m.topic, partition)]
                log.append(Message(m.topic, m.key, m.value, tuple(m.headers), partition, len(log)))
            self._changed.notify_all()

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        return InProcessConsumer(self, group, tuple(topics))

    # Used by InProcessConsumer.
    def log(self, topic: str, partition: int) -> list[Message]:
        return self._logs[(topic, partition)]

    def committed(self, group: str, topic: str, partition: int) -> int:
        return self._committed.get((group, topic, partition), 0)

    def set_committed(self, group: str, topic: str, partition: int, position: int) -> None:
        key = (group, topic, partition)
        self._committed[key] = max(self._committed.get(key, 0), position)

    async def wait_for_change(self, timeout: float) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                pass


class InProcessConsumer(Consumer):
    def __init__(self, bus: InProcessBus, group: str, topics: tuple[str, ...]) -> None:
        self.bus = bus
        self.group = group
        self.topics = topics
        self._position: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        await self.rewind()

    async def stop(self) -> None:
        return None

    async def rewind(self) -> None:
        self._position = {
            (t, p): self.bus.committed(self.group, t, p)
            for t in self.topics
            for p in range(self.bus.partitions)
        }

    def _available(self, max_messages: int) -> list[Message]:
        out: list[Message] = []
        for (topic, partition), position in self._position.items():
            log = self.bus.log(topic, partition)
            batch = log[position : position + max_messages - len(out)]
            if batch:
                out.extend(batch)
                self._position[(topic, partition)] = position + len(batch)
            if len(out) >= max_messages:
                break
        return out

    async def fetch(self, timeout: float = 1.0, max_messages: int = 100) -> list[Message]:
        batch = self._available(max_messages)
        if not batch and timeout > 0:
            await self.bus.wait_for_change(timeout)
            batch = self._available(max_messages)
        return batch

    async def commit(self, message: Message) -> None:
        self.bus.set_committed(self.group, message.topic, message.partition, message.offset + 1)

    def lag(self) -> int:
        """Messages in the log this group has not committed yet (for draining on shutdown)."""
        return sum(
            len(self.bus.log(t, p)) - self.bus.committed(self.group, t, p)
            for t in self.topics
            for p in range(self.bus.partitions)
        )
