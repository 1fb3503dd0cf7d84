"""The bus: what the outbox relay publishes to and what consumers read from.

Two implementations pass one contract suite (tests/contract/test_bus.py): Kafka for production
and the integration tests, in-process for the embedded default. Delivery is at-least-once, in
order per (topic, key); a consumer commits a message only after its database transaction.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int = 0
    offset: int = 0

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default_factory=tuple)


class Consumer(abc.ABC):
    """One member of a consumer group. `fetch` returns messages after the committed position."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def fetch(self, timeout: float = 1.0, max_messages: int = 100) -> list[Message]:
        """Messages not yet returned to this member, at most `max_messages`, waiting up to
        `timeout` seconds for the first."""

    @abc.abstractmethod
    async def commit(self, message: Message) -> None:
        """Record that `message` and everything before it in its partition is done."""

    async def commit_all(self, messages: Sequence[Message]) -> None:
        """`commit` each of `messages` (the last one read of each partition), in one request
        where the bus can."""
        for message in messages:
            await self.commit(message)

    async def partition_lag(self) -> dict[tuple[str, int], int]:
        """Per partition this member holds, (topic, partition) -> how many messages it has not
        fetched yet, as far as it knows without asking the broker; empty where unknown."""
        return {}

    @abc.abstractmethod
    async def rewind(self) -> None:
        """Go back to the last committed position (after a failure, to re-read)."""

    @abc.abstractmethod
    async def end_offsets(self) -> dict[tuple[str, int], int]:
        """Where each partition of the member's topics ends now, (topic, partition) -> the
        offset after its last readable message: a mark for "everything published so far"."""

    @abc.abstractmethod
    async def reached(self, marks: dict[tuple[str, int], int]) -> bool:
        """Whether this member has fetched every partition in `marks` up to its mark (it must
        hold the partition to say so; an empty partition needs nothing)."""


class Bus(abc.ABC):
    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish in the given order; returns once every message is durably accepted."""

    @abc.abstractmethod
    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    @abc.abstractmethod
    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics (domain topics keep their whole history)."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise if the bus cannot be reached (for /readyz)."""
