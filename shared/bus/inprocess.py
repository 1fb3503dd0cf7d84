"""In-process bus for the embedded default: append-only logs per topic partition with consumer
groups that keep committed positions, so the code above the bus is the same as on Kafka.

With `log_path` (what `kuaiche up` uses) the log and the committed positions are also written to
a SQLite file, so a restart keeps them like Kafka would: a consumer that starts later still reads
every event from the beginning, and one that had committed goes on from there.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage

PARTITIONS = 3


def partition_for(key: str, partitions: int = PARTITIONS) -> int:
    return zlib.crc32(key.encode("utf-8")) % partitions


class InProcessBus(Bus):
    def __init__(self, partitions: int = PARTITIONS, log_path: Path | None = None) -> None:
        self.partitions = partitions
        self.log_path = log_path
        self._logs: dict[tuple[str, int], list[Message]] = defaultdict(list)
        self._committed: dict[tuple[str, str, int], int] = {}  # (group, topic, partition) -> next
        self._topics: set[str] = set()
        self._changed = asyncio.Condition()
        self._db: sqlite3.Connection | None = None
        # The log file's writes run in order on a thread of their own: each commit waits for
        # the disk, and the event loop (requests, the relay, consumers) should not wait with it.
        self._writer: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        if self.log_path is None or self._db is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.log_path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS messages (topic TEXT, partition INTEGER, offset INTEGER,"
            " key TEXT, value BLOB, headers TEXT, PRIMARY KEY (topic, partition, offset))"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS committed (grp TEXT, topic TEXT, partition INTEGER,"
            " position INTEGER, PRIMARY KEY (grp, topic, partition))"
        )
        for topic, partition, offset, key, value, headers in db.execute(
            "SELECT topic, partition, offset, key, value, headers FROM messages ORDER BY topic, partition, offset"
        ):
            pairs = tuple((k, bytes.fromhex(v)) for k, v in json.loads(headers))
            self._logs[(topic, partition)].append(
                Message(topic, key, bytes(value), pairs, partition, offset)
            )
        for group, topic, partition, position in db.execute(
            "SELECT grp, topic, partition, position FROM committed"
        ):
            self._committed[(group, topic, partition)] = position
        self._db = db
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kuaiche-bus-log")

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)  # what was submitted is written
            self._writer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _write(
        self, write: Callable[[Any], None], arg: Any, then: Callable[[], None] | None = None
    ) -> None:
        """Run `write(arg)` on the log file's thread, wait for it, then run `then` here. A
        write that has begun when the caller is cancelled is still waited for and followed by
        `then` (what is on disk and what this process shows must not differ); then the
        cancellation goes on."""
        assert self._writer is not None
        job = self._writer.submit(write, arg)
        try:
            await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            if not job.cancelled():
                job.result()
                if then is not None:
                    then()
            raise
        if then is not None:
            then()

    async def ping(self) -> None:
        return None

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        self._topics.update(topics)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        async with self._changed:
            added: list[Message] = []
            ends: dict[tuple[str, int], int] = {}  # each partition's next offset
            for m in messages:
                tp = (m.topic, partition_for(m.key, self.partitions))
                offset = ends.get(tp, len(self._logs[tp]))
                ends[tp] = offset + 1
                added.append(Message(m.topic, m.key, m.value, tuple(m.headers), tp[1], offset))
            if self._db is not None:  # durable first, then visible
                await self._write(self._append_to_file, added, then=partial(self._show, added))
            else:
                self._show(added)

    def _show(self, added: list[Message]) -> None:
        for a in added:
            self._logs[(a.topic, a.partition)].append(a)
        self._changed.notify_all()

    def _append_to_file(self, added: list[Message]) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        a.topic,
                        a.partition,
                        a.offset,
                        a.key,
                        a.value,
                        json.dumps([(k, v.hex()) for k, v in a.headers]),
                    )
                    for a in added
                ],
            )

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        return InProcessConsumer(self, group, tuple(topics))

    # Used by InProcessConsumer.
    def log(self, topic: str, partition: int) -> list[Message]:
        return self._logs[(topic, partition)]

    def committed(self, group: str, topic: str, partition: int) -> int:
        return self._committed.get((group, topic, partition), 0)

    async def set_committed(self, group: str, topic: str, partition: int, position: int) -> None:
        key = (group, topic, partition)
        self._committed[key] = max(self._committed.get(key, 0), position)
        if self._db is not None:
            await self._write(self._commit_to_file, (group, topic, partition, self._committed[key]))

    def _commit_to_file(self, row: tuple[str, str, int, int]) -> None:
        assert self._db is not None
        self._db.execute(
            "INSERT INTO committed VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, partition)"
            " DO UPDATE SET position = max(position, excluded.position)",
            row,
        )

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
        await self.bus.set_committed(
            self.group, message.topic, message.partition, message.offset + 1
        )

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        return {
            (t, p): len(self.bus.log(t, p)) for t in self.topics for p in range(self.bus.partitions)
        }

    async def reached(self, marks: dict[tuple[str, int], int]) -> bool:
        return all(self._position.get(tp, 0) >= end for tp, end in marks.items())

    async def partition_lag(self) -> dict[tuple[str, int], int]:
        return {tp: len(self.bus.log(*tp)) - position for tp, position in self._position.items()}

    def lag(self) -> int:
        """Messages in the log this group has not committed yet (for draining on shutdown)."""
        return sum(
            len(self.bus.log(t, p)) - self.bus.committed(self.group, t, p)
            for t in self.topics
            for p in range(self.bus.partitions)
        )
