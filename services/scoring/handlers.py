"""How each upstream event changes the read model of one epoch.

Every row keeps the `sequence` of the event that last changed it and an event no newer than that
changes nothing, so a replay, a duplicate or a redelivery leaves the model as it was; the inbox
applies each event once besides. Registry events carry the project's version, factors' the
allocation's (or the credit demand's), issues' the problem's."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import (
    AllocationView,
    GrantView,
    PlanView,
    ProblemView,
    ProjectView,
    ReportView,
)
from shared.events.catalogue import factors as fac
from shared.events.catalogue import issues as iss
from shared.events.catalogue import registry as reg
from shared.events.envelope import CloudEvent
from shared.inbox import Handler

log = logging.getLogger(__name__)

Row = TypeVar("Row", ProjectView, PlanView, ReportView, ProblemView, AllocationView, GrantView)


async def _newer(
    session: AsyncSession, model: type[Row], key: dict[str, Any], sequence: int
) -> tuple[Row | None, bool]:
    """The row at `key` (locked) and whether an event at `sequence` is news for it."""
    row = await session.get(model, key, with_for_update=True)
    return row, row is None or row.version < sequence


# ---- kuaiche.registry
async def on_project_snapshot(
    epoch: int, session: AsyncSession, event: CloudEvent, p: reg.ProjectSnapshot
) -> None:
    row, news = await _newer(
        session, ProjectView, {"epoch": epoch, "project_id": p.project_id}, event.sequence
    )
    if not news:
        return
    if row is None:
        row = ProjectView(epoch=epoch, project_id=p.project_id)
        session.add(row)
    row.county, row.name, row.level, row.track, row.stage = (
        p.county,
        p.name,
        p.level,
        p.track,
        p.stage,
    )
    row.planned_start, row.actual_start, row.actual_completion = (
        p.planned_start,
        p.actual_start,
        p.actual_completion,
    )
    if p.stage != reg.Stage.WITHDRAWN:
        row.withdrawn_on = None  # the withdrawal's date comes with its stage change
    row.version = event.sequence


async def _known_project(
    epoch: int, session: AsyncSession, event: CloudEvent, project_id: str
) -> ProjectView | None:
    row, news = await _newer(
        session, ProjectView, {"epoch": epoch, "project_id": project_id}, event.sequence
    )
    if row is None:
        # The registration comes first on the project's key; without it there is nothing to move.
        log.warning("%s for unknown project %s ignored", event.type, project_id)
        return None
    if not news:
        return None
    row.version = event.sequence
    return row


async def on_stage_changed(
    epoch: int, session: AsyncSession, event: CloudEvent, p: reg.ProjectStageChanged
) -> None:
    if row := await _known_project(epoch, session, event, p.project_id):
        row.stage, row.track, row.level = p.to_stage, p.track, p.level
        row.withdrawn_on = p.date if p.to_stage == reg.Stage.WITHDRAWN else None
        row.planned_start, row.actual_start, row.actual_completion = (
            p.planned_start,
            p.actual_start,
            p.actual_completion,
        )


async def on_list_changed(
    epoch: int, session: AsyncSession, event: CloudEvent, p: reg.ListChanged
) -> None:
    if row := await _known_project(epoch, session, event, p.project_id):
        row.level = p.to_level


async def on_plan_set(epoch: int, session: AsyncSession, event: CloudEvent, p: reg.PlanSet) -> None:
    key = {"epoch": epoch, "project_id": p.project_id, "year": p.year}
    row, news = await _newer(session, PlanView, key, event.sequence)
    if not news:
        return
    if row is None:
        row = PlanView(**key)
        session.add(row)
    row.annual_investment = p.annual_investment
    row.version = event.sequence


async def on_report_submitted(
    epoch: int, session: AsyncSession, event: CloudEvent, p: reg.ReportSubmitted
) -> None:
    key = {"epoch": epoch, "project_id": p.project_id, "year": p.year, "month": p.month}
    row, news = await _newer(session, ReportView, key, event.sequence)
    if not news:
        return
    if row is None:
        row = ReportView(**key)
        session.add(row)
    row.ytd_investment = p.ytd_investment
    row.version = event.sequence


# ---- kuaiche.issues
async def on_issue(epoch: int, session: AsyncSession, event: CloudEvent, p: iss.IssueEvent) -> None:
    row, news = await _newer(
        session, ProblemView, {"epoch": epoch, "issue_id": p.issue_id}, event.sequence
    )
    if not news:
        return
    if row is None:
        row = ProblemView(epoch=epoch, issue_id=p.issue_id, title="")
        session.add(row)
    row.project_id, row.county, row.status, row.category = (
        p.project_id,
        p.county,
        p.status,
        p.category,
    )
    row.unit, row.deadline, row.reported_on = p.unit, p.deadline, p.reported_on
    match p:
        case iss.IssueReported():
            row.title = p.title
        case iss.IssueResolved():
            row.resolved_on, row.on_time = p.resolved_on, p.on_time
        case iss.IssueReopened():
            row.resolved_on, row.on_time = None, None
        case iss.IssueClosed():
            row.resolved_on, row.on_time, row.closed_on = p.resolved_on, p.on_time, p.closed_on
        case iss.IssueOverdue():
            row.overdue_on = p.flagged_on
    row.version = event.sequence


# ---- kuaiche.factors
async def on_allocated(
    epoch: int, session: AsyncSession, event: CloudEvent, p: fac.FactorAllocated
) -> None:
    key = {"epoch": epoch, "allocation_id": p.allocation_id}
    row, news = await _newer(session, AllocationView, key, event.sequence)
    if not news:
        return
    if row is None:
        row = AllocationView(**key)
        session.add(row)
    row.project_id, row.county, row.factor, row.pollutant = (
        p.project_id,
        p.county,
        p.factor,
        p.pollutant,
    )
    row.year, row.amount, row.unit, row.advance = p.year, p.amount, p.unit, p.advance
    row.allocated_on = p.allocated_on
    row.version = event.sequence


async def _known_allocation(
    epoch: int, session: AsyncSession, event: CloudEvent, p: fac.AllocationEvent
) -> AllocationView | None:
    row, news = await _newer(
        session, AllocationView, {"epoch": epoch, "allocation_id": p.allocation_id}, event.sequence
    )
    if row is None:
        log.warning("%s for unknown allocation %s ignored", event.type, p.allocation_id)
        return None
    if not news:
        return None
    row.version = event.sequence
    return row


async def on_used(epoch: int, session: AsyncSession, event: CloudEvent, p: fac.FactorUsed) -> None:
    if row := await _known_allocation(epoch, session, event, p):
        row.used_on = p.used_on


async def on_released(
    epoch: int, session: AsyncSession, event: CloudEvent, p: fac.FactorReleased
) -> None:
    if row := await _known_allocation(epoch, session, event, p):
        row.released_on = p.released_on


async def on_credit_granted(
    epoch: int, session: AsyncSession, event: CloudEvent, p: fac.CreditGranted
) -> None:
    key = {"epoch": epoch, "grant_id": p.grant_id}
    if await session.get(GrantView, key) is None:  # a grant never changes once made
        session.add(
            GrantView(
                **key,
                project_id=p.project_id,
                county=p.county,
                year=p.year,
                amount=p.amount,
                granted_on=p.granted_on,
                version=event.sequence,
            )
        )


Apply = Callable[..., Awaitable[None]]

_REGISTRY: dict[str, Apply] = {
    reg.ProjectRegistered.TYPE: on_project_snapshot,
    reg.ProjectUpdated.TYPE: on_project_snapshot,
    reg.ProjectStageChanged.TYPE: on_stage_changed,
    reg.ListChanged.TYPE: on_list_changed,
    reg.PlanSet.TYPE: on_plan_set,
    reg.ReportSubmitted.TYPE: on_report_submitted,
}
_ISSUES: dict[str, Apply] = {  # a problem's moves (not the calendar's uploads)
    model.TYPE: on_issue
    for model in iss.EVENT_TYPES.values()
    if issubclass(model, iss.IssueEvent)
}
_FACTORS: dict[str, Apply] = {
    fac.FactorAllocated.TYPE: on_allocated,
    fac.FactorUsed.TYPE: on_used,
    fac.FactorReleased.TYPE: on_released,
    fac.CreditGranted.TYPE: on_credit_granted,
}


def _for_epoch(by_type: dict[str, Apply], epoch: int) -> dict[str, Handler]:
    return {event_type: partial(fn, epoch) for event_type, fn in by_type.items()}


def registry_handlers(epoch: int) -> dict[str, Handler]:
    """kuaiche.registry's events into `epoch`'s projects, plans and reports."""
    return _for_epoch(_REGISTRY, epoch)


def factors_handlers(epoch: int) -> dict[str, Handler]:
    """kuaiche.factors' events into `epoch`'s allocations and credit grants."""
    return _for_epoch(_FACTORS, epoch)


def issues_handlers(epoch: int) -> dict[str, Handler]:
    """kuaiche.issues' events into `epoch`'s problems."""
    return _for_epoch(_ISSUES, epoch)
