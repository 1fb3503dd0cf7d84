"""Standings: each period's figures and scores per division, kept as the facts change instead of
computed at every read (issue 13: a ranking or a scorecard is then a SELECT).

What is kept. For the current epoch, every month up to today's (Asia/Shanghai) of every year a
fact is dated in: one row per division with its figures, its points per indicator, total, rank
and tier under the scheme in effect. A figure never changes with the date alone (it is year to
date at the period's end, by the business dates), so the clock only decides which months exist.

How it stays right.
- The live consumer: a batch's inserts and updates of read-model rows mark the divisions and
  years they touch (mapper events on old and new values, `marks.py`: no handler has to remember it);
  at the batch's end, in its transaction, `refresh` recomputes those divisions for those periods
  and re-scores the periods. A project on the key list touches every kept year (it counts in
  every period), another one the years of its dates, its plans and those it is unstarted in; a
  plan, report, allocation or grant its year; a problem its years reported and flagged overdue.
  A year not kept yet is computed for every division. Only the current epoch's batches refresh,
  one at a time (the epoch's row is locked). A batch past `BATCH_BUDGET`, or of a busy consumer
  (`BUSY_SECONDS`), marks its periods out of date instead.
- A rebuild fills every period at its end, before its epoch takes over (`fill`).
- The worker's `keep_current` job computes what is out of date once the burst is over, adds a
  month when it begins, and refills rows of other thresholds or divisions.
- A read uses the rows only if every division has one computed with the reader's thresholds and
  divisions (`basis`); the points only if scored by the scheme asked for (else it scores the kept
  figures). Else it computes from the facts, as before: a kept row can be missing, never wrong.

Writes that bypass the ORM are not seen here; tests compare the kept standings with a
computation from scratch after random histories (tests/api/scoring/equivalence.py)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import hashlib
import logging
import time
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    ColumnElement,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.domain.exposure import Thresholds
from services.scoring.domain.figures import Facts
from services.scoring.domain.periods import Period
from services.scoring.domain.standings import (
    Kept,
    Marks,
    SchemesInEffect,
    compute_rows,
    fact_years,
    months,
)
from services.scoring.marks import MARKS
from services.scoring.models import (
    AllocationView,
    Epoch,
    EpochState,
    GrantView,
    PlanView,
    ProblemView,
    ProjectView,
    ReportView,
    Scheme,
    Standing,
)
from shared.clock import today_in_shanghai
from shared.db import OutageLog, insert_many, is_unavailable
from shared.regions import RegionTable, load_region_table
from shared.runtime import Runtime
from shared.waiting import pause

log = logging.getLogger(__name__)

OUT_OF_DATE = "out-of-date"  # the basis of a row to compute again (no reader's basis)
# Periods × projects of the divisions a batch computes (30 µs each here); past it: out of date.
BATCH_BUDGET = 400
# A batch less than this many seconds after the last one (a busy consumer: a backlog, a burst of
# writes) computes nothing: it leaves its periods out of date for the job, which waits for the
# burst to end; a consumer applying now and then keeps the standings in each batch.
BUSY_SECONDS = 1.0
# when this process's last batch refreshed, and last left periods out of date (time.monotonic())
_LAST_REFRESH, _LAST_DEFERRED = [float("-inf")], [float("-inf")]
# Facts of up to this many projects are assessed on the event loop, a period at a time (about 2
# µs a project on the 2-core bench machine: at most some 10 ms between the loop's other work);
# more in a thread (`_compute`).
ON_LOOP_PROJECTS = 5_000


# ---- what is kept: the basis, the periods, the rows' encoding
def basis(thresholds: Thresholds, regions: RegionTable) -> str:
    """The settings the figures were computed with: the exposure thresholds, the divisions."""
    text = f"{thresholds!r}|{','.join(regions.codes)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def in_effect(period: Period | BindParameter[str], *columns: Any) -> Select[Any]:
    """The stored scheme in effect for `period` (or a bound YYYY-MM), its `columns` or the entity:
    the latest `effective_from` not after it, the last set winning a tie (none: the default)."""
    schemes, after = Scheme.__table__, str(period) if isinstance(period, Period) else period
    return (
        select(*(columns or (Scheme,)))
        .where(schemes.c.effective_from <= after)
        .order_by(schemes.c.effective_from.desc(), schemes.c.set_at.desc())
        .limit(1)
    )


@functools.cache
def _kept_statement() -> Select[Any]:
    """`read`'s statement, built once, Core alone (no ORM compilation per read): the period's rows
    in the current epoch with the stored scheme in effect, the JSON columns as the text stored."""
    table, epochs, schemes = Standing.__table__, Epoch.__table__, Scheme.__table__
    period = bindparam("period", type_=String)
    found = in_effect(period, schemes.c.version, schemes.c.revision).subquery()
    columns = [cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c for c in table.c]
    return (
        select(*columns, found.c.version.label("in_effect"), found.c.revision)
        .select_from(table)
        .join(epochs, epochs.c.number == table.c.epoch)
        .outerjoin(found, true())
        .where(
            epochs.c.state == EpochState.CURRENT,
            table.c.year == bindparam("year"),
            table.c.month == bindparam("month"),
        )
    )


async def read(
    session: AsyncSession, period: Period, thresholds: Thresholds, regions: RegionTable
) -> Kept | None:
    """The current epoch's kept standings of `period` and the scheme in effect (one
    statement), or None when they are not kept or were computed with other thresholds or
    divisions."""
    params = {"period": str(period), "year": period.year, "month": period.month}
    connection = await session.connection()  # Core: the rows, no ORM execution around them
    rows = (await connection.execute(_kept_statement(), params)).all()
    by_county = {r.county: r for r in rows}
    wanted = basis(thresholds, regions)
    if set(by_county) != set(regions.codes) or any(r.basis != wanted for r in rows):
        return None
    first = rows[0]
    return Kept(
        rows={c: by_county[c] for c in regions.codes},
        scheme=None if first.in_effect is None else (first.in_effect, first.revision),
    )


# ---- keeping them
async def _facts(session: AsyncSession, epoch: int, counties: Sequence[str] | None) -> Facts:
    """The epoch's facts, of `counties` only if given (plans and reports by their projects)."""

    async def rows(model: Any, by_project: bool = False) -> Sequence[Any]:
        table = model.__table__
        query = select(table).where(table.c.epoch == epoch)
        if counties is not None:
            if by_project:
                projects = ProjectView.__table__
                query = query.where(
                    table.c.project_id.in_(
                        select(projects.c.project_id).where(
                            projects.c.epoch == epoch, projects.c.county.in_(counties)
                        )
                    )
                )
            else:
                query = query.where(table.c.county.in_(counties))
        record = _record(table)
        return [record._make(r) for r in (await session.execute(query)).all()]

    return Facts(
        projects=await rows(ProjectView),
        plans=await rows(PlanView, by_project=True),
        reports=await rows(ReportView, by_project=True),
        problems=await rows(ProblemView),
        allocations=await rows(AllocationView),
        grants=await rows(GrantView),
    )


