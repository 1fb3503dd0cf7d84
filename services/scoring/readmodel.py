"""The read model's epochs: following the log, and rebuilding from its beginning.

The worker's follower applies the upstream topics to the current epoch through an inbox
consumer named after that epoch (`<group>-e<n>`, also its consumer group on the bus), a
transaction per batch. A rebuild opens epoch n+1 and replays every topic from the beginning, up
to where each partition ended when it began, with that epoch's consumer (`InboxConsumer.replay`):
large fetches, each event through the same handlers as the follower's but into a `Fold` in
memory, the inbox rows of each fetch inserted in bulk while the next is read, then the epoch's
rows in bulk in one transaction (COPY on PostgreSQL) while its standings are computed from the
fold, and only then the group's offsets committed past what it read. Then, in one transaction, it
makes the epoch current and retires the old one, and answers. The follower sees the switch and
goes on with the new epoch's group from where the rebuild stopped, so nothing is skipped and
nothing is applied twice; it deletes the retired epoch's rows meanwhile (as many as the new
one's: no caller waits for that).
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, make_dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring import standings
from services.scoring.domain.figures import Facts
from services.scoring.handlers import Apply, Handlers, Row, prefetch
from services.scoring.models import (
    READ_MODEL,
    AllocationView,
    Epoch,
    EpochState,
    GrantView,
    PlanView,
    ProblemView,
    ProjectView,
    ReportView,
    Standing,
    inbox,
)
from shared.clock import today_in_shanghai
from shared.db import OutageLog, insert_many, is_unavailable, utcnow
from shared.errors import RuleViolation
from shared.heap import heap_frozen
from shared.inbox import Fold as FoldOne
from shared.inbox import Handler, InboxConsumer
from shared.regions import load_region_table
from shared.runtime import Runtime, count_outcomes, report_lag
from shared.service import HandlerFactory, ServiceDefinition
from shared.waiting import pause

log = logging.getLogger(__name__)

CURRENT, BUILDING, RETIRED, FAILED = (
    EpochState.CURRENT,
    EpochState.BUILDING,
    EpochState.RETIRED,
    EpochState.FAILED,
)
GROUP = "scoring-read-model"


@dataclass(frozen=True)
class Feed:
    """Where the read model comes from: the subscribed topics, each with its handlers' factory
    (called with the epoch), and the stem of the epochs' consumer groups."""

    subscribes: Mapping[str, HandlerFactory] = field(hash=False)
    group: str = GROUP

    @classmethod
    def of(cls, definition: ServiceDefinition, group: str = GROUP) -> Feed:
        """The feed a service definition subscribes to (a test's definition: its own topics)."""
        return cls(dict(definition.subscribes), group)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.subscribes)

    def handlers(self, epoch: int) -> dict[str, Handler]:
        """Every subscribed topic's handlers into `epoch`, by event type."""
        merged: dict[str, Handler] = {}
        for factory in self.subscribes.values():
            merged.update(factory(epoch))
        return merged

    def consumer_name(self, epoch: int) -> str:
        return f"{self.group}-e{epoch}"

    def rules(self) -> dict[str, Apply]:
        """Every subscribed event type's handler as a rule over `Rows`, for a rebuild's fold."""
        merged: dict[str, Apply] = {}
        for topic, factory in self.subscribes.items():
            if not isinstance(factory, Handlers):
                raise TypeError(f"the handlers of {topic} cannot fold: not scoring's Handlers")
            merged.update(factory.by_type)
        return merged


def _record_class(model: type[Any]) -> type[Any]:
    """A row of a fold: the model's columns as slots, each NULL until set (an ORM instance
    costs ten times as much to make and change, and a dict-backed object five times the memory,
    and a rebuild makes one per aggregate and month)."""
    columns = [(c.key, Any, None) for c in _table(model).columns]
    return make_dataclass(f"Folded{model.__name__}", columns, slots=True, eq=False, repr=False)


