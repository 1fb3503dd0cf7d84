"""The outbox relay and the inbox consumer, on the embedded SQLite default and on PostgreSQL."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.base import OutgoingMessage
from shared.bus.inprocess import InProcessBus, partition_for
from shared.db import make_engine, make_session_factory, utcnow
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic
from shared.inbox import InboxConsumer, Outcome
from shared.outbox import NOTIFY_CHANNEL, OutboxRelay, advisory_lock_key, write_event
from shared.uow import UnitOfWork
from tests.conftest import create_database, need, wait_until
from tests.contract import backbone
from tests.contract.backbone import bump, counter, event, inbox, outbox
from tests.support.outcomes import each

TOPIC = "kuaiche.registry"
TYPE = "kuaiche.project.milestone_updated.v1"


@pytest.fixture(params=["sqlite", "postgres"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "postgres":
        url = await create_database(need("KUAICHE_TEST_POSTGRES_URL"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'backbone.sqlite3'}"
    engine = make_engine(url)
    await backbone.create_schema(engine)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def pg_sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(await create_database(need("KUAICHE_TEST_POSTGRES_URL")))
    await backbone.create_schema(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def published(bus: InProcessBus, topic: str = TOPIC) -> list[CloudEvent]:
    return [CloudEvent.from_json(m.value) for p in range(bus.partitions) for m in bus.log(topic, p)]


async def unpublished(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            or 0
        )


def uow(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    return UnitOfWork(sessions, outbox=outbox, source="kuaiche/test", topic=TOPIC)


async def test_events_commit_with_the_change_and_roll_back_with_it(sessions) -> None:
    from shared.events.catalogue.registry import MilestoneUpdated

    payload = MilestoneUpdated(
        project_id="p1", milestone_id="m1", name="n", planned_date="2020-01-01", actual_date=None
    )
    async with uow(sessions) as unit:
        await bump(unit.session, "changes")
        await unit.emit(payload, subject="p1", county="371602", actor="t", sequence=1)
    with pytest.raises(RuntimeError):
        async with uow(sessions) as unit:
            await bump(unit.session, "changes")
            await unit.emit(payload, subject="p1", county="371602", actor="t", sequence=2)
            raise RuntimeError("use case failed after emitting")
    async with sessions() as s:
        assert await counter(s, "changes") == 1
    assert await unpublished(sessions) == 1


async def test_use_cases_joining_one_unit_of_work_commit_together(sessions) -> None:
    """A caller may open the unit of work and hand it to several use cases (a demo loader):
    each joins the open transaction, their changes and events commit once, together; the
    commit hook runs once, after it."""
    from shared.events.catalogue.registry import MilestoneUpdated

    commits: list[int] = []

    async def use_case(unit: UnitOfWork, n: int) -> None:
        async with unit:  # as every use case opens its unit of work
            await bump(unit.session, "joined")
            payload = MilestoneUpdated(
                project_id="p1",
                milestone_id="m1",
                name="n",
                planned_date="2020-01-01",
                actual_date=None,
            )
            await unit.emit(payload, subject="p1", county="371602", actor="t", sequence=n)

    unit = UnitOfWork(
        sessions,
        outbox=outbox,
        source="kuaiche/test",
        topic=TOPIC,
        after_commit=lambda: commits.append(1),
    )
    async with unit:
        for n in (1, 2, 3):
            await use_case(unit, n)
    assert commits == [1]
    async with sessions() as s:
        assert await counter(s, "joined") == 3
    assert await unpublished(sessions) == 3
    async with unit:  # the same unit of work opens a new transaction afterwards
        await use_case(unit, 4)
    assert await unpublished(sessions) == 4


async def test_a_joined_use_case_that_fails_dooms_the_whole_unit_of_work(sessions) -> None:
    """Even when the caller catches the error and goes on, nothing of the transaction commits:
    a failed use case is never half-written."""

    async def failing(unit: UnitOfWork) -> None:
        async with unit:
            await bump(unit.session, "doomed")
            raise ValueError("a rule said no")

    unit = uow(sessions)
    with pytest.raises(RuntimeError, match="nothing of it was committed"):
        async with unit:
            await bump(unit.session, "doomed")
            with pytest.raises(ValueError):
                await failing(unit)
            await bump(unit.session, "doomed")
    async with sessions() as s:
        assert await counter(s, "doomed") == 0
    async with unit:  # and the next transaction starts clean
        await bump(unit.session, "doomed")
    async with sessions() as s:
        assert await counter(s, "doomed") == 1


async def test_a_same_thread_sqlite_engine_works_alike_and_fails_fast_on_a_held_lock(
    tmp_path: Path,
) -> None:
    """`make_engine(same_thread=True)` (the demo loaders'): the same results as the default
    engine; a second writer of the same database in the same loop cannot wait for the first
    (it would wait forever), so it fails at once instead of hanging."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'same.sqlite3'}", same_thread=True)
    await backbone.create_schema(engine)
    sessions = make_session_factory(engine)
    try:
        for n in range(1, 4):
            async with sessions() as s, s.begin():
                await bump(s, "same")
                await write_event(s, outbox, TOPIC, event("p1", n))
        bus = InProcessBus()
        relay = OutboxRelay("t", sessions, bus, outbox)
        assert await relay.publish_pending() == 3
        assert [e.sequence for e in await published(bus)] == [1, 2, 3]
        async with sessions() as s:
            assert await counter(s, "same") == 3
        async with sessions() as first, first.begin():
            await bump(first, "same")
            with pytest.raises(Exception, match="locked"):
                async with sessions() as second, second.begin():
                    await bump(second, "same")
    finally:
        await engine.dispose()


