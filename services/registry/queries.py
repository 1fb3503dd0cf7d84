"""The registry's reads: one project, lists, its history, progress. Nothing here changes state;
who may see what is checked in `access`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, cast, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import access
from services.registry.domain.divisions import resolve_county
from services.registry.domain.enums import Level, Stage, Track
from services.registry.domain.plans import target_to_date
from services.registry.domain.progress import Progress, compute_progress
from services.registry.domain.reports import parse_period
from services.registry.models import (
    AnnualPlan,
    ListChange,
    Milestone,
    MonthlyReport,
    Project,
    StageChange,
    outbox,
)
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import paginate
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.events.envelope import CloudEvent
from shared.regions import RegionTable


# ---------------------------------------------------------------- projects
async def get_project(session: AsyncSession, principal: Principal, project_id: str) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    access.ensure_readable(principal, project.county, project_id)
    return project


async def stage_history(session: AsyncSession, project_id: str) -> list[StageChange]:
    return list(
        (
            await session.scalars(
                select(StageChange)
                .where(StageChange.project_id == project_id)
                .order_by(StageChange.id)
            )
        ).all()
    )


async def audit_trail(
    session: AsyncSession, principal: Principal, project_id: str, limit: int, offset: int
) -> tuple[list[CloudEvent], int]:
    """Who changed what and when: the project's events, oldest first. The outbox is kept
    after publishing, so it is the audit trail that every change already writes."""
    await get_project(session, principal, project_id)
    mine = outbox.c.key == project_id
    total = await session.scalar(select(func.count()).select_from(outbox).where(mine))
    rows = await session.scalars(
        select(outbox.c.payload).where(mine).order_by(outbox.c.id).limit(limit).offset(offset)
    )
    return [CloudEvent.from_json(payload) for payload in rows], int(total or 0)


@dataclass(frozen=True)
class ProjectFilter:
    county: str | None = None
    level: Level | None = None
    key: bool | None = None
    stage: Stage | None = None
    track: Track | None = None
    tag: str | None = None
    q: str | None = None


def _matching(
    session: AsyncSession, principal: Principal, f: ProjectFilter, regions: RegionTable
) -> Select[Any] | None:
    """The projects the filter matches among those the principal may see, oldest first (the id
    breaks ties, so the order is total and a keyset page is exact); None when it names a county
    the principal may not see (nothing, as for a county that has none). Each filter has an index
    that keeps this order (`models.Project`)."""
    query = select(Project)
    county = resolve_county(regions, f.county).code if f.county else None
    own = principal.county_filter(county)
    if county is not None and own != county:
        return None
    if own is not None:
        query = query.where(Project.county == own)
    if f.level is not None:
        query = query.where(Project.level == f.level.value)
    if f.key is not None:
        query = query.where(Project.level.is_not(None) if f.key else Project.level.is_(None))
    if f.stage is not None:
        query = query.where(Project.stage == f.stage.value)
    if f.track is not None:
        query = query.where(Project.track == f.track.value)
    if f.tag is not None:
        query = query.where(_has_tag(session, f.tag))
    if f.q:
        # % and _ are data here, not wildcards
        needle = f.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{needle}%"
        query = query.where(
            or_(
                Project.name.like(pattern, escape="\\"),
                Project.code.like(pattern.upper(), escape="\\"),
            )
        )
    return query.order_by(Project.created_at, Project.id)


def _has_tag(session: AsyncSession, tag: str) -> ColumnElement[bool]:
    """Tags are a JSON list: on PostgreSQL containment, which the GIN index on `tags::jsonb`
    answers; on SQLite a scan of the list with `json_each`."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Project.tags, JSONB).contains([tag])
    each = func.json_each(Project.tags).table_valued("value")
    return select(each.c.value).where(each.c.value == tag).exists()


COUNT_CAP = 10_000


@dataclass(frozen=True)
class ProjectPage:
    """One page of the list; `total` is exact up to `COUNT_CAP` and `COUNT_CAP` past it
    (`exact` False), so no page counts more rows than that; `after` is the position of the last
    item when more follow (the next page's cursor)."""

    items: list[Project]
    total: int
    exact: bool
    after: tuple[dt.datetime, str] | None


