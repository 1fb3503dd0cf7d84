"""Idempotent consumers: each event id is recorded in the consumer's `inbox` table in the same
transaction as the handler's effect, so a redelivered event is a no-op. The offset is committed
only after that transaction. An event that keeps failing goes, after bounded retries, to the
topic's dead-letter topic with the error, and the consumer moves on; a database that is down is
not the event's fault, so then the consumer waits and reads the same events again.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.base import Bus, Consumer, Message, OutgoingMessage
from shared.db import (
    OutageLog,
    UTCDateTime,
    insert_many,
    is_postgres,
    is_unavailable,
    retry_pause,
    utcnow,
)
from shared.events.catalogue import EVENT_TYPES
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic
from shared.heap import freeze_more, heap_frozen
from shared.waiting import pause, unless_stopped

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent, Any], Awaitable[None]]
# Run in the transaction that applies a batch, before its handlers, with the events they apply.
BeforeBatch = Callable[[AsyncSession, list[tuple[CloudEvent, Any]]], Awaitable[None]]
# What a replay does with an event: change something in memory, no I/O (`InboxConsumer.replay`).
Fold = Callable[[CloudEvent, Any], Awaitable[None]]
# How many messages a replay asks the bus for at a time.
REPLAY_FETCH = 20_000
# ... and after how many events folded it lets the event loop run (the bus client's own reads).
REPLAY_YIELD = 500
# ... and how many of its inbox inserts may be under way while it reads on.
REPLAY_WRITERS = 2


def inbox_columns() -> list[Column]:
    return [
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", UTCDateTime(), nullable=False),
    ]


def inbox_table(metadata: MetaData) -> Table:
    return Table("inbox", metadata, *inbox_columns())


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # a type this consumer has no handler for
    DEAD_LETTERED = "dead_lettered"


# Told how many events had an outcome once they count (their transaction committed; a replay's,
# folded): a batch's or a replayed fetch's in one call per outcome, an event handled alone with 1.
OnOutcome = Callable[[Outcome, int], None]


def tally(outcomes: Iterable[Outcome], on_outcome: OnOutcome | None) -> None:
    """Tell `on_outcome` how many of `outcomes` had each outcome, one call per outcome."""
    if on_outcome is not None:
        for outcome, count in collections.Counter(outcomes).items():
            on_outcome(outcome, count)


class RetryLater(Exception):
    """Not the event's fault (the database is down, the dead-letter topic cannot be written):
    read the same events again later, commit nothing past them, dead-letter nothing."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Decoded:
    message: Message
    event: CloudEvent
    payload: Any
    handler: Handler | None


class _BrokeAt(Exception):
    """A batch's transaction was rolled back at its `index`-th event."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


async def _settled(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for `tasks` (at most one: a batch's offset commit), raising what failed."""
    while tasks:
        await tasks.pop()