async def test_relay_publishes_in_order_once(sessions) -> None:
    bus = InProcessBus()
    async with sessions() as s, s.begin():
        for n in range(1, 31):
            await write_event(s, outbox, TOPIC, event("p1", n))
    relay = OutboxRelay("t", sessions, bus, outbox, batch_size=7)
    while await relay.publish_pending():
        pass
    assert [e.sequence for e in await published(bus)] == list(range(1, 31))
    assert await relay.publish_pending() == 0
    assert await unpublished(sessions) == 0


class RefusingBus(InProcessBus):
    """An in-process bus whose publishes fail while `refusing` is set (a broker away)."""

    refusing = True

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.refusing:
            raise ConnectionError("no broker")
        await super().publish(messages)


async def test_rows_a_failed_publish_took_stay_unpublished(sessions) -> None:
    """The relay takes its rows and marks them in one statement before publishing: a publish
    that fails must leave them unpublished, to go out, in order, on the next round."""
    bus = RefusingBus()
    async with sessions() as s, s.begin():
        for n in range(1, 6):
            await write_event(s, outbox, TOPIC, event("p1", n))
    relay = OutboxRelay("t", sessions, bus, outbox)
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert await unpublished(sessions) == 5
    bus.refusing = False
    assert await relay.publish_pending() == 5
    assert [e.sequence for e in await published(bus)] == [1, 2, 3, 4, 5]
    assert await unpublished(sessions) == 0


async def test_a_transaction_that_commits_late_is_not_skipped(pg_sessions) -> None:
    """Row ids are taken at insert, visible at commit: a lower id can appear after a higher one
    was published. A relay paging by "last id seen" would skip it; ours must not. (PostgreSQL
    only: SQLite serialises writers with BEGIN IMMEDIATE, so commits cannot interleave there.)"""
    sessions = pg_sessions
    bus = InProcessBus()
    relay = OutboxRelay("t", sessions, bus, outbox)
    late = sessions()
    await late.begin()
    await write_event(late, outbox, TOPIC, event("p-late", 1))  # takes the lower id, not committed
    async with sessions() as s, s.begin():
        await write_event(s, outbox, TOPIC, event("p-early", 1))  # higher id, committed first
    assert await relay.publish_pending() == 1
    await late.commit()
    await late.close()
    assert await relay.publish_pending() == 1
    assert sorted(e.subject for e in await published(bus)) == ["p-early", "p-late"]


async def test_two_relays_never_publish_a_row_twice_nor_out_of_order(sessions) -> None:
    bus = InProcessBus()
    async with sessions() as s, s.begin():
        for n in range(1, 201):
            await write_event(s, outbox, TOPIC, event(f"p{n % 5}", n))
    relays = [OutboxRelay("t", sessions, bus, outbox, batch_size=10) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> None:
        while await unpublished(sessions):
            await relay.publish_pending()
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(r) for r in relays))
    events = await published(bus)
    assert len(events) == 200 == len({e.id for e in events})
    for key in range(5):
        sequences = [e.sequence for e in events if e.subject == f"p{key}"]
        assert sequences == sorted(sequences)