class Fold:
    """A rebuild's epoch in memory, as the handlers make and change it (`handlers.Rows`): per
    read-model table, its rows by primary key. `write` then inserts them in bulk."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self._rows: dict[type[Any], dict[tuple[Any, ...], Any]] = {m: {} for m in READ_MODEL}
        # every primary key has the epoch and at least one more column: itemgetter gives a tuple
        self._keys = {
            m: operator.itemgetter(*(c.key for c in _table(m).primary_key.columns))
            for m in READ_MODEL
        }
        self._records = {m: _record_class(m) for m in READ_MODEL}

    async def get(self, model: type[Row], key: dict[str, Any]) -> Row | None:
        return cast("Row | None", self._rows[model].get(self._keys[model](key)))

    def new(self, model: type[Row], **values: Any) -> Row:
        record = self._records[model](**values)
        self._rows[model][self._keys[model](values)] = record
        return cast(Row, record)

    def applying(self, rules: Mapping[str, Apply]) -> dict[str, FoldOne]:
        """The replay's folds: each event type's rule applied to this fold."""
        return {t: partial(rule, self) for t, rule in rules.items()}

    def facts(self) -> Facts:
        """The rows as the standings' fill reads them (the same attributes as the tables'
        rows), so a rebuild's fill need not read back what it has just written."""
        rows = {m: list(r.values()) for m, r in self._rows.items()}
        return Facts(
            projects=rows[ProjectView],
            plans=rows[PlanView],
            reports=rows[ReportView],
            problems=rows[ProblemView],
            allocations=rows[AllocationView],
            grants=rows[GrantView],
        )

    async def write(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Insert the rows in bulk, in one transaction."""
        async with sessions() as session, session.begin():
            for model, rows in self._rows.items():
                columns = [c.key for c in _table(model).columns]
                values = operator.attrgetter(*columns)
                await insert_many(
                    session, _table(model), columns, [values(r) for r in rows.values()]
                )


def _table(model: type[Any]) -> Any:
    return model.__table__


async def current_epoch(session: AsyncSession) -> int:
    number = await session.scalar(select(Epoch.number).where(Epoch.state == CURRENT))
    if number is None:
        raise RuntimeError("no current read-model epoch: run the migrations")
    return number


def consumer(runtime: Runtime, feed: Feed, epoch: int) -> InboxConsumer:
    c = InboxConsumer(
        feed.consumer_name(epoch),
        runtime.bus,
        runtime.session_factory,
        inbox,
        feed.topics,
        feed.handlers(epoch),
        max_attempts=runtime.settings.consumer_max_attempts,
        before_batch=prefetch(epoch),
        after_batch=standings.maintainer(runtime, epoch),  # kept while the epoch is current
    )
    c.on_outcome = count_outcomes(runtime.metrics)
    c.on_lag = report_lag(runtime.metrics)
    return c


async def _read_current(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await current_epoch(session)


async def follow(runtime: Runtime, feed: Feed, check_interval: float, stop: asyncio.Event) -> None:
    """The worker's job: apply the log to the current epoch until `stop`; when a rebuilt epoch
    takes over (checked every `check_interval` seconds), follow the new one. The rows of
    retired epochs are deleted meanwhile, beside the consumer (a rebuild leaves its
    predecessor's to this job)."""
    while not stop.is_set():
        epoch = await _read_current(runtime.session_factory)
        clearing = asyncio.create_task(_delete_retired_or_log(runtime.session_factory, feed, epoch))
        switched = asyncio.Event()

        async def watch(epoch: int = epoch, switched: asyncio.Event = switched) -> None:
            outage = OutageLog(log, "scoring: the epoch check")
            while not stop.is_set():
                await pause(stop, check_interval)
                try:
                    if await _read_current(runtime.session_factory) != epoch:
                        break
                    outage.succeeded()
                except Exception as exc:  # the database is away: keep following, ask again
                    if is_unavailable(exc):
                        outage.failed(exc)
                    else:
                        log.warning("scoring: cannot read the current epoch (%r)", exc)
            switched.set()

        watcher = asyncio.create_task(watch())
        try:
            await consumer(runtime, feed, epoch).run(switched)
        finally:
            watcher.cancel()
            if stop.is_set():
                clearing.cancel()  # rolled back: the next start deletes them
            await asyncio.gather(watcher, clearing, return_exceptions=True)
        if not stop.is_set():
            log.info("scoring: read-model epoch %d retired; following its successor", epoch)


def _idle(runtime: Runtime) -> float:
    return 0.2 if runtime.settings.kafka_bootstrap is None else 1.0


async def catch_up(runtime: Runtime, feed: Feed | None = None, allowance: float = 600.0) -> int:
    """Apply everything on the topics so far to the current epoch (the demo loader, before the
    worker follows the epoch). An epoch nothing was applied to yet (a fresh data dir) is filled
    as a rebuild fills its epoch (`replay`: the same handlers, folded in memory, written in
    bulk); one that has rows goes on batch by batch from where it stands."""
    feed = feed or Feed.of(runtime.definition)
    epoch = await _read_current(runtime.session_factory)
    if not await _applied_any(runtime.session_factory, feed, epoch):
        with heap_frozen():
            return await replay(runtime, feed, epoch, allowance)  # standings as a rebuild's
    read = await consumer(runtime, feed, epoch).catch_up(_idle(runtime), to_end=allowance)
    await complete_standings(runtime)  # what a backlog's batches left to the worker's job
    return read


async def _applied_any(sessions: async_sessionmaker[AsyncSession], feed: Feed, epoch: int) -> bool:
    """Whether the epoch's consumer has applied an event (each has its inbox row; an epoch's
    rows come from nothing else)."""
    async with sessions() as session:
        found = await session.scalar(
            select(inbox.c.event_id).where(inbox.c.consumer == feed.consumer_name(epoch)).limit(1)
        )
    return found is not None


async def rebuild(
    runtime: Runtime,
    actor: str,
    feed: Feed | None = None,
    force: bool = False,
    allowance: float = 3600.0,
) -> Epoch:
    """Replay every topic from its beginning up to where it ends now into a fresh epoch, then
    let that epoch take over. One rebuild at a time (the current epoch's row is the lock);
    `force` abandons one still marked as running (its process died): if that one is in fact
    alive, it finds itself abandoned when it tries to take over, and gives up. The feed is the
    runtime's definition's unless given. The retired epoch's rows are the worker's to delete
    (`follow`), once it follows the new one."""
    feed = feed or Feed.of(runtime.definition)
    sessions = runtime.session_factory
    async with sessions() as session, session.begin():
        # Every rebuild locks the one current row first, so two never both see "none running".
        await session.execute(select(Epoch.number).where(Epoch.state == CURRENT).with_for_update())
        busy = await session.scalar(select(Epoch).where(Epoch.state == BUILDING))
        if busy is not None and not force:
            raise RuleViolation(
                f"a rebuild (epoch {busy.number}) is running since {busy.started_at:%Y-%m-%d %H:%M}"
                " UTC; if its process died, rebuild with force",
                epoch=busy.number,
            )
        abandoned = busy.number if busy is not None else None
        if busy is not None:
            busy.state, busy.finished_at = FAILED, utcnow()
        number = (await session.scalar(select(func.max(Epoch.number))) or 0) + 1
        session.add(Epoch(number=number, state=BUILDING, started_at=utcnow(), started_by=actor))
    if abandoned is not None:
        await _delete_epoch(sessions, feed, abandoned)
    try:
        with heap_frozen():
            read = await replay(runtime, feed, number, allowance)
        async with sessions() as session, session.begin():
            await session.execute(
                select(Epoch.number).where(Epoch.state == CURRENT).with_for_update()
            )
            taken = await session.execute(
                update(Epoch)
                .where(Epoch.number == number, Epoch.state == BUILDING)
                .values(state=CURRENT, finished_at=utcnow(), events=read)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                raise RuleViolation(f"the rebuild of epoch {number} was abandoned by a forced one")
            await session.execute(
                update(Epoch)
                .where(Epoch.state == CURRENT, Epoch.number != number)
                .values(state=RETIRED, finished_at=utcnow())
            )
            built = await session.get(Epoch, number)
    except BaseException:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Epoch)
                .where(Epoch.number == number, Epoch.state == BUILDING)
                .values(state=FAILED, finished_at=utcnow())
            )
        await _delete_epoch(sessions, feed, number)
        raise
    assert built is not None
    log.info("scoring: read model rebuilt as epoch %d from %d messages", number, read)
    return built


async def replay(runtime: Runtime, feed: Feed, epoch: int, allowance: float) -> int:
    """Fold the whole log into `epoch` and write it (see the module's docstring) with its
    standings, every period computed from the fold's facts while its rows are copied in (its
    consumer does not keep them while it builds); how many messages were read."""
    fold = Fold(epoch)

    async def write(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with asyncio.TaskGroup() as both:  # one failing cancels the other
            both.create_task(fold.write(sessions))
            both.create_task(fill_standings(runtime, epoch, fold.facts()))

    return await consumer(runtime, feed, epoch).replay(
        fold.applying(feed.rules()), write, _idle(runtime), to_end=allowance
    )


async def complete_standings(runtime: Runtime) -> None:
    """The current epoch's standings, every kept period not up to date computed now."""
    regions = load_region_table(runtime.settings.regions_file)
    await standings.complete(
        runtime.session_factory, runtime.config.thresholds, regions, today_in_shanghai()
    )


async def fill_standings(runtime: Runtime, epoch: int, facts: Facts) -> None:
    """An epoch's standings, every period computed from its facts (as its fold has them)."""
    regions = load_region_table(runtime.settings.regions_file)
    await standings.fill(
        runtime.session_factory, epoch, runtime.config.thresholds, regions, facts=facts
    )


async def _delete_retired_or_log(
    sessions: async_sessionmaker[AsyncSession], feed: Feed, current: int
) -> None:
    try:
        await delete_retired(sessions, feed, current)
    except Exception as exc:  # kept for the next switch or start; nobody reads them
        log.warning("scoring: retired read-model epochs not deleted (%r); tried again later", exc)


async def delete_retired(
    sessions: async_sessionmaker[AsyncSession], feed: Feed, current: int
) -> None:
    """Delete the rows of every retired or failed epoch before `current` (the worker's job, as
    it follows `current`)."""
    async with sessions() as session:
        stale = (
            await session.scalars(
                select(Epoch.number).where(
                    Epoch.number < current, Epoch.state.in_((RETIRED, FAILED))
                )
            )
        ).all()
    for number in stale:
        await _delete_epoch(sessions, feed, number)


async def _delete_epoch(
    sessions: async_sessionmaker[AsyncSession], feed: Feed, number: int
) -> None:
    async with sessions() as session, session.begin():
        for model in READ_MODEL:
            await session.execute(delete(model).where(model.epoch == number))
        await session.execute(delete(Standing).where(Standing.epoch == number))
        await session.execute(delete(inbox).where(inbox.c.consumer == feed.consumer_name(number)))


async def epochs(session: AsyncSession) -> Sequence[Epoch]:
    return (await session.scalars(select(Epoch).order_by(Epoch.number.desc()).limit(10))).all()