async def list_projects(
    session: AsyncSession,
    principal: Principal,
    f: ProjectFilter,
    regions: RegionTable,
    limit: int,
    offset: int,
    after: tuple[dt.datetime, str] | None = None,
) -> ProjectPage:
    """A page by offset, or (with `after`) the page after a position in the list's order."""
    if after is not None and offset:  # two starting points: which one was meant?
        raise RuleViolation(
            "page by cursor or by offset, not both",
            errors=[{"field": "offset", "message": "not with a cursor"}],
        )
    query = _matching(session, principal, f, regions)
    if query is None:
        return ProjectPage([], 0, True, None)
    capped = query.with_only_columns(Project.id).order_by(None).limit(COUNT_CAP + 1)
    counted = int(await session.scalar(select(func.count()).select_from(capped.subquery())) or 0)
    if after is not None:
        at, key = after
        position = tuple_(literal(at, Project.created_at.type), literal(key, Project.id.type))
        query = query.where(tuple_(Project.created_at, Project.id) > position)
    rows = list((await session.scalars(query.limit(limit + 1).offset(offset))).all())
    items = rows[:limit]
    more = len(rows) > limit
    return ProjectPage(
        items,
        min(counted, COUNT_CAP),
        counted <= COUNT_CAP,
        (items[-1].created_at, items[-1].id) if more else None,
    )


async def all_projects(
    session: AsyncSession, principal: Principal, f: ProjectFilter, regions: RegionTable
) -> list[Project]:
    """Every project the filter matches that the principal may see, oldest first (the ledger
    export)."""
    query = _matching(session, principal, f, regions)
    if query is None:
        return []
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class Tally:
    projects: int = 0
    total_investment: Decimal = Decimal(0)

    def plus(self, amount: Decimal) -> Tally:
        return Tally(self.projects + 1, self.total_investment + amount)


@dataclass(frozen=True)
class Summary:
    """The projects a filter matches, counted and their total investment summed (万元): in all,
    on the key list, by level (every level, in the vocabulary's order), by stage (likewise) and
    by county (the divisions the principal may see and the filter allows, in the region table's
    order, then any other county a project names)."""

    total: Tally
    key_projects: int
    by_level: dict[Level, Tally]
    by_stage: dict[Stage, Tally]
    by_county: dict[str, Tally]


async def summary(
    session: AsyncSession, principal: Principal, f: ProjectFilter, regions: RegionTable
) -> Summary:
    query = _matching(session, principal, f, regions)
    columns = (Project.county, Project.level, Project.stage, Project.total_investment)
    rows: Sequence[Any] = []
    if query is not None:
        rows = (await session.execute(query.with_only_columns(*columns))).all()
    total = Tally()
    by_level = dict.fromkeys(Level, Tally())
    by_stage = dict.fromkeys(Stage, Tally())
    by_county: dict[str, Tally] = {}
    if query is not None:
        wanted = principal.county_filter(
            resolve_county(regions, f.county).code if f.county else None
        )
        by_county = {c: Tally() for c in regions.codes if wanted is None or c == wanted}
    for county, level, stage, amount in rows:
        amount = Decimal(amount)  # summed as decimals: exact on either database
        total = total.plus(amount)
        if level is not None:
            by_level[Level(level)] = by_level[Level(level)].plus(amount)
        by_stage[Stage(stage)] = by_stage[Stage(stage)].plus(amount)
        by_county[county] = by_county.get(county, Tally()).plus(amount)
    key = sum(t.projects for t in by_level.values())
    return Summary(total, key, by_level, by_stage, by_county)


async def count_projects(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Project)) or 0)


# ---------------------------------------------------------------- progress
@dataclass(frozen=True)
class ProgressView:
    project_id: str
    year: int
    annual_plan: Decimal | None
    ytd_actual: Decimal
    target_to_date: Decimal | None
    as_of_month: int
    figures: Progress
    reports: list[MonthlyReport]