@functools.cache  # an assessment reads a fact per period: a Row's attribute costs 10× a tuple's
def _record(table: Any) -> Any:
    return collections.namedtuple(f"{table.name}_fact", table.c.keys())


async def _rewrite(
    session: AsyncSession,
    epoch: int,
    wanted: Mapping[Period, set[str]],
    thresholds: Thresholds,
    regions: RegionTable,
    budget: int | None = None,
    facts: Facts | None = None,
    empty: bool = False,
) -> int:
    """Recompute the figures of `wanted`'s divisions in each of its periods (every division
    whose row is missing or of another basis too), re-score those periods, write what changed.
    Past `budget` (periods × the projects of the divisions to compute: what an assessment goes
    through), mark the periods' rows out of date instead (`keep_current` computes them soon; a
    read computes them meanwhile). `facts`: the epoch's, all of them, if the caller has read
    them already; `empty`: the epoch has no rows in `wanted`'s periods (the caller has just
    deleted them), so none is read. How many rows it wrote."""
    if not wanted:
        return 0
    table = Standing.__table__
    keys = [] if empty else [(p.year, p.month) for p in wanted]
    bases: dict[Period, dict[str, str]] = {p: {} for p in wanted}  # the rows there are, light
    for chunk in range(0, len(keys), 200):
        found = await session.execute(
            select(table.c.year, table.c.month, table.c.county, table.c.basis).where(
                table.c.epoch == epoch,
                tuple_(table.c.year, table.c.month).in_(keys[chunk : chunk + 200]),
            )
        )
        for year, month, county, row_basis in found.all():
            bases[Period(year, month)][county] = row_basis
    own = basis(thresholds, regions)
    codes = list(regions.codes)
    needed: dict[Period, set[str]] = {}
    for period, counties in wanted.items():
        there = bases[period]
        stale = {c for c in codes if there.get(c) != own}
        needed[period] = (set(counties) & set(codes)) | stale
    everyone = set().union(*needed.values())
    if budget is not None:
        projects = ProjectView.__table__
        count = await session.scalar(
            select(func.count()).where(
                projects.c.epoch == epoch, projects.c.county.in_(sorted(everyone))
            )
        )
        if len(wanted) * (count or 0) > budget:
            _LAST_DEFERRED[0] = time.monotonic()
            return await _out_of_date(session, epoch, bases, codes)
    existing: dict[Period, dict[str, Standing]] = {p: {} for p in wanted}
    for chunk in range(0, len(keys), 200):
        rows_found = await session.scalars(
            select(Standing).where(
                Standing.epoch == epoch,
                tuple_(table.c.year, table.c.month).in_(keys[chunk : chunk + 200]),
            )
        )
        for row in rows_found:
            existing[Period(row.year, row.month)][row.county] = row
    if facts is None:
        facts = await _facts(session, epoch, None if everyone >= set(codes) else sorted(everyone))
    schemes = SchemesInEffect((await session.scalars(select(Scheme))).all())
    kept_figures = {
        p: {c: r.figures for c, r in existing[p].items() if c not in needed[p]} for p in wanted
    }
    computed = await _compute(facts, kept_figures, needed, codes, own, thresholds, schemes)
    written = 0
    new: list[dict[str, Any]] = []  # inserted in bulk (a fill: every row)
    for period, values_by_county in computed.items():
        rows = existing[period]
        for county, values in values_by_county.items():
            kept = rows.get(county)
            if kept is None:
                key = {"epoch": epoch, "year": period.year, "month": period.month}
                new.append(key | {"county": county} | values)
                continue
            if all(getattr(kept, k) == v for k, v in values.items()):
                continue
            for k, v in values.items():
                setattr(kept, k, v)
            written += 1
    if new:
        columns = list(new[0])
        records = [tuple(r[c] for c in columns) for r in new]
        await insert_many(session, typing.cast(Table, table), columns, records)
    await session.flush()
    return written + len(new)