class InboxConsumer:
    def __init__(
        self,
        name: str,
        bus: Bus,
        session_factory: async_sessionmaker[AsyncSession],
        table: Table,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        *,
        max_attempts: int = 3,
        retry_backoff: float = 0.1,
        on_outcome: OnOutcome | None = None,
        before_batch: BeforeBatch | None = None,
        after_batch: Callable[[AsyncSession], Awaitable[None]] | None = None,
        on_lag: Callable[[str, dict[tuple[str, int], int]], None] | None = None,
    ) -> None:
        self.name = name
        self.bus = bus
        self.session_factory = session_factory
        self.table = table
        self.topics = tuple(topics)
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.on_outcome = on_outcome
        # run in a transaction that applies events, before their handlers, with those events and
        # their payloads (a read model's rows they will read, fetched in one statement, not each)
        self.before_batch = before_batch
        # run in a transaction that applied events, after their handlers (a read model's
        # derived rows, kept once per batch instead of once per event)
        self.after_batch = after_batch
        # told (this consumer's name, its partitions' lag) at most once a second while it runs
        self.on_lag = on_lag

    async def run(self, stop: asyncio.Event, consumer: Consumer | None = None) -> None:
        """Consume until `stop`. Nothing but cancellation ends it: on any failure it goes back
        to the last committed position and reads again after a pause."""
        consumer = consumer or self.bus.consumer(self.name, self.topics)
        await consumer.start()
        failures = 0
        lag_due = 0.0
        outage = OutageLog(log, f"consumer {self.name}")
        # A batch's offsets are committed while the next batch is applied, not waited for in
        # between (a round trip to the broker off each batch's path); each commit waits for the
        # one before it, so they go in order, and a failed one fails the batch after it.
        committing: list[asyncio.Task[None]] = []

        async def commit_behind(messages: list[Message]) -> None:
            await _settled(committing)
            if messages:
                committing.append(asyncio.create_task(consumer.commit_all(messages)))

        try:
            while not stop.is_set():
                try:
                    # What has arrived meanwhile, taken without waiting (no task, no loop turn);
                    # only when nothing has, a wait that a stop request cuts short (shutting
                    # down takes no 0.5 s)
                    messages = await consumer.fetch(timeout=0) or await unless_stopped(
                        stop, consumer.fetch(timeout=0.5), []
                    )
                    await self.process_batch(consumer, messages, commit=commit_behind)
                    failures = 0
                    if self.on_lag is not None and time.monotonic() >= lag_due:
                        lag_due = time.monotonic() + 1.0
                        self.on_lag(self.name, await consumer.partition_lag())
                    if messages:
                        outage.succeeded()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    down = is_unavailable(exc) or is_unavailable(exc.__cause__ or exc)
                    if down:
                        outage.failed(exc)
                    elif isinstance(exc, RetryLater):
                        log.warning("consumer %s: %s; reading again shortly", self.name, exc)
                    else:
                        log.exception("consumer %s failed; reading again shortly", self.name)
                    await pause(stop, retry_pause(failures, down))
                    try:
                        await _settled(committing)
                    except Exception:
                        log.warning("consumer %s: commit failed", self.name, exc_info=True)
                    try:
                        await consumer.rewind()
                    except Exception:
                        log.warning("consumer %s: rewind failed", self.name, exc_info=True)
        finally:
            try:
                await _settled(committing)
            except Exception:
                log.warning("consumer %s: last commit failed", self.name, exc_info=True)
            try:
                await consumer.stop()
            except Exception:
                log.warning("consumer %s: stop failed", self.name, exc_info=True)

    async def catch_up(self, idle_timeout: float, *, to_end: float | None = None) -> int:
        """Apply everything already on the topics and return how many messages were read. By
        default it reads until a fetch finds nothing for `idle_timeout` seconds (a demo loader
        building on its projection). With `to_end` (seconds allowed) it reads up to where the
        topics ended when it began, however long the group takes to join and whatever is
        published meanwhile, and raises TimeoutError past the allowance (a rebuild). The
        worker's `run` then goes on from the committed position."""
        consumer = self.bus.consumer(self.name, self.topics)
        await consumer.start()
        read = 0
        try:
            marks = await consumer.end_offsets() if to_end is not None else None
            deadline = None if to_end is None else asyncio.get_running_loop().time() + to_end
            while True:
                messages = await consumer.fetch(timeout=idle_timeout)
                if messages:
                    await self.process_batch(consumer, messages)
                    read += len(messages)
                    if marks is None or not await consumer.reached(marks):
                        continue
                if marks is None or await consumer.reached(marks):
                    break
                if deadline is not None and asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(
                        f"consumer {self.name}: the log's end not reached within {to_end} s"
                    )
        finally:
            await consumer.stop()
        return read

    async def replay(
        self,
        folds: Mapping[str, Fold],
        write: Callable[[async_sessionmaker[AsyncSession]], Coroutine[Any, Any, None]],
        idle_timeout: float,
        to_end: float,
    ) -> int:
        """Apply the topics, from this consumer's committed position up to where they ended when
        it began, in memory, then write the outcome in bulk; return how many messages were
        read. For a consumer that builds something nobody reads yet (a rebuild's epoch, which
        counts only once the caller switches to it), where a transaction per batch is the cost
        that counts and the writes need not be one transaction.

        Messages come in large fetches; each well-formed event with a fold is folded once (a
        later copy of an event id is a duplicate), in the order read, so per-key order holds.
        The inbox rows of each fetch's events are inserted in bulk while the next is read;
        `write` (what the folds built) runs at the end. Only after all of it has committed is
        each partition's offset committed, so a consumer of this name goes on exactly after
        the replay, and an event it meets again is a duplicate by its inbox. A message that is
        no event of ours, or whose fold fails, goes to the dead-letter topic as in `handle` (a
        fold does no I/O: it would fail the same way again). Raises TimeoutError past `to_end`
        seconds; whatever was written by then is the caller's to remove."""
        with heap_frozen():  # a replay allocates a read model's worth of objects
            consumer = self.bus.consumer(self.name, self.topics)
            await consumer.start()
            read = 0
            writing: set[asyncio.Task[None]] = set()
            try:
                marks = await consumer.end_offsets()
                deadline = asyncio.get_running_loop().time() + to_end
                last: dict[tuple[str, int], Message] = {}
                applied: set[str] = set()
                while not await consumer.reached(marks):
                    messages = await consumer.fetch(timeout=idle_timeout, max_messages=REPLAY_FETCH)
                    now = utcnow()
                    rows: list[tuple[Any, ...]] = []  # the inbox rows of this fetch
                    outcomes: list[Outcome] = []
                    for index, message in enumerate(messages, start=1):
                        outcomes.append(await self._fold(folds, message, applied, rows, now))
                        last[(message.topic, message.partition)] = message
                        if index % REPLAY_YIELD == 0:
                            await asyncio.sleep(0)  # the bus client reads on meanwhile
                    tally(outcomes, self.on_outcome)
                    read += len(messages)
                    freeze_more()  # what this fetch folded: no collection's concern
                    if rows:
                        if len(writing) >= REPLAY_WRITERS:  # the database sets the pace
                            done, writing = await asyncio.wait(
                                writing, return_when=asyncio.FIRST_COMPLETED
                            )
                            for task in done:
                                task.result()  # a failed insert fails the replay now
                        writing.add(asyncio.create_task(self._insert_inbox(rows)))
                    if not messages and asyncio.get_running_loop().time() > deadline:
                        raise TimeoutError(
                            f"consumer {self.name}: the log's end not reached within {to_end} s"
                        )
                writing.add(asyncio.create_task(write(self.session_factory)))
                await asyncio.gather(*writing)
                await consumer.commit_all(list(last.values()))
            finally:
                for task in writing:
                    task.cancel()
                await asyncio.gather(*writing, return_exceptions=True)
                await consumer.stop()
            return read

    _INBOX_COLUMNS = (
        "consumer",
        "event_id",
        "event_type",
        "topic",
        "partition",
        "offset",
        "processed_at",
    )

    async def _insert_inbox(self, rows: list[tuple[Any, ...]]) -> None:
        async with self.session_factory() as session, session.begin():
            await insert_many(session, self.table, self._INBOX_COLUMNS, rows)

    async def _fold(
        self,
        folds: Mapping[str, Fold],
        message: Message,
        applied: set[str],
        rows: list[tuple[Any, ...]],
        now: dt.datetime,
    ) -> Outcome:
        """Fold one message (as `_handle` applies one); an event folded adds its inbox row."""
        try:
            event = CloudEvent.from_json(message.value)
        except ValidationError as exc:
            return await self._dead_letter(message, f"not a CloudEvent: {exc}")
        fold = folds.get(event.type)
        if fold is None:
            return Outcome.IGNORED
        if event.id in applied:
            return Outcome.DUPLICATE
        try:
            payload = EVENT_TYPES[event.type].model_validate(event.data)
        except (KeyError, ValidationError) as exc:
            return await self._dead_letter(message, f"payload does not match {event.type}: {exc}")
        try:
            await fold(event, payload)
        except Exception as exc:
            return await self._dead_letter(message, f"{type(exc).__name__}: {exc}")
        applied.add(event.id)
        rows.append(
            (self.name, event.id, event.type, message.topic, message.partition, message.offset, now)
        )
        return Outcome.APPLIED

    async def process_batch(
        self,
        consumer: Consumer,
        messages: Sequence[Message],
        *,
        commit: Callable[[list[Message]], Awaitable[None]] | None = None,
    ) -> None:
        """Apply a fetched batch in the order fetched, then commit each partition past it
        (`consumer.commit_all`, or `commit` given the last message applied of each partition).

        Each message is decoded once. The well-formed events of a batch are applied together,
        in ONE transaction: one statement inserts their inbox rows, skipping (and so naming as
        duplicates) those applied before, then each handler runs in turn. What needs care goes
        alone, one event per transaction with the retries and the dead-letter topic (`handle`):
        a message that is no event of ours (a poison), or the event whose handler failed in the
        batch (the events before it are applied together again first). Either way per-key order
        holds: nothing after an event is applied before it."""
        last: dict[tuple[str, int], Message] = {}
        decoded = [self._decode(message) for message in messages]
        start = 0
        try:
            while start < len(messages):
                end = start
                while end < len(decoded) and decoded[end] is not None:
                    end += 1
                run = cast("list[_Decoded]", decoded[start:end])
                done = await self._apply_together(run) if run else 0
                for message in messages[start : start + done]:
                    last[(message.topic, message.partition)] = message
                start += done
                if start < len(messages):
                    await self.handle(messages[start])
                    last[(messages[start].topic, messages[start].partition)] = messages[start]
                    start += 1
        finally:
            await (commit or consumer.commit_all)(list(last.values()))  # one request on Kafka

    def _decode(self, message: Message) -> _Decoded | None:
        """The message as an event with its payload, or None if it is no well-formed event."""
        try:
            event = CloudEvent.from_json(message.value)
            handler = self.handlers.get(event.type)
            payload = EVENT_TYPES[event.type].model_validate(event.data) if handler else None
        except (KeyError, ValidationError):
            return None
        return _Decoded(message, event, payload, handler)

    async def _apply_together(self, run: list[_Decoded]) -> int:
        """Apply `run` in one transaction; how many of its leading events are now applied
        (all, or the ones before the event whose handler failed, or none)."""
        try:
            outcomes = await self._transaction(run)
        except _BrokeAt as broke:
            if broke.index == 0:
                return 0
            try:
                outcomes = await self._transaction(run[: broke.index])
            except _BrokeAt:
                return 0
        tally(outcomes, self.on_outcome)
        return len(outcomes)

    async def _transaction(self, run: list[_Decoded]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        index = 0
        try:
            async with self.session_factory() as session, session.begin():
                now = utcnow()
                rows: dict[str, dict[str, Any]] = {}  # a later copy in the batch is a duplicate
                for d in run:
                    if d.handler is not None and d.event.id not in rows:
                        rows[d.event.id] = self._inbox_row(d.message, d.event, now)
                claimed = await self._claim(session, list(rows.values()))
                for d in run:
                    if d.handler is None:
                        outcomes.append(Outcome.IGNORED)
                    elif d.event.id in claimed:
                        claimed.discard(d.event.id)
                        outcomes.append(Outcome.APPLIED)
                    else:
                        outcomes.append(Outcome.DUPLICATE)
                fresh = Outcome.APPLIED in outcomes
                if fresh and self.before_batch is not None:
                    applied = [
                        (d.event, d.payload)
                        for d, o in zip(run, outcomes, strict=True)
                        if o is Outcome.APPLIED
                    ]
                    await self.before_batch(session, applied)
                for index, d in enumerate(run):
                    if d.handler is not None and outcomes[index] is Outcome.APPLIED:
                        await d.handler(session, d.event, d.payload)
                if fresh and self.after_batch is not None:
                    await self.after_batch(session)
        except Exception as exc:  # a handler failed (or the claim did: a deadlock, say)
            if is_unavailable(exc):
                raise RetryLater(str(exc)) from exc
            log.info(
                "consumer %s: %s failed in a batch; applying it alone",
                self.name,
                run[index].event.id,
            )
            raise _BrokeAt(index) from exc
        return outcomes

    def _inbox_row(self, message: Message, event: CloudEvent, now: dt.datetime) -> dict[str, Any]:
        return {
            "consumer": self.name,
            "event_id": event.id,
            "event_type": event.type,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "processed_at": now,
        }

    async def _claim(self, session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
        """Insert the inbox `rows` in the session's transaction, skipping those this consumer
        has applied before, and return the event ids inserted now: one statement (INSERT ...
        ON CONFLICT DO NOTHING RETURNING, its rows in one multi-row VALUES), where a SELECT
        and an INSERT were two. A row another transaction holds uncommitted waits for it; if
        that one commits, the event is a duplicate here, not an error."""
        if not rows:
            return set()
        dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
        statement = (
            dialect_insert(self.table)
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
            .returning(self.table.c.event_id)
        )
        return set((await session.scalars(statement, rows)).all())

    async def handle(self, message: Message) -> Outcome:
        outcome = await self._handle(message)
        tally([outcome], self.on_outcome)
        return outcome

    async def _handle(self, message: Message) -> Outcome:
        try:
            event = CloudEvent.from_json(message.value)
        except ValidationError as exc:
            return await self._dead_letter(message, f"not a CloudEvent: {exc}")
        handler = self.handlers.get(event.type)
        if handler is None:
            return Outcome.IGNORED
        try:
            payload: BaseModel = EVENT_TYPES[event.type].model_validate(event.data)
        except (KeyError, ValidationError) as exc:
            return await self._dead_letter(message, f"payload does not match {event.type}: {exc}")

        error: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._apply_once(message, event, payload, handler)
            except IntegrityError as exc:
                if await self._already_applied(event.id):
                    return Outcome.DUPLICATE
                error = exc
            except Exception as exc:
                if is_unavailable(exc):
                    raise RetryLater(str(exc)) from exc
                error = exc
            log.warning(
                "consumer %s: %s failed (attempt %d): %r", self.name, event.id, attempt, error
            )
            await asyncio.sleep(self.retry_backoff * attempt)
        return await self._dead_letter(message, f"{type(error).__name__}: {error}")

    async def _apply_once(
        self, message: Message, event: CloudEvent, payload: BaseModel, handler: Handler
    ) -> Outcome:
        async with self.session_factory() as session, session.begin():
            if not await self._claim(session, [self._inbox_row(message, event, utcnow())]):
                return Outcome.DUPLICATE
            await handler(session, event, payload)
            if self.after_batch is not None:
                await self.after_batch(session)
        return Outcome.APPLIED

    async def _already_applied(self, event_id: str) -> bool:
        async with self.session_factory() as session:
            found = await session.scalar(
                select(self.table.c.event_id).where(
                    self.table.c.consumer == self.name, self.table.c.event_id == event_id
                )
            )
            return found is not None

    async def _dead_letter(self, message: Message, error: str) -> Outcome:
        log.error(
            "consumer %s: dead-lettering %s@%s: %s", self.name, message.topic, message.offset, error
        )
        try:
            await self._publish_dead_letter(message, error)
        except Exception as exc:
            raise RetryLater(f"could not write the dead-letter topic: {exc!r}") from exc
        return Outcome.DEAD_LETTERED

    async def _publish_dead_letter(self, message: Message, error: str) -> None:
        await self.bus.publish(
            [
                OutgoingMessage(
                    topic=dead_letter_topic(message.topic),
                    key=message.key,
                    value=message.value,
                    headers=(
                        *message.headers,
                        ("dlq.consumer", self.name.encode()),
                        ("dlq.error", error[:4000].encode("utf-8", "replace")),
                        ("dlq.topic", message.topic.encode()),
                        ("dlq.partition", str(message.partition).encode()),
                        ("dlq.offset", str(message.offset).encode()),
                    ),
                )
            ]
        )