async def progress(
    session: AsyncSession, principal: Principal, project_id: str, year: int, as_of: str | None
) -> ProgressView:
    project = await get_project(session, principal, project_id)
    plan = await session.get(AnnualPlan, (project.id, year))
    reports = list(
        (
            await session.scalars(
                select(MonthlyReport)
                .where(MonthlyReport.project_id == project_id, MonthlyReport.year == year)
                .order_by(MonthlyReport.month)
            )
        ).all()
    )
    if as_of is not None:
        try:
            as_year, as_month = parse_period(as_of)
        except InvalidInput as exc:  # the query parameter is `as_of`, not `period`
            for error in exc.errors:
                error["field"] = "as_of"
            raise
        if as_year != year:  # one parameter against another: 409
            raise RuleViolation(
                "as_of must lie in the year asked for",
                errors=[{"field": "as_of", "message": "other year"}],
            )
    elif reports:
        as_month = reports[-1].month
    else:
        today = today_in_shanghai()
        as_month = 12 if year < today.year else (today.month if year == today.year else 1)
    upto = [r for r in reports if r.month <= as_month]
    ytd = upto[-1].ytd_investment if upto else Decimal(0)
    targets = {int(m): Decimal(v) for m, v in (plan.monthly_targets if plan else {}).items()}
    target = target_to_date(targets, as_month) if targets else None
    figures = compute_progress(plan.annual_investment if plan else None, ytd, as_month, target)
    return ProgressView(
        project_id,
        year,
        plan.annual_investment if plan else None,
        ytd,
        target,
        as_month,
        figures,
        reports,
    )


# ---------------------------------------------------------------- milestones and list changes
async def list_milestones(
    session: AsyncSession, principal: Principal, project_id: str
) -> list[Milestone]:
    await get_project(session, principal, project_id)
    return list(
        (
            await session.scalars(
                select(Milestone)
                .where(Milestone.project_id == project_id)
                .order_by(Milestone.planned_date, Milestone.name)
            )
        ).all()
    )


Child = TypeVar("Child", Milestone, ListChange)


async def _of_project(
    session: AsyncSession,
    principal: Principal,
    project_id: str,
    model: type[Child],
    key: object,
    what: str,
) -> Child:
    """A row that belongs to a project the principal may see (404 for another's or none)."""
    await get_project(session, principal, project_id)
    row = await session.get(model, key)
    if row is None or row.project_id != project_id:
        raise NotFound(f"{what} {key} not found")
    return row


async def get_milestone(
    session: AsyncSession, principal: Principal, project_id: str, milestone_id: str
) -> Milestone:
    return await _of_project(session, principal, project_id, Milestone, milestone_id, "milestone")


async def get_report(
    session: AsyncSession, principal: Principal, project_id: str, period: str
) -> MonthlyReport:
    await get_project(session, principal, project_id)
    year, month = parse_period(period)
    report = await session.scalar(
        select(MonthlyReport).where(
            MonthlyReport.project_id == project_id,
            MonthlyReport.year == year,
            MonthlyReport.month == month,
        )
    )
    if report is None:
        raise NotFound(f"no report of project {project_id} for {period}")
    return report


async def get_list_change(
    session: AsyncSession, principal: Principal, project_id: str, change_id: int
) -> ListChange:
    return await _of_project(session, principal, project_id, ListChange, change_id, "list change")


async def list_changes(
    session: AsyncSession,
    principal: Principal,
    project_id: str | None,
    year: int | None,
    limit: int,
    offset: int,
) -> tuple[list[ListChange], int]:
    query = select(ListChange).join(Project, Project.id == ListChange.project_id)
    if project_id is not None:
        await get_project(session, principal, project_id)
        query = query.where(ListChange.project_id == project_id)
    county = principal.county_filter(None)
    if county is not None:
        query = query.where(Project.county == county)
    if year is not None:
        query = query.where(
            ListChange.effective_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31))
        )
    return await paginate(
        session, query.order_by(ListChange.effective_date, ListChange.id), limit, offset
    )