async def _compute(
    facts: Facts, kept: Mapping[Period, Any], needed: Mapping[Period, set[str]], *how: Any
) -> dict[Period, dict[str, dict[str, Any]]]:
    """`compute_rows(facts, kept, needed, *how)` with the event loop going on meanwhile (the
    consumer, the API in the same process, a rebuild's COPYs). A city's facts: on the loop, a
    period at a time, the loop's other work in between; a thread would hold the interpreter's
    lock while the loop waits for it after every answer from the database (a rebuild's COPYs
    and fill took 45 ms longer on bench row 2). A province's (over `ON_LOOP_PROJECTS`): in a
    thread."""
    if len(facts.projects) > ON_LOOP_PROJECTS:
        return await asyncio.to_thread(compute_rows, facts, kept, needed, *how)
    computed: dict[Period, dict[str, dict[str, Any]]] = {}
    for period in sorted(needed):
        computed |= compute_rows(facts, kept, {period: needed[period]}, *how)
        await asyncio.sleep(0)
    return computed


async def _out_of_date(
    session: AsyncSession, epoch: int, bases: Mapping[Period, dict[str, str]], codes: list[str]
) -> int:
    """Mark every division's row of each period out of date (a placeholder where none is)."""
    table, keys = Standing.__table__, [(p.year, p.month) for p in bases]
    for chunk in range(0, len(keys), 200):
        await session.execute(
            update(Standing)
            .where(
                table.c.epoch == epoch,
                tuple_(table.c.year, table.c.month).in_(keys[chunk : chunk + 200]),
            )
            .values(basis=OUT_OF_DATE)
            .execution_options(synchronize_session=False)
        )
    empty = {"figures": {}, "scheme_version": "", "scheme_digest": "", "indicators": []}
    placeholders: list[dict[str, Any]] = [
        {"epoch": epoch, "year": p.year, "month": p.month, "county": c, "basis": OUT_OF_DATE}
        | empty
        | {"total": "0", "rank": 0, "tier": None}
        for p, there in bases.items()
        for c in codes
        if c not in there
    ]
    if placeholders:
        await session.execute(insert(Standing), placeholders)
    return sum(len(codes) for _ in bases)


