"""How each upstream event changes the read model of one epoch.

Every row keeps the `sequence` of the event that last changed it and an event no newer than that
changes nothing, so a replay, a duplicate or a redelivery leaves the model as it was; the inbox
applies each event once besides. Registry events carry the project's version, factors' the
allocation's (or the credit demand's), issues' the problem's.

A handler finds and makes its rows through `Rows`, never through a session of its own: the live
path hands it a session's rows (`SessionRows`, what the inbox consumer's transaction holds), a
rebuild its fold in memory (`readmodel.Fold`, written in bulk afterwards). One set of rules, two
places to keep the rows."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

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
from shared.inbox import BeforeBatch, Handler
from shared.rows import TransactionRows

log = logging.getLogger(__name__)

Row = TypeVar("Row", ProjectView, PlanView, ReportView, ProblemView, AllocationView, GrantView)


class Rows(Protocol):
    """One epoch's read-model rows as a handler sees them: it looks a row up by its key, or
    makes a new one (its columns unset are NULL), then changes the row's attributes."""

    @property
    def epoch(self) -> int: ...

    async def get(self, model: type[Row], key: dict[str, Any]) -> Row | None: ...

    def new(self, model: type[Row], **key: Any) -> Row: ...


@dataclass(frozen=True, slots=True)
class SessionRows(TransactionRows):
    """The live path's rows: those of the consumer's transaction (`shared.rows`), locked as
    they are read, in `epoch`."""

    epoch: int

    async def load_projects(self, project_ids: Iterable[str]) -> None:
        """The epoch's rows of these projects, read and locked in one statement."""
        await self.load(ProjectView, "project_id", project_ids, epoch=self.epoch)


async def _newer(
    rows: Rows, model: type[Row], key: dict[str, Any], sequence: int
) -> tuple[Row | None, bool]:
    """The row at `key` and whether an event at `sequence` is news for it."""
    row = await rows.get(model, key)
    return row, row is None or row.version < sequence


# ---- kuaiche.registry
async def on_project_snapshot(rows: Rows, event: CloudEvent, p: reg.ProjectSnapshot) -> None:
    row, news = await _newer(
        rows, ProjectView, {"epoch": rows.epoch, "project_id": p.project_id}, event.sequence
    )
    if not news:
        return
    if row is None:
        row = rows.new(ProjectView, epoch=rows.epoch, project_id=p.project_id)
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


async def _known_project(rows: Rows, event: CloudEvent, project_id: str) -> ProjectView | None:
    row, news = await _newer(
        rows, ProjectView, {"epoch": rows.epoch, "project_id": project_id}, event.sequence
    )
    if row is None:
        # The registration comes first on the project's key; without it there is nothing to move.
        log.warning("%s for unknown project %s ignored", event.type, project_id)
        return None
    if not news:
        return None
    row.version = event.sequence
    return row


async def on_stage_changed(rows: Rows, event: CloudEvent, p: reg.ProjectStageChanged) -> None:
    if row := await _known_project(rows, event, p.project_id):
        row.stage, row.track, row.level = p.to_stage, p.track, p.level
        row.withdrawn_on = p.date if p.to_stage == reg.Stage.WITHDRAWN else None
        row.planned_start, row.actual_start, row.actual_completion = (
            p.planned_start,
            p.actual_start,
            p.actual_completion,
        )


async def on_list_changed(rows: Rows, event: CloudEvent, p: reg.ListChanged) -> None:
    if row := await _known_project(rows, event, p.project_id):
        row.level = p.to_level


async def on_plan_set(rows: Rows, event: CloudEvent, p: reg.PlanSet) -> None:
    key = {"epoch": rows.epoch, "project_id": p.project_id, "year": p.year}
    row, news = await _newer(rows, PlanView, key, event.sequence)
    if not news:
        return
    if row is None:
        row = rows.new(PlanView, **key)
    row.annual_investment = p.annual_investment
    row.version = event.sequence


async def on_report_submitted(rows: Rows, event: CloudEvent, p: reg.ReportSubmitted) -> None:
    key = {"epoch": rows.epoch, "project_id": p.project_id, "year": p.year, "month": p.month}
    row, news = await _newer(rows, ReportView, key, event.sequence)
    if not news:
        return
    if row is None:
        row = rows.new(ReportView, **key)
    row.ytd_investment = p.ytd_investment
    row.version = event.sequence


