"""Transactional outbox: events are rows written in the same transaction as the change; a relay
publishes them to the bus in order and marks them published.

The relay never pages by "last id seen": a row whose transaction commits late (a lower id
becoming visible after higher ones) would be skipped. It takes the oldest rows that are not
yet published, every time. Per-aggregate order holds because every change of an aggregate
updates its row (its version), so two changes of one aggregate commit one after the other and
take outbox ids in that order. With several replicas on PostgreSQL, one relay at a time
publishes, under a transaction-scoped advisory lock; on SQLite, BEGIN IMMEDIATE serialises.
A batch is taken and marked published in one statement, in the transaction that publishes it,
which commits only after the publish: delivery is at-least-once (a crash after publishing and
before that commit republishes); consumers deduplicate by event id in their inbox.

The relay wakes as soon as events commit: in its own process the unit of work calls `wake`;
on PostgreSQL a transaction that writes events also sends `NOTIFY` on `NOTIFY_CHANNEL` (it is
delivered at commit, never for a rollback; `pg_notify` in the RETURNING of its first outbox
INSERT, so it costs no round trip), which a relay in another process (an API replica's writes,
the worker's relay) LISTENs for. The `interval` poll remains the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.base import Bus, OutgoingMessage
from shared.db import OutageLog, UTCDateTime, is_postgres, is_unavailable, retry_pause, utcnow
from shared.events.envelope import CONTENT_TYPE, CloudEvent
from shared.waiting import pause, pause_or_wake

log = logging.getLogger(__name__)


def outbox_columns() -> list[Column]:
    """The outbox's columns, used by the table and by each service's first migration."""
    return [
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True),
    ]


def outbox_table(metadata: MetaData) -> Table:
    table = Table("outbox", metadata, *outbox_columns())
    Index(
        "ix_outbox_unpublished",
        table.c.id,
        postgresql_where=table.c.published_at.is_(None),
        sqlite_where=table.c.published_at.is_(None),
    )
    return table


# One channel per database, and every service has its own database.
NOTIFY_CHANNEL = "kuaiche_outbox"


async def write_event(
    session: AsyncSession, table: Table, topic: str, event: CloudEvent, body: bytes | None = None
) -> None:
    """Add `event` to the outbox inside the caller's transaction (on PostgreSQL, with one
    NOTIFY per transaction for the relay, delivered at commit). `body`: the event as
    `event.to_json()` gives it, when the caller has it already."""
    # The values as parameters of a bare INSERT, not baked into the statement with .values():
    # the statement is then the same every time, and SQLAlchemy does not build it anew.
    statement = insert(table)
    values = {
        "event_id": event.id,
        "topic": topic,
        "key": event.partitionkey,
        "type": event.type,
        "payload": (body if body is not None else event.to_json()).decode("utf-8"),
        "created_at": utcnow(),
    }
    transaction = session.sync_session.get_transaction() if is_postgres(session) else None
    if transaction is not None and session.info.get("outbox_notified") is not transaction:
        # pg_notify in the INSERT's RETURNING: the NOTIFY takes no round trip of its own
        await session.execute(statement.returning(func.pg_notify(NOTIFY_CHANNEL, "")), values)
        session.info["outbox_notified"] = transaction
    else:
        await session.execute(statement, values)


def advisory_lock_key(name: str) -> int:
    return zlib.crc32(f"kuaiche-outbox-relay:{name}".encode())


class OutboxRelay:
    def __init__(
        self,
        name: str,
        session_factory: async_sessionmaker[AsyncSession],
        bus: Bus,
        table: Table,
        *,
        batch_size: int = 500,
        interval: float = 0.5,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self.session_factory = session_factory
        self.bus = bus
        self.table = table
        self.batch_size = batch_size
        self.interval = interval
        self.on_published = on_published
        self._wake = asyncio.Event()
        # The oldest unpublished rows, taken and marked published in one statement (a SELECT
        # and an UPDATE after the publish were two round trips): the marks commit with the
        # relay's transaction, after the publish; a failed publish rolls them back. On
        # PostgreSQL the statement also tries the advisory lock, in an uncorrelated subquery
        # that runs once, before any row is taken: a relay that does not get it takes nothing
        # (a round trip of its own before, in every round).
        t = table
        oldest = select(t.c.id).where(t.c.published_at.is_(None)).order_by(t.c.id).limit(batch_size)
        key = bindparam("lock", advisory_lock_key(name), type_=BigInteger)
        locked = select(func.pg_try_advisory_xact_lock(key)).scalar_subquery()
        self._take, self._take_locked = (
            update(t)
            # published_at again on the row itself: the statement's snapshot predates the lock,
            # so a row another relay marked and committed just before this one got the lock is
            # re-checked at its newest version (PostgreSQL's EvalPlanQual) and not taken twice
            .where(t.c.id.in_(rows), t.c.published_at.is_(None))
            .values(published_at=bindparam("now"))
            .returning(t.c.id, t.c.topic, t.c.key, t.c.type, t.c.payload)
            for rows in (oldest, oldest.where(locked))
        )

    def wake(self) -> None:
        """Called after a commit that wrote events, so they go out without waiting a tick."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of the oldest unpublished rows; returns how many were published
        (0 as well when another relay holds the lock)."""
        async with self.session_factory() as session, session.begin():
            take = self._take_locked if is_postgres(session) else self._take
            taken = await session.execute(take, {"now": utcnow()})
            rows = sorted(taken.all(), key=lambda r: r.id)  # RETURNING's order is not theirs
            if not rows:
                return 0
            await self.bus.publish(
                [
                    OutgoingMessage(
                        topic=r.topic,
                        key=r.key,
                        value=r.payload.encode("utf-8"),
                        headers=(
                            ("content-type", CONTENT_TYPE.encode()),
                            ("ce_type", r.type.encode()),
                        ),
                    )
                    for r in rows
                ]
            )
        if self.on_published:
            self.on_published(len(rows))
        return len(rows)

    async def backlog(self) -> tuple[int, dt.datetime | None]:
        """How many rows wait to be published, and when the oldest of them was written."""
        t = self.table
        async with self.session_factory() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(t.c.created_at)).where(t.c.published_at.is_(None))
                )
            ).one()
            return int(count or 0), oldest

    async def pending(self) -> int:
        async with self.session_factory() as session:
            count = await session.scalar(
                select(text("count(*)"))
                .select_from(self.table)
                .where(self.table.c.published_at.is_(None))
            )
            return int(count or 0)

    async def run(self, stop: asyncio.Event) -> None:
        listening = asyncio.create_task(self._listen(stop), name=f"{self.name}-relay-listen")
        try:
            await self._run(stop)
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    async def _listen(self, stop: asyncio.Event) -> None:
        """On PostgreSQL: wake on every commit that wrote events, from any process. Keeps one
        connection LISTENing, opened again after a failure; on SQLite there is nothing to do."""
        engine: AsyncEngine | None = self.session_factory.kw.get("bind")
        if engine is None or not is_postgres(engine):
            return

        def woken(*_: object) -> None:
            self._wake.set()

        failures = 0
        while not stop.is_set():
            try:
                async with engine.connect() as conn:
                    raw: Any = (await conn.get_raw_connection()).driver_connection
                    await raw.add_listener(NOTIFY_CHANNEL, woken)
                    failures = 0
                    self._wake.set()  # what committed while nobody listened
                    while not stop.is_set() and not raw.is_closed():
                        await pause(stop, 1.0)
                    if not raw.is_closed():
                        await raw.remove_listener(NOTIFY_CHANNEL, woken)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                down = is_unavailable(exc)
                if not down:  # a down database is the relay's own loop's to report
                    log.warning(
                        "outbox relay %s: LISTEN failed (%r); polling meanwhile", self.name, exc
                    )
                await pause(stop, retry_pause(failures, down, self.interval))

    async def _run(self, stop: asyncio.Event) -> None:
        failures = 0
        outage = OutageLog(log, f"outbox relay {self.name}")
        while not stop.is_set():
            self._wake.clear()  # before publishing: a commit during it wakes the next round
            try:
                published = await self.publish_pending()
                failures = 0
                outage.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                down = is_unavailable(exc)
                if down:
                    outage.failed(exc)
                else:
                    log.exception(
                        "outbox relay %s failed (attempt %d); retrying", self.name, failures
                    )
                published = 0
                await pause(stop, retry_pause(failures, down, self.interval))
                continue
            if published >= self.batch_size or self._wake.is_set():
                continue  # more to publish, or events committed while this round ran
            await pause_or_wake(stop, self._wake, self.interval)
        # Last sweep so a clean stop leaves nothing behind that was committed before it.
        try:
            while await self.publish_pending():
                pass
        except Exception:
            log.exception("outbox relay %s: final sweep failed", self.name)
