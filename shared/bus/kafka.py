"""Kafka bus on aiokafka, with our settings rather than aiokafka's defaults: an idempotent,
transactional producer (acks=all) that asks again for a refused transaction after 2 ms, not 20
(`CONCURRENT_TRANSACTIONS_BACKOFF_S`), and consumers that never auto-commit, start from the
earliest offset, read only committed transactions and let the broker hold a fetch 100 ms, not
500 (`FETCH_MAX_WAIT_MS`).

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
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.producer import sender as aiokafka_sender
from aiokafka.structs import OffsetAndMetadata

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage
from shared.bus.watch import quiet_client_repeats

log = logging.getLogger(__name__)

TOPIC_PARTITIONS = 3
TOPIC_ALREADY_EXISTS = 36
# Kafka's default message.max.bytes is 1 MiB; an event is capped well below (shared.uow).
MAX_REQUEST_BYTES = 1024 * 1024
# Every topic keeps its whole history: a read model rebuilt a year later replays from the first
# event (docs/events.md). Set at creation, and on a topic found with another retention.
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
# How long the broker lets a transaction stay open (see `_open_producer`). The broker checks
# every `transaction.abort.timed.out.transaction.cleanup.interval.ms` (10 s by default; 1 s in
# scripts/kafka.sh and docker-compose.yml).
TRANSACTION_TIMEOUT_MS = 10_000
# A transaction begun right after the previous one committed can find the broker still writing
# that one's markers: it answers the new one's AddPartitionsToTxn with CONCURRENT_TRANSACTIONS
# (KAFKA-5477), and aiokafka asks again after `BACKOFF_OVERRIDE`, 20 ms. On one broker the
# markers take a millisecond or two, so the relay waited some 18 ms for nothing, about once in
# a hundred publishes at 100 writes/s: each such publish, and every event behind it, ~20 ms late
# (bench row 4's p99). Ask again after this long instead. (Kafka 4's transactions v2 drop the
# request; aiokafka does not speak them yet.)
CONCURRENT_TRANSACTIONS_BACKOFF_S = 0.002
# How long the broker holds a consumer's fetch for a partition with nothing new (aiokafka: 500
# ms). aiokafka fetches a partition only once its fetched records are all taken, one request to
# a broker at a time: a request for a partition read to its end, held this long, kept the
# partitions still being read (a backlog, a replay) waiting behind it. Bench row 1's consumers
# took 0.6 s or 0.2 s for the same 3,000 events, as it happened; with 100 ms the wait is bounded
# by that, and an idle consumer asks ten times a second.
FETCH_MAX_WAIT_MS = 100
aiokafka_sender.BACKOFF_OVERRIDE = CONCURRENT_TRANSACTIONS_BACKOFF_S


class KafkaBus(Bus):
    def __init__(
        self,
        bootstrap: str,
        client_id: str = "kuaiche",
        replication_factor: int = 1,
        instance_id: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.replication_factor = replication_factor
        # Static membership (KIP-345): a consumer that restarts with the same id takes its
        # partitions back at once instead of waiting out its dead predecessor's session.
        self.instance_id = instance_id
        quiet_client_repeats()  # while the broker is away, aiokafka says each thing once
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
                # One per process (one relay at a time is the advisory lock's job, not
                # fencing's): the replica's name where it has one, so a restarted replica's
                # first transaction aborts the one its killed predecessor left open at once.
                transactional_id=f"{self.client_id}-{self.instance_id or uuid.uuid4()}",
                # A transaction left open (its process killed mid-publish) hides every later
                # event of its partitions from read_committed consumers until the broker
                # aborts it: after this long, not Kafka's default minute. A publish is one
                # batch, done in well under a second.
                transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
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
        instance = f"{self.instance_id}-{group}" if self.instance_id else None
        return KafkaConsumer(self.bootstrap, group, tuple(topics), self.client_id, instance)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            await _keep_forever(admin, [t for t in topics if t in existing])
            if not missing:
                return
            response = await admin.create_topics(
                [
                    NewTopic(
                        t,
                        TOPIC_PARTITIONS,
                        self.replication_factor,
                        topic_configs={
                            **KEEP_FOREVER,
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


DYNAMIC_TOPIC_CONFIG = 1  # a DescribeConfigs entry's source: set on the topic itself


async def _describe(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> dict[str, list[Any]]:
    """Each topic's DescribeConfigs entries: (name, value, read_only, source, sensitive, ...)."""
    if not topics:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    )
    # a resource: (error_code, error_message, resource_type, resource_name, entries)
    return {r[3]: list(r[4]) for response in responses for r in response.resources}


async def topic_configs(
    admin: AIOKafkaAdminClient, topics: Sequence[str]
) -> dict[str, dict[str, str]]:
    """The broker's configuration of each topic, setting -> value."""
    described = await _describe(admin, topics)
    return {name: {e[0]: e[1] for e in entries} for name, entries in described.items()}


async def _keep_forever(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> None:
    """Give the topics that keep less than their whole history `KEEP_FOREVER` (a topic made
    before the setting, or by hand). AlterConfigs replaces a topic's own settings as a whole,
    so the ones it has are sent along."""
    alter = []
    for name, entries in (await _describe(admin, topics)).items():
        values = {e[0]: e[1] for e in entries}
        if all(values.get(k) == v for k, v in KEEP_FOREVER.items()):
            continue
        own = {e[0]: e[1] for e in entries if e[3] == DYNAMIC_TOPIC_CONFIG}
        log.warning("topic %s did not keep its whole history; now it does", name)
        alter.append(ConfigResource(ConfigResourceType.TOPIC, name, {**own, **KEEP_FOREVER}))
    if alter:
        for response in await admin.alter_configs(alter):
            for code, message, _, name in response.resources:
                if code:
                    raise RuntimeError(f"could not set retention of topic {name}: {message}")


class KafkaConsumer(Consumer):
    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: tuple[str, ...],
        client_id: str,
        instance_id: str | None = None,
    ):
        self._topics = topics
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            group_instance_id=instance_id,
            client_id=f"{client_id}-{group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
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

    async def partition_lag(self) -> dict[tuple[str, int], int]:
        """Messages on the log (up to the last stable offset) past this member's position, as
        the last fetch saw the log's end; a partition not fetched yet is left out."""
        out: dict[tuple[str, int], int] = {}
        for tp in self._consumer.assignment():
            end = self._consumer.last_stable_offset(tp)
            if end is None or end < 0:
                end = self._consumer.highwater(tp)
            if end is None:
                continue
            try:
                position = await asyncio.wait_for(self._consumer.position(tp), 0.5)
            except (IllegalStateError, TimeoutError):
                continue
            out[(tp.topic, tp.partition)] = max(0, end - position)
        return out

    async def rewind(self) -> None:
        for tp in self._consumer.assignment():
            committed = await self._consumer.committed(tp)
            if committed is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)
