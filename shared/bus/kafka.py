"""Kafka bus on aiokafka, with our settings rather than aiokafka's defaults: an idempotent,
transactional producer (acks=all), consumers that never auto-commit, start from the earliest
offset and read only committed transactions.

Each `publish` is one Kafka transaction: a batch goes out whole or not at all, so a failure
halfway (a partition without a leader, a timeout) cannot leave a later event of a project on
the log before an earlier one that is then sent again. The producer starts on the first publish,
so API-only processes (which only ping) never open one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage

log = logging.getLogger(__name__)

TOPIC_PARTITIONS = 3
TOPIC_ALREADY_EXISTS = 36
# Kafka's default message.max.bytes is 1 MiB; an event is capped well below (shared.uow).
MAX_REQUEST_BYTES = 1024 * 1024


class KafkaBus(Bus):
    def __init__(
        self, bootstrap: str, client_id: str = "kuaiche", replication_factor: int = 1
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.replication_factor = replication_factor
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()  # one transaction at a time on the producer

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        async with self._lock:
            await self._close_producer()

    async def _open_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                # Unique per process: batches are atomic; one relay at a time is the
                # advisory lock's job, not fencing's.
                transactional_id=f"{self.client_id}-{uuid.uuid4()}",
                enable_idempotence=True,
                acks="all",
                linger_ms=5,
                max_request_size=MAX_REQUEST_BYTES,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except Exception:
                log.warning("closing the Kafka producer failed", exc_info=True)

    async def ping(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), 5)
            await asyncio.wait_for(admin.list_topics(), 5)
        finally:
            await admin.close()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        async with self._lock:
            producer = await self._open_producer()
            try:
                async with producer.transaction():
                    for m in messages:
                        await producer.send(
                            m.topic,
                            value=m.value,
                            key=m.key.encode("utf-8"),
                            headers=list(m.headers),
                        )
            except Exception:
                # The transaction was aborted (nothing of it is visible to read_committed
                # consumers); start afresh next time in case the producer is unusable.
                await self._close_producer()
                raise

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        return KafkaConsumer(self.bootstrap, group, tuple(topics), self.client_id)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if not missing:
                return
            response = await admin.create_topics(
                [
                    NewTopic(
                        t,
                        TOPIC_PARTITIONS,
                        self.replication_factor,
                        topic_configs={
                            "retention.ms": "-1",
                            "min.insync.replicas": str(min(2, self.replication_factor)),
                        },
                    )
                    for t in missing
                ]
            )
            for topic_error in getattr(response, "topic_errors", []):
                name, code = topic_error[0], topic_error[1]
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"could not create topic {name}: error {code}")
        finally:
            await admin.close()


class KafkaConsumer(Consumer):
    def __init__(self, bootstrap: str, group: str, topics: tuple[str, ...], client_id: str):
        self._topics = topics
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=f"{client_id}-{group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def fetch(self, timeout: float = 1.0, max_messages: int = 100) -> list[Message]:
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout * 1000), max_records=max_messages
        )
        out: list[Message] = []
        for tp, records in batches.items():
            for r in records:
                out.append(
                    Message(
                        topic=tp.topic,
                        key=(r.key or b"").decode("utf-8"),
                        value=r.value or b"",
                        headers=tuple(r.headers or ()),
                        partition=tp.partition,
                        offset=r.offset,
                    )
                )
        return out

    async def commit(self, message: Message) -> None:
        tp = TopicPartition(message.topic, message.partition)
        try:
            await self._consumer.commit({tp: OffsetAndMetadata(message.offset + 1, "")})
        except (CommitFailedError, IllegalStateError) as exc:
            # The partition moved to another member in a rebalance: it re-reads from the
            # last commit, and its inbox makes the repeat harmless.
            log.info("commit skipped for %s after a rebalance: %s", tp, exc)

    async def commit_all(self, messages: Sequence[Message]) -> None:
        """One request for the partitions this member still holds; like `commit`, the ones a
        rebalance took away are skipped (a request naming one of them would fail whole)."""
        assigned = self._consumer.assignment()
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            if tp in assigned:
                offsets[tp] = OffsetAndMetadata(m.offset + 1, "")
            else:
                log.info("commit skipped for %s after a rebalance: no longer assigned", tp)
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # a rebalance meanwhile: each partition on its own, the ones still held commit
            log.info("commit of %d partitions failed after a rebalance: %s", len(offsets), exc)
            for m in messages:
                await self.commit(m)

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        partitions: list[TopicPartition] = []
        for topic in self._topics:
            ids = self._consumer.partitions_for_topic(topic)
            for _ in range(50):  # the metadata of a just-started member may still be on its way
                if ids is not None:
                    break
                await asyncio.sleep(0.1)
                ids = self._consumer.partitions_for_topic(topic)
            partitions.extend(TopicPartition(topic, p) for p in sorted(ids or ()))
        ends = await self._consumer.end_offsets(partitions) if partitions else {}
        # read_committed: the last stable offset, past the transactions' commit markers
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def reached(self, marks: dict[tuple[str, int], int]) -> bool:
        assigned = self._consumer.assignment()
        for (topic, partition), end in marks.items():
            if end == 0:
                continue
            tp = TopicPartition(topic, partition)
            if tp not in assigned or await self._consumer.position(tp) < end:
                return False
        return True

    async def rewind(self) -> None:
        for tp in self._consumer.assignment():
            committed = await self._consumer.committed(tp)
            if committed is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)
