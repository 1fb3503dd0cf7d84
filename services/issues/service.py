"""The issues service's commands. Each runs in one unit of work: the change, its history row and
its event commit together. Rules live in `domain/`; who-may-do-what in `access`; reads in
`queries`. Every use case takes `now` (an aware instant): the API passes its clock, the demo,
the overdue scan and the tests pass theirs, and "today" is that instant's date in
Asia/Shanghai. Settings arrive as a parameter (`config`), never read here."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

from services.issues import access
from services.issues.config import IssuesConfig
from services.issues.domain import workflow
from services.issues.domain.enums import Complexity, Status
from services.issues.domain.workflow import Action
from services.issues.models import CalendarYear, Issue, IssueMove, ProjectView, Round
from services.issues.queries import OPEN, load_calendar
from services.issues.schemas import (
    AssignIn,
    CalendarUpload,
    CloseIn,
    ExtendIn,
    FeedbackIn,
    IssueCreate,
    ObjectIn,
    PlanIn,
    ResolveIn,
    RoundCreate,
)
from shared.auth import Principal
from shared.calendar import WorkCalendar, YearSchedule, today_in_shanghai
from shared.errors import NotFound, RuleViolation
from shared.events.catalogue import issues as ev
from shared.uow import UnitOfWork

SCANNER = "system:overdue-scan"


# ---------------------------------------------------------------- calendar
async def upload_calendar(
    uow: UnitOfWork, principal: Principal, year: int, data: CalendarUpload, now: dt.datetime
) -> CalendarYear:
    """Store the schedule of `year` and publish it: every service reckons on the same days."""
    access.ensure_commander(principal, "uploads the State Council schedule")
    schedule = YearSchedule.build(year, data.holidays, data.workdays)
    holidays, workdays = sorted(schedule.holidays), sorted(schedule.workdays)
    async with uow:
        row = await uow.session.get(CalendarYear, year, with_for_update=True)
        if row is None:
            row = CalendarYear(year=year, version=0)  # its first upload makes it 1
            uow.session.add(row)
        row.version += 1
        row.holidays = [d.isoformat() for d in holidays]
        row.workdays = [d.isoformat() for d in workdays]
        row.note, row.uploaded_by, row.uploaded_at = data.note, principal.actor, now
        await uow.emit(
            ev.CalendarScheduleSet(
                year=year, holidays=holidays, workdays=workdays, note=data.note, version=row.version
            ),
            subject=f"calendar/{year}",
            county=None,
            actor=principal.actor,
            sequence=row.version,
            key=f"calendar-{year}",
        )
    return row


# ---------------------------------------------------------------- helpers
def _base(issue: Issue) -> dict[str, Any]:
    return {
        "issue_id": issue.id,
        "project_id": issue.project_id,
        "county": issue.county,
        "status": issue.status,
        "category": issue.category,
        "complexity": issue.complexity,
        "unit": issue.unit,
        "deadline": issue.deadline,
        "reported_on": issue.reported_on,
        "version": issue.version,
    }


async def _emit(uow: UnitOfWork, issue: Issue, actor: str, payload: Any) -> None:
    await uow.emit(
        payload,
        subject=issue.id,
        county=issue.county,
        actor=actor,
        sequence=issue.version,
        key=issue.project_id,
    )


def _record(
    uow: UnitOfWork,
    issue: Issue,
    action: str,
    from_status: str | None,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
) -> None:
    uow.session.add(
        IssueMove(
            issue_id=issue.id,
            action=action,
            from_status=from_status,
            to_status=issue.status,
            deadline=issue.deadline if issue.deadline is not None else issue.plan_due,
            note=note,
            actor=actor,
            at=now,
        )
    )


async def _load_for_write(uow: UnitOfWork, principal: Principal, issue_id: str) -> Issue:
    """The problem, row-locked for this transaction, after checking the caller may see it."""
    issue = await uow.session.scalar(select(Issue).where(Issue.id == issue_id).with_for_update())
    if issue is None:
        raise NotFound(f"problem {issue_id} not found")
    access.write_guard(principal, issue)
    return issue


async def _touch(uow: UnitOfWork, issue: Issue, now: dt.datetime) -> None:
    """Write the change now, bumping the problem's version (the event's `sequence`): the row is
    marked changed even when nothing but `updated_at` moved, and `updated_at` may equal its
    old value, so the UPDATE (and the version_id_col increment) always happens."""
    issue.updated_at = now
    flag_modified(issue, "updated_at")
    await uow.session.flush()


# ---------------------------------------------------------------- report
async def report_issue(
    uow: UnitOfWork, principal: Principal, data: IssueCreate, now: dt.datetime
) -> Issue:
    today = today_in_shanghai(now)
    async with uow:
        s = uow.session
        project = await s.get(ProjectView, data.project_id)
        if project is None:
            # 409, not 422: whether a project is known is the projection's current state (one
            # registered just now may not have arrived yet), not something the input breaks.
            raise RuleViolation(
                f"project {data.project_id} is not known: problems are reported for projects "
                "of the registry (one registered just now may take a moment to arrive)",
                errors=[{"field": "project_id", "message": "unknown project"}],
            )
        access.ensure_can_report(principal, project.county)
        if project.withdrawn:
            raise RuleViolation(
                f"project {project.id} ({project.name}) is withdrawn (退出): "
                "no new problems are taken for it"
            )
        if data.round_id is not None and await s.get(Round, data.round_id) is None:
            raise RuleViolation(
                f"supervision round {data.round_id} does not exist",
                errors=[{"field": "round_id", "message": "unknown round"}],
            )
        issue = Issue(
            id=str(uuid.uuid4()),
            project_id=project.id,
            county=project.county,
            category=data.category.value,
            complexity=data.complexity.value,
            source=data.source.value,
            round_id=data.round_id,
            title=data.title,
            description=data.description,
            status=Status.REPORTED.value,
            co_units=[],
            feedback_accepted=False,
            reported_on=today,
            reported_at=now,
            reported_by=principal.actor,
            updated_at=now,
        )
        s.add(issue)
        await s.flush()
        _record(uow, issue, "report", None, principal.actor, now)
        await _emit(
            uow,
            issue,
            principal.actor,
            ev.IssueReported(
                **_base(issue),
                title=issue.title,
                source=issue.source,
                round_id=issue.round_id,
            ),
        )
    return issue


# ---------------------------------------------------------------- moves
def _commander(what: str) -> Callable[[Principal, Issue], None]:
    return lambda principal, _: access.ensure_commander(principal, what)


def _unit(what: str) -> Callable[[Principal, Issue], None]:
    return lambda principal, issue: access.ensure_responsible_unit(principal, issue, what)


@dataclass(frozen=True)
class _Move:
    """A move under way: the row-locked problem, where it stood, where the table sends it."""

    issue: Issue
    action: str
    before: str
    target: Status


async def _begin(
    uow: UnitOfWork,
    principal: Principal,
    issue_id: str,
    action: Action,
    authorise: Callable[[Principal, Issue], None],
) -> _Move:
    """Load and lock the problem, check who may move it, and ask the transition table."""
    issue = await _load_for_write(uow, principal, issue_id)
    authorise(principal, issue)
    target = workflow.next_status(
        Status(issue.status),
        Complexity(issue.complexity),
        action,
        accepted=issue.feedback_accepted,
    )
    return _Move(issue, action.value, issue.status, target)


async def _commit(
    uow: UnitOfWork,
    move: _Move,
    actor: str,
    now: dt.datetime,
    note: str | None,
    event: Callable[[dict[str, Any]], Any],
) -> Issue:
    """Land the move: the new status and version, its history row, its event (made from the
    problem as it stands after the move)."""
    issue = move.issue
    issue.status = move.target.value
    await _touch(uow, issue, now)
    _record(uow, issue, move.action, move.before, actor, now, note)
    await _emit(uow, issue, actor, event(_base(issue)))
    return issue


async def assign(
    uow: UnitOfWork,
    principal: Principal,
    issue_id: str,
    data: AssignIn,
    config: IssuesConfig,
    now: dt.datetime,
) -> Issue:
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(uow, principal, issue_id, Action.ASSIGN, _commander("assigns problems"))
        issue = move.issue
        calendar = await load_calendar(uow.session)
        deadlines, days = _deadlines(calendar, issue, today, data.working_days, config)
        _assign_fields(issue, data.unit, data.co_units, days, today, deadlines)
        await _commit(
            uow, move, principal.actor, now, f"to {data.unit}", lambda base: _assigned(issue, base)
        )
    return issue


def _deadlines(
    calendar: WorkCalendar,
    issue: Issue,
    on: dt.date,
    working_days: int | None,
    config: IssuesConfig,
) -> tuple[workflow.Deadlines, int | None]:
    return workflow.assignment_deadlines(
        calendar,
        Complexity(issue.complexity),
        on,
        working_days,
        default_days=config.default_working_days,
        min_days=config.min_working_days,
        max_days=config.max_working_days,
        plan_days=config.plan_working_days,
    )


def _assign_fields(
    issue: Issue,
    unit: str,
    co_units: Sequence[str],
    days: int | None,
    on: dt.date,
    deadlines: workflow.Deadlines,
) -> None:
    issue.unit = unit
    issue.co_units = list(co_units)
    issue.working_days = days
    issue.assigned_on = on
    issue.deadline = deadlines.deadline
    issue.plan_due = deadlines.plan_due
    issue.plan = None
    issue.planned_on = None


def _assigned(issue: Issue, base: dict[str, Any]) -> ev.IssueAssigned:
    assert issue.assigned_on is not None
    return ev.IssueAssigned(
        **base,
        co_units=list(issue.co_units or []),
        working_days=issue.working_days,
        plan_due=issue.plan_due,
        assigned_on=issue.assigned_on,
    )


async def object_to_assignment(
    uow: UnitOfWork,
    principal: Principal,
    issue_id: str,
    data: ObjectIn,
    config: IssuesConfig,
    now: dt.datetime,
) -> Issue:
    """异议: the unit objects within its window; the problem goes back for reassignment."""
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(
            uow, principal, issue_id, Action.OBJECT, _unit("objects to its assignment")
        )
        issue = move.issue
        assert issue.assigned_on is not None and issue.unit is not None
        calendar = await load_calendar(uow.session)
        workflow.check_objection(calendar, issue.assigned_on, today, config.objection_working_days)
        objecting = issue.unit
        issue.unit = None
        issue.co_units = []
        issue.working_days = None
        issue.assigned_on = None
        issue.deadline = None
        issue.plan_due = None
        await _commit(
            uow,
            move,
            principal.actor,
            now,
            f"{objecting}: {data.reason}",
            lambda base: ev.IssueObjected(**base, objecting_unit=objecting, reason=data.reason),
        )
    return issue


async def submit_plan(
    uow: UnitOfWork, principal: Principal, issue_id: str, data: PlanIn, now: dt.datetime
) -> Issue:
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(uow, principal, issue_id, Action.PLAN, _unit("submits the plan"))
        issue = move.issue
        calendar = await load_calendar(uow.session)
        workflow.check_plan_deadline(calendar, today, data.deadline)
        issue.plan = data.plan
        issue.planned_on = today
        issue.deadline = data.deadline
        in_time = workflow.on_time(today, issue.plan_due)
        await _commit(
            uow,
            move,
            principal.actor,
            now,
            None if in_time else f"late: the plan was due {issue.plan_due}",
            lambda base: ev.IssuePlanned(**base, planned_on=today, on_time=in_time),
        )
    return issue


async def extend(
    uow: UnitOfWork,
    principal: Principal,
    issue_id: str,
    data: ExtendIn,
    config: IssuesConfig,
    now: dt.datetime,
) -> Issue:
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(
            uow, principal, issue_id, Action.EXTEND, _commander("grants extensions")
        )
        issue = move.issue
        if data.working_days > config.max_extension_working_days:
            # The maximum is configuration, which the schema does not state: 409.
            limit = f"one extension adds at most {config.max_extension_working_days} working days"
            raise RuleViolation(limit, errors=[{"field": "working_days", "message": limit}])
        assert issue.deadline is not None and issue.assigned_on is not None
        requested_on = data.requested_on or today
        calendar = await load_calendar(uow.session)
        previous = issue.deadline
        issue.deadline = workflow.extended_deadline(
            calendar, previous, issue.assigned_on, requested_on, today, data.working_days
        )
        await _commit(
            uow,
            move,
            principal.actor,
            now,
            f"{previous} → {issue.deadline} (requested {requested_on}): {data.reason}",
            lambda base: ev.IssueExtended(
                **base, previous_deadline=previous, requested_on=requested_on, reason=data.reason
            ),
        )
    return issue


async def resolve(
    uow: UnitOfWork, principal: Principal, issue_id: str, data: ResolveIn, now: dt.datetime
) -> Issue:
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(uow, principal, issue_id, Action.RESOLVE, _unit("reports it resolved"))
        issue = move.issue
        issue.resolution = data.resolution
        issue.resolved_on = today
        in_time = workflow.on_time(today, issue.deadline)
        issue.on_time = in_time
        issue.feedback_accepted = False
        await _commit(
            uow,
            move,
            principal.actor,
            now,
            data.resolution[:500],
            lambda base: ev.IssueResolved(**base, resolved_on=today, on_time=in_time),
        )
    return issue


async def give_feedback(
    uow: UnitOfWork,
    principal: Principal,
    issue_id: str,
    data: FeedbackIn,
    config: IssuesConfig,
    now: dt.datetime,
) -> Issue:
    """反馈: accepted, it stays resolved and awaits closing; rejected, it goes back to the unit
    with a new deadline counted from today (a complex problem owes a new plan)."""
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(
            uow,
            principal,
            issue_id,
            Action.ACCEPT if data.accepted else Action.REJECT,
            access.ensure_reporter_side,
        )
        issue = move.issue
        if data.accepted:
            issue.feedback_accepted = True
            return await _commit(
                uow,
                move,
                principal.actor,
                now,
                data.comment,
                lambda base: ev.IssueAccepted(**base, comment=data.comment),
            )
        assert issue.unit is not None and data.comment is not None
        comment = data.comment
        calendar = await load_calendar(uow.session)
        general = Complexity(issue.complexity) is Complexity.GENERAL
        deadlines, days = _deadlines(
            calendar, issue, today, issue.working_days if general else None, config
        )
        _assign_fields(issue, issue.unit, issue.co_units or [], days, today, deadlines)
        issue.resolution = None
        issue.resolved_on = None
        issue.on_time = None
        await _commit(
            uow,
            move,
            principal.actor,
            now,
            comment,
            lambda base: ev.IssueReopened(**base, comment=comment),
        )
    return issue


async def close(
    uow: UnitOfWork, principal: Principal, issue_id: str, data: CloseIn, now: dt.datetime
) -> Issue:
    today = today_in_shanghai(now)
    async with uow:
        move = await _begin(
            uow, principal, issue_id, Action.CLOSE, _commander("closes problems (销号)")
        )
        issue = move.issue
        resolved_on, in_time = issue.resolved_on, issue.on_time
        assert resolved_on is not None and in_time is not None  # only a resolved one closes
        issue.verdict = data.verdict.value
        issue.close_note = data.note
        issue.closed_on = today
        await _commit(
            uow,
            move,
            principal.actor,
            now,
            f"{data.verdict}" + (f": {data.note}" if data.note else ""),
            lambda base: ev.IssueClosed(
                **base,
                verdict=data.verdict.value,
                closed_on=today,
                note=data.note,
                resolved_on=resolved_on,
                on_time=in_time,
            ),
        )
    return issue


# ---------------------------------------------------------------- the overdue scan
async def flag_overdue(
    new_uow: Callable[[], UnitOfWork], now: dt.datetime, batch_size: int = 100
) -> int:
    """Flag each problem whose deadline passed while it was worked on, once: `overdue_at` is
    recorded with its event in one transaction, so a rerun finds nothing to do. Several
    scanners at once (worker replicas) each lock the rows they take and skip the rows another
    holds (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers). Returns how many
    this run flagged."""
    today = today_in_shanghai(now)
    flagged = 0
    while True:
        async with new_uow() as uow:
            rows = (
                await uow.session.scalars(
                    select(Issue)
                    .where(
                        Issue.status.in_(OPEN),
                        Issue.deadline < today,
                        Issue.overdue_at.is_(None),
                    )
                    .order_by(Issue.deadline, Issue.id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for issue in rows:
                issue.overdue_at = now
                await _commit(
                    uow,
                    _Move(issue, "overdue", issue.status, Status(issue.status)),
                    SCANNER,
                    now,
                    f"deadline {issue.deadline}",
                    lambda base: ev.IssueOverdue(**base, flagged_at=now, flagged_on=today),
                )
        flagged += len(rows)
        if len(rows) < batch_size:
            return flagged


# ---------------------------------------------------------------- rounds
# ---------------------------------------------------------------- rounds
async def create_round(
    uow: UnitOfWork, principal: Principal, data: RoundCreate, now: dt.datetime
) -> Round:
    access.ensure_commander(principal, "opens supervision rounds")
    async with uow:
        row = Round(
            id=str(uuid.uuid4()),
            number=data.number,
            name=data.name,
            started_on=data.started_on,
            ended_on=data.ended_on,
            note=data.note,
            created_by=principal.actor,
            created_at=now,
        )
        uow.session.add(row)
        try:
            await uow.session.flush()
        except IntegrityError:
            raise RuleViolation(f"supervision round number {data.number} already exists") from None
    return row