async def test_a_relay_round_tries_the_lock_in_the_statement_that_takes_the_batch(
    pg_sessions,
) -> None:
    """On PostgreSQL one relay at a time publishes, under an advisory lock: a round tries it in
    the UPDATE that takes the batch (one statement, not a SELECT before it), and while another
    relay holds the lock, takes nothing."""
    sessions = pg_sessions
    bus = InProcessBus()
    async with sessions() as s, s.begin():
        await write_event(s, outbox, TOPIC, event("p1", 1))
    relay = OutboxRelay("t", sessions, bus, outbox)
    async with sessions() as other, other.begin():
        await other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_lock_key("t")})
        assert await relay.publish_pending() == 0
        assert await unpublished(sessions) == 1
    engine = sessions.kw["bind"]
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa_event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        assert await relay.publish_pending() == 1
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", note)
    assert len(statements) == 1, statements
    assert (
        statements[0].startswith("UPDATE outbox") and "pg_try_advisory_xact_lock" in statements[0]
    )
    assert await unpublished(sessions) == 0
    assert [e.subject for e in await published(bus)] == ["p1"]


# ---------------------------------------------------------------- inbox
def consumer(sessions, bus, handler, max_attempts: int = 3) -> InboxConsumer:
    return InboxConsumer(
        "test-consumer",
        bus,
        sessions,
        inbox,
        [TOPIC],
        {TYPE: handler},
        max_attempts=max_attempts,
        retry_backoff=0,
    )


async def publish(bus: InProcessBus, *events: CloudEvent) -> None:
    await bus.publish([OutgoingMessage(TOPIC, e.partitionkey, e.to_json()) for e in events])


async def test_a_redelivered_event_changes_nothing(sessions) -> None:
    bus = InProcessBus()

    async def handler(session, ev, payload):
        await bump(session, ev.subject)

    c = consumer(sessions, bus, handler)
    e = event("p1")
    await publish(bus, e, e)  # the same event twice, as after a crash before the commit
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    outcomes = [await c.handle(m) for m in await reader.fetch(timeout=0)]
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE]
    async with sessions() as s:
        assert await counter(s, "p1") == 1


async def test_handler_effect_and_inbox_row_roll_back_together(sessions) -> None:
    bus = InProcessBus()
    calls = {"n": 0}

    async def flaky(session, ev, payload):
        calls["n"] += 1
        await bump(session, ev.subject)
        if calls["n"] == 1:
            raise ValueError("transient")

    c = consumer(sessions, bus, flaky)
    await publish(bus, event("p1"))
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    (message,) = await reader.fetch(timeout=0)
    assert await c.handle(message) == Outcome.APPLIED
    async with sessions() as s:
        assert await counter(s, "p1") == 1  # the failed attempt's bump rolled back


async def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_consumer_goes_on(
    sessions,
) -> None:
    bus = InProcessBus()

    async def handler(session, ev, payload):
        if ev.subject == "poison":
            raise ValueError("cannot apply this one")
        await bump(session, ev.subject)

    c = consumer(sessions, bus, handler, max_attempts=2)
    await publish(bus, event("poison"), event("good"))
    from shared.bus.base import OutgoingMessage

    await bus.publish([OutgoingMessage(TOPIC, "x", b"not json at all")])
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    dlq = dead_letter_topic(TOPIC)

    async def dead_lettered() -> bool:
        return len([m for p in range(bus.partitions) for m in bus.log(dlq, p)]) == 2

    async def good_applied() -> bool:
        async with sessions() as s:
            return await counter(s, "good") == 1

    await wait_until(dead_lettered, what="two messages dead-lettered")
    await wait_until(good_applied, what="the good event applied")
    stop.set()
    await task
    dead = [m for p in range(bus.partitions) for m in bus.log(dlq, p)]
    assert len(dead) == 2
    errors = {m.header("dlq.error").decode() for m in dead}
    assert any("cannot apply this one" in e for e in errors)
    assert any("not a CloudEvent" in e for e in errors)
    assert all(m.header("dlq.consumer") == b"test-consumer" for m in dead)
    # Every message, poison included, was committed: a restart does not retry them.
    assert sum(bus.committed("test-consumer", TOPIC, p) for p in range(bus.partitions)) == 3