# ---- kuaiche.issues
async def on_issue(rows: Rows, event: CloudEvent, p: iss.IssueEvent) -> None:
    row, news = await _newer(
        rows, ProblemView, {"epoch": rows.epoch, "issue_id": p.issue_id}, event.sequence
    )
    if not news:
        return
    if row is None:
        row = rows.new(ProblemView, epoch=rows.epoch, issue_id=p.issue_id, title="")
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
async def on_allocated(rows: Rows, event: CloudEvent, p: fac.FactorAllocated) -> None:
    key = {"epoch": rows.epoch, "allocation_id": p.allocation_id}
    row, news = await _newer(rows, AllocationView, key, event.sequence)
    if not news:
        return
    if row is None:
        row = rows.new(AllocationView, **key)
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
    rows: Rows, event: CloudEvent, p: fac.AllocationEvent
) -> AllocationView | None:
    row, news = await _newer(
        rows,
        AllocationView,
        {"epoch": rows.epoch, "allocation_id": p.allocation_id},
        event.sequence,
    )
    if row is None:
        log.warning("%s for unknown allocation %s ignored", event.type, p.allocation_id)
        return None
    if not news:
        return None
    row.version = event.sequence
    return row


async def on_used(rows: Rows, event: CloudEvent, p: fac.FactorUsed) -> None:
    if row := await _known_allocation(rows, event, p):
        row.used_on = p.used_on


async def on_released(rows: Rows, event: CloudEvent, p: fac.FactorReleased) -> None:
    if row := await _known_allocation(rows, event, p):
        row.released_on = p.released_on


async def on_credit_granted(rows: Rows, event: CloudEvent, p: fac.CreditGranted) -> None:
    key = {"epoch": rows.epoch, "grant_id": p.grant_id}
    if await rows.get(GrantView, key) is None:  # a grant never changes once made
        row = rows.new(GrantView, **key)
        row.project_id, row.county, row.year = p.project_id, p.county, p.year
        row.amount, row.granted_on, row.version = p.amount, p.granted_on, event.sequence


Apply = Callable[[Rows, CloudEvent, Any], Awaitable[None]]


@dataclass(frozen=True)
class Handlers:
    """One upstream topic's handlers by event type (a `HandlerFactory` of the service's
    definition). Called with an epoch, they are the inbox consumer's handlers into that epoch's
    rows of its transaction; a rebuild applies `by_type` to its fold instead."""

    by_type: Mapping[str, Apply]

    def __call__(self, epoch: int) -> dict[str, Handler]:
        return {t: partial(_in_session, fn, epoch) for t, fn in self.by_type.items()}


async def _in_session(
    fn: Apply, epoch: int, session: AsyncSession, event: CloudEvent, payload: Any
) -> None:
    await fn(SessionRows(session, epoch), event, payload)


_REGISTRY: dict[str, Apply] = {
    reg.ProjectRegistered.TYPE: on_project_snapshot,
    reg.ProjectUpdated.TYPE: on_project_snapshot,
    reg.ProjectStageChanged.TYPE: on_stage_changed,
    reg.ListChanged.TYPE: on_list_changed,
    reg.PlanSet.TYPE: on_plan_set,
    reg.ReportSubmitted.TYPE: on_report_submitted,
}
# The registry's events whose rule reads the project's row first (`on_project_snapshot`,
# `_known_project`): a batch reads those rows in one statement before its handlers run.
_READ_THE_PROJECT = frozenset(
    {
        reg.ProjectRegistered.TYPE,
        reg.ProjectUpdated.TYPE,
        reg.ProjectStageChanged.TYPE,
        reg.ListChanged.TYPE,
    }
)


def prefetch(epoch: int) -> BeforeBatch:
    """The live consumer's `before_batch` into `epoch`: the rows of the projects the batch's
    registry events are about, read and locked at once (one statement, not one per event)."""

    async def before_batch(session: AsyncSession, events: list[tuple[CloudEvent, Any]]) -> None:
        projects = [p.project_id for e, p in events if e.type in _READ_THE_PROJECT]
        if projects:
            await SessionRows(session, epoch).load_projects(projects)

    return before_batch


_ISSUES: dict[str, Apply] = {  # a problem's moves (not the calendar's uploads)
    model.TYPE: on_issue for model in iss.EVENT_TYPES.values() if issubclass(model, iss.IssueEvent)
}
_FACTORS: dict[str, Apply] = {
    fac.FactorAllocated.TYPE: on_allocated,
    fac.FactorUsed.TYPE: on_used,
    fac.FactorReleased.TYPE: on_released,
    fac.CreditGranted.TYPE: on_credit_granted,
}

registry_handlers = Handlers(_REGISTRY)  # into projects, plans and reports
factors_handlers = Handlers(_FACTORS)  # into allocations and credit grants
issues_handlers = Handlers(_ISSUES)  # into problems
