"""Kafka bus on aiokafka, with our settings rather than aiokafka's defaults: an idempotent
producer (acks=all), consumers that never auto-commit and start from the earliest offset."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage

log = logging.getLogger(__name__)

TOPIC_PARTITIONS = 3
TOPIC_ALREADY_EXISTS = 36


class KafkaBus(Bus):
    def __init__(self, bootstrap: str, client_id: str = "kuaiche") -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                enable_idempotence=True,
                acks="all",
                linger_ms=5,
            )
            await producer.start()
            self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ping(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), 5)
            await asyncio.wait_for(admin.list_topics(), 5)
        finally:
            await admin.close()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaBus.publish before start()")
        futures = [
            await self._producer.send(
                m.topic, value=m.value, key=m.key.encode("utf-8"), headers=list(m.headers)
            )
            for m in messages
        ]
        await asyncio.gather(*futures)

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
                    NewTopic(t, TOPIC_PARTITIONS, 1, topic_configs={"retention.ms": "-1"})
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
        await self._consumer.commit({tp: OffsetAndMetadata(message.offset + 1, "")})

    async def rewind(self) -> None:
        for tp in self._consumer.assignment():
            committed = await self._consumer.committed(tp)
            if committed is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)