async def sequence(session: AsyncSession, name: str) -> None:
    """Record `name` with its place in the commit order (a rolled-back try leaves nothing)."""
    place = await session.scalar(select(func.count()).select_from(backbone.counters))
    await session.execute(backbone.counters.insert().values(name=name, value=int(place or 0) + 1))


async def committed_order(sessions) -> list[str]:
    async with sessions() as s:
        rows = await s.execute(select(backbone.counters.c.name).order_by(backbone.counters.c.value))
        return [name for (name,) in rows]


async def test_a_batch_is_applied_in_one_transaction_and_skips_what_was_applied(
    sessions,
) -> None:
    bus = InProcessBus()
    seen_in: list[AsyncSession] = []  # kept alive, so two sessions never share an id

    async def handler(session, ev, payload):
        seen_in.append(session)
        await sequence(session, payload.milestone_id)

    outcomes: list[Outcome] = []
    c = consumer(sessions, bus, handler)
    c.on_outcome = each(outcomes)
    first, second, third = event("p1", 1), event("p1", 2), event("p1", 3)
    await publish(bus, first)
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    await c.process_batch(reader, await reader.fetch(timeout=0))  # applied before
    seen_in.clear()
    outcomes.clear()
    await publish(bus, first, second, third, second)  # a redelivery, and a duplicate in the batch
    await c.process_batch(reader, await reader.fetch(timeout=0))
    assert Counter(outcomes) == {Outcome.DUPLICATE: 2, Outcome.APPLIED: 2}  # told per outcome
    assert len(seen_in) == 2 and seen_in[0] is seen_in[1]  # one session, one transaction
    assert await committed_order(sessions) == ["m1", "m2", "m3"]
    assert bus.committed("test-consumer", TOPIC, partition_for(first.partitionkey)) == 5


async def test_a_batch_checks_and_records_its_inbox_rows_in_one_statement(sessions) -> None:
    """A batch costs the inbox one round trip: the rows are inserted in one statement that
    skips (and so names) the events applied before, with no SELECT ahead of it."""
    bus = InProcessBus()

    async def handler(session, ev, payload):
        await sequence(session, payload.milestone_id)

    outcomes: list[Outcome] = []
    c = consumer(sessions, bus, handler)
    c.on_outcome = each(outcomes)
    first, second, third = event("p1", 1), event("p1", 2), event("p1", 3)
    await publish(bus, first)
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    await c.process_batch(reader, await reader.fetch(timeout=0))
    outcomes.clear()
    await publish(bus, first, second, third, second)
    batch = await reader.fetch(timeout=0)
    engine = sessions.kw["bind"]
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa_event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        await c.process_batch(reader, batch)
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", note)
    assert Counter(outcomes) == {Outcome.DUPLICATE: 2, Outcome.APPLIED: 2}  # told per outcome
    on_inbox = [s for s in statements if "inbox" in s]
    assert len(on_inbox) == 1, on_inbox
    assert on_inbox[0].startswith("INSERT INTO inbox") and "ON CONFLICT" in on_inbox[0]
    assert await committed_order(sessions) == ["m1", "m2", "m3"]