def _busy() -> bool:
    """Whether this batch comes less than `BUSY_SECONDS` after this process's last one (a
    backlog, a burst of writes); notes this one's time."""
    now = time.monotonic()
    busy, _LAST_REFRESH[0] = now - _LAST_REFRESH[0] < BUSY_SECONDS, now
    return busy


async def refresh(
    session: AsyncSession,
    epoch: int,
    marks: Marks,
    thresholds: Thresholds,
    regions: RegionTable,
    today: dt.date,
    *,
    busy: bool = False,
) -> int:
    """Bring the epoch's standings up to date with what `marks` says changed, in the caller's
    transaction, if the epoch is current (a building epoch is filled at its end); `busy`: only
    mark those periods out of date (`_invalidate`). Locks the epoch's row first: one refresh
    at a time, each reading the facts as committed before it."""
    state = await session.scalar(select(Epoch.state).where(Epoch.number == epoch).with_for_update())
    if state != EpochState.CURRENT or not marks:
        return 0
    await session.flush()
    if busy:
        return await _invalidate(session, epoch, marks, list(regions.codes), today)
    table = Standing.__table__
    kept_years = set(
        (await session.scalars(select(table.c.year).where(table.c.epoch == epoch).distinct())).all()
    )
    by_county: dict[str, set[int]] = {c: set(ys) for c, ys in marks.years.items()}
    if marks.projects:
        projects = ProjectView.__table__
        found = await session.execute(
            select(projects.c.project_id, projects.c.county).where(
                projects.c.epoch == epoch, projects.c.project_id.in_(list(marks.projects))
            )
        )
        for project_id, county in found.all():  # a plan of an unknown project counts nowhere
            by_county.setdefault(county, set()).update(marks.projects[project_id])
    if marks.plans_of:
        plans = PlanView.__table__
        found = await session.execute(
            select(plans.c.project_id, plans.c.year).where(
                plans.c.epoch == epoch, plans.c.project_id.in_(list(marks.plans_of))
            )
        )
        for project_id, year in found.all():
            for county in marks.plans_of[project_id]:
                by_county.setdefault(county, set()).add(year)
    for county, first in marks.onward.items():
        by_county.setdefault(county, set()).update(y for y in kept_years if y >= first)
    new_years = set().union(*by_county.values()) - kept_years
    wanted: dict[Period, set[str]] = {}
    for county, years in by_county.items():
        for period in months(years - new_years, today):
            wanted.setdefault(period, set()).add(county)
    for period in months(new_years, today):  # a year not kept yet: every division
        wanted[period] = set(regions.codes)
    return await _rewrite(session, epoch, wanted, thresholds, regions, BATCH_BUDGET)


