"""Events the notifications service consumes: every topic of the other four services.

Each event, in the consumer's one transaction (the inbox makes it once):
1. joins the feed (the live stream) and is queued for every webhook subscription it matches;
2. updates the small projections messages need (projects, problems, pools, calendar years);
3. becomes an occasion when a rule's trigger says so, and the rules write the notifications
   (and the robot deliveries) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import service
from services.notifications.config import Context
from services.notifications.domain import labels
from services.notifications.domain.occasions import Occasion
from services.notifications.domain.rules import Trigger
from services.notifications.models import CalendarYearView, PoolView, ProblemView, ProjectView
from shared.events.catalogue import factors as fac
from shared.events.catalogue import issues as iss
from shared.events.catalogue import registry as reg
from shared.events.catalogue import scoring as sco
from shared.events.envelope import CloudEvent
from shared.inbox import Handler
from shared.rows import TransactionRows

CONSUMER = "notifications"

Apply = Callable[[AsyncSession, CloudEvent, Any, Context], Any]


# ---------------------------------------------------------------- registry
async def on_project(
    session: AsyncSession, event: CloudEvent, payload: reg.ProjectSnapshot, ctx: Context
) -> None:
    rows = TransactionRows(session)
    project = await rows.get(ProjectView, {"id": payload.project_id})
    if project is not None and project.version >= event.sequence:
        return
    if project is None:
        project = rows.new(ProjectView, id=payload.project_id)
    project.name = payload.name
    project.county = payload.county
    project.leader = payload.leader
    project.version = event.sequence


# ---------------------------------------------------------------- issues
_ISSUE_TRIGGERS: dict[str, Trigger] = {
    iss.IssueAssigned.TYPE: Trigger.ISSUE_ASSIGNED,
    iss.IssueOverdue.TYPE: Trigger.ISSUE_OVERDUE,
    iss.IssueResolved.TYPE: Trigger.ISSUE_RESOLVED,
}


async def on_issue(
    session: AsyncSession, event: CloudEvent, payload: iss.IssueEvent, ctx: Context
) -> None:
    rows = TransactionRows(session)
    problem = await rows.get(ProblemView, {"id": payload.issue_id})
    if problem is None:
        problem = rows.new(ProblemView, id=payload.issue_id)
        problem.co_units = []
        problem.version = 0
    if problem.version < payload.version:  # an older event (a replay) moves nothing back
        problem.project_id = payload.project_id
        problem.county = payload.county
        problem.status = payload.status
        problem.complexity = payload.complexity
        problem.unit = payload.unit
        problem.deadline = payload.deadline
        problem.version = payload.version
        if isinstance(payload, iss.IssueReported):
            problem.title = payload.title
        if isinstance(payload, iss.IssueAssigned):
            problem.co_units = list(payload.co_units)
            problem.plan_due = payload.plan_due
    trigger = _ISSUE_TRIGGERS.get(event.type)
    if trigger is None:
        return
    # red is told once per deadline, however often it is flagged; the others once per event
    key = f"{payload.issue_id}@{payload.deadline}" if trigger is Trigger.ISSUE_OVERDUE else event.id
    project = await rows.get(ProjectView, {"id": problem.project_id})
    occasion = await service.problem_occasion(
        session, ctx, problem, trigger, key, event.id, project=project
    )
    await service.notify(session, ctx, occasion)


# ---------------------------------------------------------------- calendar (from issues)
async def on_calendar(
    session: AsyncSession, event: CloudEvent, payload: iss.CalendarScheduleSet, ctx: Context
) -> None:
    rows = TransactionRows(session)
    row = await rows.get(CalendarYearView, {"year": payload.year})
    if row is not None and row.version >= payload.version:
        return
    if row is None:
        row = rows.new(CalendarYearView, year=payload.year)
    row.holidays = sorted(d.isoformat() for d in payload.holidays)
    row.workdays = sorted(d.isoformat() for d in payload.workdays)
    row.version = payload.version


# ---------------------------------------------------------------- factors
async def on_quota(
    session: AsyncSession, event: CloudEvent, payload: fac.QuotaIssued, ctx: Context
) -> None:
    rows = TransactionRows(session)
    pool = await rows.get(PoolView, {"id": payload.pool_id})
    if pool is None:
        pool = rows.new(PoolView, id=payload.pool_id)
        pool.allocated = Decimal(0)
    first = not pool.amount  # new, or only known from allocations that came before it
    pool.factor = payload.factor
    pool.pollutant = payload.pollutant
    pool.year = payload.year
    pool.scope = payload.scope
    pool.unit = payload.unit
    pool.amount = payload.amount
    if first and pool.allocated:  # set up already past a threshold: that is told too
        await service.pool_passed(session, ctx, pool, Decimal(0), event.id)


async def on_allocation(
    session: AsyncSession, event: CloudEvent, payload: fac.AllocationEvent, ctx: Context
) -> None:
    allocated = isinstance(payload, fac.FactorAllocated)
    trigger = Trigger.FACTOR_ALLOCATED if allocated else Trigger.FACTOR_RELEASED
    rows = TransactionRows(session)
    project = await rows.get(ProjectView, {"id": payload.project_id})
    values = {
        "project": project.name if project else payload.project_id,
        "county": ctx.county_name(payload.county),
        "factor": labels.factor(payload.factor, payload.pollutant),
        "amount": payload.amount,
        "unit_of_measure": payload.unit,
        "year": payload.year,
    }
    if isinstance(payload, fac.FactorReleased):
        values["reason"] = payload.reason
    await service.notify(
        session,
        ctx,
        Occasion(
            trigger=trigger,
            key=event.id,
            county=payload.county,
            values=values,
            link=f"/factors/v1/allocations/{payload.allocation_id}",
            event_id=event.id,
            leader=project.leader if project else None,
        ),
    )
    pool = await rows.get(PoolView, {"id": payload.pool_id})
    if pool is None:  # its QuotaIssued (keyed by the pool: another partition) is yet to come
        pool = rows.new(PoolView, id=payload.pool_id)
        pool.factor = payload.factor
        pool.pollutant = payload.pollutant
        pool.year = payload.year
        pool.scope = getattr(payload, "scope", "")
        pool.unit = payload.unit
        pool.amount = Decimal(0)
        pool.allocated = Decimal(0)
    before = pool.allocated
    pool.allocated = before + payload.charged if allocated else before - payload.charged
    await service.pool_passed(session, ctx, pool, before, event.id)


# ---------------------------------------------------------------- scoring
async def on_published(
    session: AsyncSession, event: CloudEvent, payload: sco.RankingPublished, ctx: Context
) -> None:
    period = f"{payload.year}年{payload.month}月"
    ranked = sorted(payload.ranking, key=lambda r: r.rank)
    await service.notify(
        session,
        ctx,
        Occasion(
            trigger=Trigger.RANKING_PUBLISHED,
            key=event.id,
            county=None,
            values={
                "period": period,
                "first": ranked[0].name if ranked else None,
                "last": ranked[-1].name if ranked else None,
                "unstarted": payload.exposed.get("unstarted", 0),
                "lagging": payload.exposed.get("lagging", 0),
                "overdue": payload.exposed.get("overdue", 0),
            },
            link=f"/scoring/v1/rankings?year={payload.year}&month={payload.month}",
            event_id=event.id,
        ),
    )
    rows = TransactionRows(session)
    for exposed in payload.exposed_projects:
        project = await rows.get(ProjectView, {"id": exposed.project_id})
        leader = project.leader if project else None
        await service.notify(
            session,
            ctx,
            Occasion(
                trigger=Trigger.PROJECT_EXPOSED,
                key=f"{event.id}:{exposed.kind}:{exposed.issue_id or exposed.project_id}",
                county=exposed.county,
                values={
                    "project": exposed.name,
                    "county": ctx.county_name(exposed.county),
                    "period": period,
                    "list": labels.exposure_list(exposed.kind),
                    "leader": leader,
                },
                link=f"/registry/v1/projects/{exposed.project_id}",
                event_id=event.id,
                leader=leader,
            ),
        )


async def prefetch(session: AsyncSession, events: list[tuple[CloudEvent, Any]]) -> None:
    """The consumer's `before_batch`: the projects, problems and pools a batch's events are
    about, read and locked in a statement each (`shared.rows`), where each event read its own
    after flushing what the events before it wrote."""
    projects: set[str] = set()
    problems: set[str] = set()
    pools: set[str] = set()
    for _event, payload in events:
        if isinstance(payload, (reg.ProjectSnapshot, iss.IssueEvent, fac.AllocationEvent)):
            projects.add(payload.project_id)
        if isinstance(payload, iss.IssueEvent):
            problems.add(payload.issue_id)
        if isinstance(payload, (fac.QuotaIssued, fac.AllocationEvent)):
            pools.add(payload.pool_id)
        if isinstance(payload, sco.RankingPublished):
            projects.update(e.project_id for e in payload.exposed_projects)
    rows = TransactionRows(session)
    for model, ids in ((ProjectView, projects), (ProblemView, problems), (PoolView, pools)):
        if ids:
            await rows.load(model, "id", ids)


def _bind(apply: Apply, ctx_of: Callable[[], Context]) -> Handler:
    async def handler(session: AsyncSession, event: CloudEvent, payload: Any) -> None:
        ctx = ctx_of()
        await service.record_event(session, ctx, event, await _units(session, payload))
        await apply(session, event, payload, ctx)

    return handler


async def _units(session: AsyncSession, payload: Any) -> list[str]:
    """The departments an event concerns (a department's stream shows only these): the
    problem's unit and co-units, the latter from its assignment (later events do not carry
    them)."""
    if not isinstance(payload, iss.IssueEvent):
        return []
    units = [payload.unit] if payload.unit else []
    if isinstance(payload, iss.IssueAssigned):
        return units + list(payload.co_units)
    problem = await TransactionRows(session).get(ProblemView, {"id": payload.issue_id})
    return units + [u for u in (problem.co_units if problem else None) or [] if u not in units]


async def _nothing(session: AsyncSession, event: CloudEvent, payload: Any, ctx: Context) -> None:
    """Events no rule or projection needs still reach the feed and the webhooks."""


SPECIFIC: dict[str, Apply] = {
    reg.ProjectRegistered.TYPE: on_project,
    reg.ProjectUpdated.TYPE: on_project,
    **{t: on_issue for t, m in iss.EVENT_TYPES.items() if issubclass(m, iss.IssueEvent)},
    iss.CalendarScheduleSet.TYPE: on_calendar,
    fac.QuotaIssued.TYPE: on_quota,
    fac.FactorAllocated.TYPE: on_allocation,
    fac.FactorReleased.TYPE: on_allocation,
    sco.RankingPublished.TYPE: on_published,
}


def handlers_for(
    event_types: Mapping[str, Any], ctx_of: Callable[[], Context]
) -> dict[str, Handler]:
    """Handlers for every type of one producer's catalogue."""
    return {t: _bind(SPECIFIC.get(t, _nothing), ctx_of) for t in event_types}