async def test_an_event_another_consumer_is_applying_is_a_duplicate_in_the_batch(
    pg_sessions,
) -> None:
    """Two members applying the same event at once (a rebalance): the batch's inbox insert
    waits for the other transaction and, once that commits, counts the event a duplicate,
    with its handler not run and no fall-back to one event at a time."""
    bus = InProcessBus()
    applied: list[str] = []

    async def handler(session, ev, payload):
        applied.append(payload.milestone_id)
        await sequence(session, payload.milestone_id)

    outcomes: list[Outcome] = []
    c = consumer(pg_sessions, bus, handler)
    c.on_outcome = each(outcomes)
    alone: list[Any] = []
    handle = c.handle

    async def noted_handle(message):  # type: ignore[no-untyped-def]
        alone.append(message)
        return await handle(message)

    c.handle = noted_handle  # type: ignore[method-assign]
    first, second = event("p1", 1), event("p1", 2)
    await publish(bus, first, second)
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    batch = await reader.fetch(timeout=0)
    async with pg_sessions() as other, other.begin():
        await other.execute(
            inbox.insert().values(
                consumer="test-consumer",
                event_id=first.id,
                event_type=first.type,
                topic=TOPIC,
                partition=0,
                offset=0,
                processed_at=utcnow(),
            )
        )
        applying = asyncio.create_task(c.process_batch(reader, batch))

        async def waiting_on_the_row() -> bool:
            async with pg_sessions() as s:
                waiting = await s.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                )
                return bool(waiting)

        await wait_until(waiting_on_the_row, timeout=10, what="the batch waiting on the row")
        assert not applying.done()
    await applying
    assert Counter(outcomes) == {Outcome.DUPLICATE: 1, Outcome.APPLIED: 1}
    assert applied == ["m2"] and alone == []


async def test_the_next_batch_is_applied_while_the_last_ones_offsets_are_committed(
    sessions,
) -> None:
    """`run` does not wait for a batch's offset commit (a round trip to the broker) before
    applying the next batch; the commits still go in order, and a stop waits for the last."""
    bus = InProcessBus()

    async def handler(session, ev, payload):
        await sequence(session, payload.milestone_id)

    reader = bus.consumer("test-consumer", [TOPIC])
    released = asyncio.Event()
    calls: list[list[tuple[int, int]]] = []
    commit_all = reader.commit_all

    async def held(messages):  # type: ignore[no-untyped-def]
        calls.append(sorted((m.partition, m.offset) for m in messages))
        if len(calls) == 1:
            await released.wait()  # the broker slow to answer the first commit
        await commit_all(messages)

    reader.commit_all = held  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(consumer(sessions, bus, handler).run(stop, reader))
    await publish(bus, event("p1", 1))
    await wait_until(lambda: _true(len(calls) == 1), what="the first batch's commit begun")
    await publish(bus, event("p1", 2))

    async def second_applied() -> bool:
        return await committed_order(sessions) == ["m1", "m2"]

    await wait_until(second_applied, what="the second batch applied meanwhile")
    assert bus.committed("test-consumer", TOPIC, partition_for("p1")) == 0
    released.set()
    stop.set()
    await task
    assert calls == [[(partition_for("p1"), 0)], [(partition_for("p1"), 1)]]
    assert bus.committed("test-consumer", TOPIC, partition_for("p1")) == 2


async def _true(value: bool) -> bool:
    return value


async def test_a_batch_commits_its_partitions_in_one_request(sessions) -> None:
    """After a batch, the last message of each partition it read is committed with one
    `commit_all` (one request to Kafka, not one per partition)."""
    bus = InProcessBus()

    async def handler(session, ev, payload):
        await sequence(session, payload.milestone_id)

    keys = {partition_for(f"p{n}"): f"p{n}" for n in range(30)}  # one key per partition
    assert len(keys) == bus.partitions
    events = [event(key, n) for n, key in enumerate(sorted(keys.values()), start=1)]
    await publish(bus, *events)
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    calls: list[list[tuple[int, int]]] = []
    commit_all = reader.commit_all

    async def noted(messages):  # type: ignore[no-untyped-def]
        calls.append(sorted((m.partition, m.offset) for m in messages))
        await commit_all(messages)

    reader.commit_all = noted  # type: ignore[method-assign]
    await consumer(sessions, bus, handler).process_batch(reader, await reader.fetch(timeout=0))
    assert calls == [[(p, 0) for p in range(bus.partitions)]]
    assert all(bus.committed("test-consumer", TOPIC, p) == 1 for p in range(bus.partitions))