async def _invalidate(
    session: AsyncSession, epoch: int, marks: Marks, codes: list[str], today: dt.date
) -> int:
    """A busy consumer's batch: every kept row of the years `marks` names (every kept year of a
    project's, whose plans could lie in any) out of date in one statement, and a year not kept
    yet as placeholders; the job computes them when the burst has ended."""
    _LAST_DEFERRED[0] = time.monotonic()
    years = set().union(*marks.years.values(), *marks.projects.values())
    table = Standing.__table__
    touched: ColumnElement[bool] = table.c.year.in_(sorted(years))
    if marks.onward or marks.plans_of:
        touched = or_(touched, table.c.year >= min([1, *marks.onward.values()]))
    result = await session.execute(
        update(Standing)
        .where(table.c.epoch == epoch, table.c.basis != OUT_OF_DATE, touched)
        .values(basis=OUT_OF_DATE)
        .execution_options(synchronize_session=False)
    )
    kept = await session.scalars(select(table.c.year).where(table.c.epoch == epoch).distinct())
    new: dict[Period, dict[str, str]] = {p: {} for p in months(years - set(kept.all()), today)}
    marked = await _out_of_date(session, epoch, new, codes) if new else 0
    return int(result.rowcount) + marked  # type: ignore[attr-defined]


async def fill(
    sessions: async_sessionmaker[AsyncSession],
    epoch: int,
    thresholds: Thresholds,
    regions: RegionTable,
    today: dt.date | None = None,
    facts: Facts | None = None,
) -> int:
    """Compute every kept period of the epoch from scratch (the end of a rebuild, before its
    epoch takes over); how many rows it wrote. `facts`: the epoch's, all of them, if the caller
    has them (a rebuild's fold); read otherwise. A failure leaves the epoch without standings
    (its periods are then computed when read) and is logged, not raised."""
    today = today or today_in_shanghai()
    try:
        async with sessions() as session, session.begin():
            await session.execute(delete(Standing).where(Standing.epoch == epoch))
            if facts is None:  # read once: the periods, then the rows
                facts = await _facts(session, epoch, None)
            wanted = {p: set(regions.codes) for p in months(fact_years(facts), today)}
            return await _rewrite(
                session, epoch, wanted, thresholds, regions, facts=facts, empty=True
            )
    except Exception as exc:
        if is_unavailable(exc):
            raise
        log.exception(
            "scoring: standings of epoch %d not filled; they are computed when read", epoch
        )
        return 0


