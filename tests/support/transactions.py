"""Kafka transactions as a read_committed reader meets them."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition


async def still_open(bootstrap: str, partitions: list[TopicPartition]) -> list[TopicPartition]:
    """The partitions whose last stable offset is behind their end: a transaction on them is
    neither committed nor aborted yet, and hides what follows it from read_committed readers.
    (A commit or abort marker takes the offset after a transaction's last record, so the end
    and the last stable offset are equal once every transaction has ended.)"""
    if not partitions:
        return []
    ends = {}
    for isolation in ("read_committed", "read_uncommitted"):
        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation)
        await reader.start()
        try:
            ends[isolation] = await reader.end_offsets(partitions)
        finally:
            await reader.stop()
    return [tp for tp in partitions if ends["read_committed"][tp] < ends["read_uncommitted"][tp]]