async def test_an_event_failing_in_a_batch_goes_alone_and_keeps_the_order(sessions) -> None:
    """Events of one key: the third fails once and the fifth is poison. What came before the
    third is applied together, the third alone (retried), the poison dead-lettered, and the
    rest together again: the commit order is the key's order."""
    bus = InProcessBus()
    failed: list[str] = []

    async def handler(session, ev, payload):
        if payload.milestone_id == "m3" and not failed:
            failed.append("m3")
            raise ValueError("transient")
        await sequence(session, payload.milestone_id)

    c = consumer(sessions, bus, handler)
    events = [event("p1", n) for n in range(1, 8)]
    from shared.bus.base import OutgoingMessage

    await publish(bus, *events[:4])
    await bus.publish([OutgoingMessage(TOPIC, events[0].partitionkey, b"{not json")])
    await publish(bus, *events[4:])
    reader = bus.consumer("test-consumer", [TOPIC])
    await reader.start()
    batch = await reader.fetch(timeout=0)
    assert len(batch) == 8
    await c.process_batch(reader, batch)
    assert failed == ["m3"]
    assert await committed_order(sessions) == [f"m{n}" for n in range(1, 8)]
    assert (
        len([m for p in range(bus.partitions) for m in bus.log(dead_letter_topic(TOPIC), p)]) == 1
    )
    assert bus.committed("test-consumer", TOPIC, partition_for(events[0].partitionkey)) == 8