async def _dated_in(session: AsyncSession, epoch: int, year: int) -> bool:
    """Whether any of the epoch's facts is dated in `year` (`fact_years`)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    projects, problems = ProjectView.__table__, ProblemView.__table__
    checks: list[Any] = [
        select(m.__table__.c.epoch).where(m.__table__.c.epoch == epoch, m.__table__.c.year == year)
        for m in (PlanView, ReportView, AllocationView, GrantView)
    ]
    for column in ("planned_start", "actual_start", "actual_completion", "withdrawn_on"):
        c = projects.c[column]
        checks.append(
            select(projects.c.epoch).where(projects.c.epoch == epoch, c.between(first, last))
        )
    for column in ("reported_on", "overdue_on"):
        c = problems.c[column]
        checks.append(
            select(problems.c.epoch).where(problems.c.epoch == epoch, c.between(first, last))
        )
    for check in checks:
        if await session.scalar(check.limit(1)) is not None:
            return True
    return False


def maintainer(
    runtime: Runtime, epoch: int, today: Callable[[], dt.date] = today_in_shanghai
) -> Callable[[AsyncSession], Awaitable[None]]:
    """The live consumer's end-of-batch step: `refresh` what the batch's writes marked, in the
    batch's transaction. Should the refresh fail for a reason other than the database, the
    periods it was about lose their rows (a read computes them) and the batch still applies.

    A busy consumer's batch (`_busy`) only marks its periods out of date, in plain statements
    of the batch's transaction: under a savepoint, as the computation runs, its SAVEPOINT and
    RELEASE would be two round trips of the batch's ten or so, each one, on a loaded machine,
    a chance for the process to lose the CPU. A statement of those that fails aborts the
    transaction, so it fails the batch (applied again, event by event), as the database
    being away does."""
    thresholds: Thresholds = runtime.config.thresholds
    regions = load_region_table(runtime.settings.regions_file)

    async def after_batch(session: AsyncSession) -> None:
        await session.flush()  # the handlers' last changes mark what they touch as they flush
        marks: Marks = session.info.pop(MARKS, Marks())
        if not marks or marks.epoch not in (None, epoch):
            return
        busy = _busy()
        try:
            if busy:
                await refresh(session, epoch, marks, thresholds, regions, today(), busy=True)
                return
            async with session.begin_nested():
                await refresh(session, epoch, marks, thresholds, regions, today())
        except Exception as exc:
            if is_unavailable(exc) or (busy and isinstance(exc, DBAPIError)):
                raise  # the transaction cannot go on
            log.exception("scoring: standings of epoch %d not refreshed; dropping them", epoch)
            await session.execute(delete(Standing).where(Standing.epoch == epoch))

    return after_batch


async def keep_current(
    runtime: Runtime,
    interval: float,
    stop: asyncio.Event,
    today: Callable[[], dt.date] = today_in_shanghai,
) -> None:
    """The worker's job: every `interval` seconds, fill what the current epoch's standings lack
    (a month that has begun, periods a batch past its budget left out of date, rows of other
    thresholds or divisions); not while batches of this process are still leaving periods out
    of date (a backlog, a burst of writes), whose consumer it would hold up for nothing."""
    thresholds: Thresholds = runtime.config.thresholds
    regions = load_region_table(runtime.settings.regions_file)
    outage = OutageLog(log, "scoring: the standings job")
    while not stop.is_set():
        if time.monotonic() - _LAST_DEFERRED[0] < interval:  # a backlog or a burst: wait
            await pause(stop, interval)
            continue
        try:
            await complete(runtime.session_factory, thresholds, regions, today())
            outage.succeeded()
        except Exception as exc:
            if is_unavailable(exc):
                outage.failed(exc)
            else:
                log.warning("scoring: standings not completed; trying again later", exc_info=True)
        await pause(stop, interval)


async def complete(
    sessions: async_sessionmaker[AsyncSession],
    thresholds: Thresholds,
    regions: RegionTable,
    today: dt.date,
) -> int:
    """Fill the current epoch's missing or out-of-date kept periods: every month up to today's
    of the kept years (and of today's once a fact is dated in it). One transaction per period,
    each holding the epoch's lock (as a batch's refresh does) only while it computes that
    period, so the live consumer waits for one period at most. How many rows it wrote."""
    async with sessions() as session:
        missing = await _missing(session, thresholds, regions, today)
    written = 0
    for epoch, period in missing:
        async with sessions() as session, session.begin():
            current = await session.scalar(
                select(Epoch.number).where(Epoch.state == EpochState.CURRENT).with_for_update()
            )
            if current != epoch:
                break  # a rebuild took over: its epoch was filled whole
            wanted = {period: set(regions.codes)}
            written += await _rewrite(session, epoch, wanted, thresholds, regions)
        await asyncio.sleep(0)  # let the consumer's batches in between
    return written


async def _missing(
    session: AsyncSession, thresholds: Thresholds, regions: RegionTable, today: dt.date
) -> list[tuple[int, Period]]:
    epoch = await session.scalar(select(Epoch.number).where(Epoch.state == EpochState.CURRENT))
    if epoch is None:
        return []
    table = Standing.__table__
    own = basis(thresholds, regions)
    have = (
        await session.execute(
            select(table.c.year, table.c.month, func.count())
            .where(table.c.epoch == epoch, table.c.basis == own)
            .group_by(table.c.year, table.c.month)
        )
    ).all()
    full = {Period(y, m) for y, m, n in have if n == len(regions.codes)}
    years = set(
        (await session.scalars(select(table.c.year).where(table.c.epoch == epoch).distinct())).all()
    )
    if await _dated_in(session, epoch, today.year):
        years.add(today.year)
    return [(epoch, p) for p in months(years, today) if p not in full]
