"""The issues service's reads: lists, one problem with its history, figures, rounds and the
working-day calendar. Visibility is applied here (`access`); nothing here changes state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.issues import access
from services.issues.domain.enums import (
    CATEGORY_LABELS,
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    Category,
    Colour,
    Complexity,
    Status,
)
from services.issues.models import CalendarYear, Issue, IssueMove, ProjectView, Round
from shared.auth import Principal
from shared.calendar import WorkCalendar, YearSchedule
from shared.errors import NotFound, RuleViolation
from shared.rates import percent

OPEN = tuple(s.value for s in OPEN_STATUSES)
RESOLVED = tuple(s.value for s in RESOLVED_STATUSES)


# ---------------------------------------------------------------- calendar
async def load_calendar(session: AsyncSession) -> WorkCalendar:
    rows = (await session.scalars(select(CalendarYear))).all()
    return WorkCalendar(
        {r.year: YearSchedule.from_iso(r.year, r.holidays, r.workdays) for r in rows}
    )


async def uploaded_calendar(session: AsyncSession, year: int) -> CalendarYear | None:
    return await session.get(CalendarYear, year)


async def add_workdays(session: AsyncSession, start: dt.date, days: int) -> dt.date:
    return (await load_calendar(session)).add_workdays(start, days)


# ---------------------------------------------------------------- reading
@dataclass(frozen=True)
class IssueFilter:
    status: Status | None = None
    county: str | None = None
    unit: str | None = None
    category: Category | None = None
    colour: Colour | None = None
    overdue: bool | None = None
    project_id: str | None = None
    round_id: str | None = None


def red_clause(today: dt.date) -> ColumnElement[bool]:
    """SQL twin of workflow.is_overdue (never NULL, so it can be negated)."""
    return and_(
        Issue.status != Status.CLOSED.value,
        or_(
            Issue.overdue_at.is_not(None),
            and_(Issue.status.in_(OPEN), Issue.deadline.is_not(None), Issue.deadline < today),
        ),
    )


def colour_clause(colour: Colour, today: dt.date, blue_to: dt.date) -> ColumnElement[bool]:
    """SQL twin of workflow.colour."""
    red = red_clause(today)
    yellow = and_(
        Issue.status == Status.ASSIGNED.value,
        Issue.complexity == Complexity.COMPLEX.value,
        Issue.plan_due.is_not(None),
        Issue.plan_due < today,
    )
    if colour is Colour.RED:
        return red
    if colour is Colour.YELLOW:
        return and_(not_(red), yellow)
    due = func.coalesce(Issue.deadline, Issue.plan_due)
    return and_(not_(red), not_(yellow), Issue.status.in_(OPEN), due.is_not(None), due <= blue_to)


async def list_issues(
    session: AsyncSession,
    principal: Principal,
    f: IssueFilter,
    today: dt.date,
    blue_to: dt.date,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Issue, str | None]], int]:
    where = access.visible_clauses(principal)
    for column, value in (
        (Issue.status, f.status.value if f.status else None),
        (Issue.county, f.county),
        (Issue.unit, f.unit),
        (Issue.category, f.category.value if f.category else None),
        (Issue.project_id, f.project_id),
        (Issue.round_id, f.round_id),
    ):
        if value is not None:
            where.append(column == value)
    if f.colour is not None:
        where.append(colour_clause(f.colour, today, blue_to))
    if f.overdue is not None:
        red = red_clause(today)
        where.append(red if f.overdue else not_(red))
    total = await session.scalar(select(func.count()).select_from(Issue).where(*where))
    rows = (
        await session.execute(
            select(Issue, ProjectView.name)
            .join(ProjectView, ProjectView.id == Issue.project_id)
            .where(*where)
            .order_by(Issue.reported_at.desc(), Issue.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [(r[0], r[1]) for r in rows], int(total or 0)


async def get_issue(
    session: AsyncSession, principal: Principal, issue_id: str, *, check_visible: bool = True
) -> tuple[Issue, str | None, list[IssueMove]]:
    issue = await session.get(Issue, issue_id)
    if issue is None:
        raise NotFound(f"problem {issue_id} not found")
    if check_visible:
        access.ensure_visible(principal, issue)
    project = await session.get(ProjectView, issue.project_id)
    moves = (
        await session.scalars(
            select(IssueMove).where(IssueMove.issue_id == issue_id).order_by(IssueMove.id)
        )
    ).all()
    return issue, project.name if project else None, list(moves)


# ---------------------------------------------------------------- figures
def _figures(collected: int, resolved: int, on_time: int, overdue: int) -> dict[str, Any]:
    return {
        "collected": collected,
        "resolved": resolved,
        "resolution_rate": percent(resolved, collected),
        "on_time_rate": percent(on_time, resolved),
        "overdue": overdue,
    }


async def stats(
    session: AsyncSession,
    principal: Principal,
    *,
    county: str | None,
    unit: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    today: dt.date,
) -> dict[str, Any]:
    if date_from and date_to and date_to < date_from:
        # One parameter against another, which a schema cannot state: 409.
        raise RuleViolation(
            "to is before from", errors=[{"field": "to", "message": "must not be before from"}]
        )
    where = access.visible_clauses(principal)
    if county:
        where.append(Issue.county == county)
    if unit:
        where.append(Issue.unit == unit)
    if date_from:
        where.append(Issue.reported_on >= date_from)
    if date_to:
        where.append(Issue.reported_on <= date_to)
    is_resolved = Issue.status.in_(RESOLVED)
    counts = (
        func.count(),
        func.sum(case((is_resolved, 1), else_=0)),
        func.sum(case((and_(is_resolved, Issue.on_time.is_(True)), 1), else_=0)),
        func.sum(case((red_clause(today), 1), else_=0)),
    )

    async def grouped(column: Any) -> list[tuple[Any, dict[str, Any]]]:
        rows = (
            await session.execute(
                select(column, *counts).where(*where).group_by(column).order_by(column)
            )
        ).all()
        return [(r[0], _figures(*(int(x or 0) for x in r[1:]))) for r in rows]

    total = (await session.execute(select(*counts).where(*where))).one()
    return {
        **_figures(*(int(x or 0) for x in total)),
        "by_category": [
            {"category": k, "category_label": CATEGORY_LABELS[Category(k)], **v}
            for k, v in await grouped(Issue.category)
        ],
        "by_county": [{"county": k, **v} for k, v in await grouped(Issue.county)],
        "by_unit": [{"unit": k, **v} for k, v in await grouped(Issue.unit) if k is not None],
    }


# ---------------------------------------------------------------- rounds
async def get_round(session: AsyncSession, round_id: str) -> tuple[Round, int]:
    """One supervision round with its problem count."""
    row = await session.get(Round, round_id)
    if row is None:
        raise NotFound(f"supervision round {round_id} not found")
    count = await session.scalar(
        select(func.count()).select_from(Issue).where(Issue.round_id == round_id)
    )
    return row, int(count or 0)


async def list_rounds(
    session: AsyncSession, limit: int, offset: int
) -> tuple[list[tuple[Round, int]], int]:
    """A page of the supervision rounds in number order, each with its problem count."""
    counts = (
        select(Issue.round_id, func.count().label("n"))
        .where(Issue.round_id.is_not(None))
        .group_by(Issue.round_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Round, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.round_id == Round.id)
            .order_by(Round.number)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    total = await session.scalar(select(func.count()).select_from(Round))
    return [(r[0], int(r[1])) for r in rows], int(total or 0)


async def count_issues(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Issue)) or 0)