async def test_a_commit_in_another_process_wakes_the_relay_on_postgres(pg_sessions) -> None:
    """The relay polls once an hour here, so only the NOTIFY sent at commit can wake it; an
    engine of its own stands for another process (an API replica writing, the worker
    relaying). A rolled-back write wakes nobody and publishes nothing."""
    bus = InProcessBus()
    relay = OutboxRelay("t", pg_sessions, bus, outbox, interval=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    other = make_engine(pg_sessions.kw["bind"].url.render_as_string(hide_password=False))
    writer = make_session_factory(other)
    try:
        await asyncio.sleep(0.5)  # the relay has looked once and is waiting
        with pytest.raises(RuntimeError):
            async with writer() as s, s.begin():
                await write_event(s, outbox, TOPIC, event("p1", 1))
                raise RuntimeError("rolled back")
        for n in (2, 3):
            async with writer() as s, s.begin():
                await write_event(s, outbox, TOPIC, event("p1", n))

            async def out(n: int = n) -> bool:
                return [e.sequence for e in await published(bus)] == list(range(2, n + 1))

            await wait_until(out, timeout=5, what=f"event {n} published without a poll")
    finally:
        stop.set()
        await task
        await other.dispose()


async def test_the_notify_rides_on_the_first_insert_of_a_transaction(pg_sessions) -> None:
    """On PostgreSQL a transaction's events cost one statement each: the NOTIFY that wakes
    relays elsewhere is sent by the first INSERT (pg_notify in its RETURNING), not by a
    statement of its own, and only once per transaction."""
    engine = pg_sessions.kw["bind"]
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async with engine.connect() as listener:
        raw: Any = (await listener.get_raw_connection()).driver_connection
        heard: list[str] = []
        await raw.add_listener(NOTIFY_CHANNEL, lambda *args: heard.append(args[2]))
        sa_event.listen(engine.sync_engine, "before_cursor_execute", note)
        try:
            async with pg_sessions() as s, s.begin():
                await write_event(s, outbox, TOPIC, event("p1", 1))
                await write_event(s, outbox, TOPIC, event("p1", 2))
        finally:
            sa_event.remove(engine.sync_engine, "before_cursor_execute", note)

        async def notified() -> bool:
            await listener.execute(text("SELECT 1"))  # lets the notification in
            return bool(heard)

        await wait_until(notified, timeout=5, what="the NOTIFY of the commit")
    assert len(statements) == 2, statements
    assert all(s.startswith("INSERT INTO outbox") for s in statements), statements
    assert "pg_notify" in statements[0] and "pg_notify" not in statements[1], statements
    assert heard == [NOTIFY_CHANNEL]


async def test_a_replay_folds_each_event_once_then_writes_then_commits(sessions) -> None:
    """A rebuild's replay: every message up to the end is read; each event is folded once, in
    order per key; its inbox row is written; poison and a failing fold are dead-lettered; and
    only after everything is written are the offsets committed, so the consumer goes on after."""
    from shared.bus.base import OutgoingMessage

    bus = InProcessBus()
    a1, a2, b1, boom = event("a", 1), event("a", 2), event("b", 1), event("boom", 1)
    await publish(bus, a1, a2, b1, a1)  # a1 again: a duplicate
    await bus.publish([OutgoingMessage(TOPIC, "x", b"not json at all")])
    await publish(bus, boom)
    folded: list[str] = []

    async def fold(ev: CloudEvent, payload: object) -> None:
        assert gc.get_freeze_count() > 0  # the process's older objects left alone meanwhile
        if ev.subject == "boom":
            raise ValueError("cannot fold this one")
        folded.append(ev.id)

    committed_at_write: list[int] = []

    async def write(sessions_: async_sessionmaker[AsyncSession]) -> None:
        committed_at_write.append(
            sum(bus.committed("test-consumer", TOPIC, p) for p in range(bus.partitions))
        )
        async with sessions_() as s, s.begin():
            for _ in folded:
                await bump(s, "written")

    async def nothing(session, ev, payload):
        raise AssertionError("a replay runs no handler")

    c = consumer(sessions, bus, nothing)
    outcomes: list[Outcome] = []
    c.on_outcome = each(outcomes)
    assert await c.replay({TYPE: fold}, write, 0.05, to_end=10) == 6

    assert sorted(folded) == sorted([a1.id, a2.id, b1.id])
    assert folded.index(a1.id) < folded.index(a2.id)
    assert sorted(outcomes) == sorted(
        [Outcome.APPLIED] * 3 + [Outcome.DUPLICATE] + [Outcome.DEAD_LETTERED] * 2
    )
    async with sessions() as s:
        assert await counter(s, "written") == 3
        ids = set(
            await s.scalars(select(inbox.c.event_id).where(inbox.c.consumer == "test-consumer"))
        )
    assert ids == {a1.id, a2.id, b1.id}
    dead = [m for p in range(bus.partitions) for m in bus.log(dead_letter_topic(TOPIC), p)]
    errors = sorted(m.header("dlq.error").decode()[:40] for m in dead)
    assert len(errors) == 2 and "cannot fold this one" in errors[0] + errors[1]
    assert committed_at_write == [0]  # nothing committed before the write
    assert gc.get_freeze_count() == 0  # and the collector goes over them again after
    # ... and everything after it: the consumer goes on with what comes next, and only that
    c.handlers = {TYPE: lambda session, ev, payload: bump(session, "after")}
    await publish(bus, event("c", 1))
    assert await c.catch_up(0.05) == 1


async def test_a_bulk_insert_is_part_of_its_transaction(sessions) -> None:
    """`insert_many` (COPY on PostgreSQL) commits and rolls back with the transaction it is in,
    whether or not a statement ran before it."""
    from shared.db import insert_many

    with pytest.raises(RuntimeError):
        async with sessions() as s, s.begin():
            await insert_many(s, backbone.counters, ("name", "value"), [("lost", 1), ("gone", 2)])
            raise RuntimeError("roll back")
    async with sessions() as s, s.begin():
        await bump(s, "before")
        await insert_many(s, backbone.counters, ("name", "value"), [("kept", 3)])
    async with sessions() as s:
        assert (await counter(s, "lost"), await counter(s, "gone")) == (0, 0)
        assert (await counter(s, "before"), await counter(s, "kept")) == (1, 3)


async def test_a_bulk_insert_stores_json_as_an_insert_does(sessions) -> None:
    """COPY runs no column type's conversion: `insert_many` serialises JSON columns itself,
    to the text an INSERT stores (None as JSON null, or as NULL where the column says so)."""
    from sqlalchemy import Text, cast, insert, select

    from shared.db import insert_many

    docs = backbone.documents
    rows = [
        ("a", {"figures": {"rate": "81.6", "n": 3}, "等级": "好"}, [[1, "9.5"]]),
        ("b", None, None),
        ("c", [], {"x": None}),
    ]
    async with sessions() as s, s.begin():
        await insert_many(s, docs, ("name", "body", "note"), rows)
        await s.execute(
            insert(docs), [{"name": f"{n}-insert", "body": b, "note": t} for n, b, t in rows]
        )
    async with sessions() as s:
        found = (await s.execute(select(docs).order_by(docs.c.name))).all()
        text = {
            name: (body, note)
            for name, body, note in (
                await s.execute(
                    select(docs.c.name, cast(docs.c.body, Text), cast(docs.c.note, Text))
                )
            ).all()
        }
    assert [tuple(r) for r in found if "-" not in r.name] == rows
    for name, *_ in rows:
        assert text[name] == text[f"{name}-insert"]
    assert text["b"] == ("null", None)
