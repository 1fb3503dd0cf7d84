"""The registry's use cases. Each runs in one unit of work: the change and its event commit
together. Rules live in `domain/`; who-may-do-what in `access`; routes only call these."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.registry import access
from services.registry.domain.enums import Level, ListChangeKind, Stage
from services.registry.domain.plans import target_to_date, validate_annual_plan
from services.registry.domain.progress import Progress, compute_progress
from services.registry.domain.project_code import ProjectCode, parse_project_code
from services.registry.domain.reports import parse_period, validate_report
from services.registry.domain.stages import plan_stage_move, validate_initial_stage
from services.registry.models import (
    AnnualPlan,
    ListChange,
    Milestone,
    MonthlyReport,
    Project,
    StageChange,
    outbox,
)
from services.registry.schemas import (
    ListChangeIn,
    MilestoneIn,
    MilestoneUpdate,
    PlanIn,
    ProjectCreate,
    ProjectUpdate,
    ReportIn,
    StageMoveIn,
)
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import paginate, utcnow
from shared.errors import (
    InvalidInput,
    KuaicheError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    RuleViolation,
)
from shared.events.catalogue import registry as ev
from shared.events.envelope import CloudEvent
from shared.regions import RegionTable
from shared.uow import UnitOfWork


# ---------------------------------------------------------------- helpers
def _code_fields(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {
            "code": None,
            "code_format": None,
            "code_year": None,
            "code_month": None,
            "code_region": None,
        }
    parsed: ProjectCode = parse_project_code(raw)
    return {
        "code": parsed.raw,
        "code_format": parsed.format,
        "code_year": parsed.year,
        "code_month": parsed.month,
        "code_region": parsed.region,
    }


def _check_dates(planned_start: dt.date | None, planned_completion: dt.date | None) -> None:
    if planned_start and planned_completion and planned_completion < planned_start:
        raise InvalidInput(
            "planned completion is before planned start",
            errors=[{"field": "planned_completion", "message": "must not be before planned_start"}],
        )


def snapshot(project: Project) -> dict[str, Any]:
    return {
        "project_id": project.id,
        "name": project.name,
        "county": project.county,
        "level": project.level,
        "track": project.track,
        "stage": project.stage,
        "code": project.code,
        "total_investment": project.total_investment,
        "planned_start": project.planned_start,
        "planned_completion": project.planned_completion,
        "actual_start": project.actual_start,
        "actual_completion": project.actual_completion,
        "leader": project.leader,
        "responsible_unit": project.responsible_unit,
        "industry": project.industry,
        "tags": list(project.tags or []),
        "version": project.version,
    }


async def _emit(uow: UnitOfWork, project: Project, actor: Principal, payload: Any) -> None:
    await uow.emit(
        payload,
        subject=project.id,
        county=project.county,
        actor=actor.actor,
        sequence=project.version,
    )


async def _load_for_write(session: AsyncSession, principal: Principal, project_id: str) -> Project:
    """The project, row-locked for this transaction, after checking the caller may change it."""
    project = await session.scalar(
        select(Project).where(Project.id == project_id).with_for_update()
    )
    if project is None:
        raise NotFound(f"project {project_id} not found")
    # Writing another county's project is 403 (reading it is 404): DESIGN.md, issue 2.
    access.ensure_writable(principal, project.county)
    return project


async def _touch(session: AsyncSession, project: Project) -> None:
    """Every change of the aggregate bumps its version (the event's `sequence`)."""
    project.updated_at = utcnow()
    await session.flush()


async def _flush_unique(session: AsyncSession, what: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise RuleViolation(f"{what} is already registered") from None


# ---------------------------------------------------------------- projects
async def _new_project(
    uow: UnitOfWork, principal: Principal, data: ProjectCreate, regions: RegionTable, today: dt.date
) -> Project:
    county = regions.resolve(data.county).code
    access.ensure_writable(principal, county)
    validate_initial_stage(data.stage, data.actual_start, data.actual_completion, today)
    _check_dates(data.planned_start, data.planned_completion)
    now = utcnow()
    project = Project(
        id=str(uuid.uuid4()),
        name=data.name,
        county=county,
        level=data.level.value if data.level else None,
        track=data.track.value,
        stage=data.stage.value,
        **_code_fields(data.code),
        total_investment=data.total_investment,
        planned_start=data.planned_start,
        planned_completion=data.planned_completion,
        actual_start=data.actual_start,
        actual_completion=data.actual_completion,
        owner=data.owner,
        leader=data.leader,
        service_officer=data.service_officer,
        responsible_unit=data.responsible_unit,
        industry=data.industry,
        tags=list(data.tags),
        content=data.content,
        lng=data.location.lng if data.location else None,
        lat=data.location.lat if data.location else None,
        created_at=now,
        updated_at=now,
        created_by=principal.actor,
    )
    uow.session.add(project)
    await _flush_unique(uow.session, f"project code {project.code}")
    uow.session.add(
        StageChange(
            project_id=project.id,
            from_stage=None,
            to_stage=project.stage,
            date=data.actual_completion or data.actual_start or today,
            reason="registered",
            actor=principal.actor,
            at=now,
        )
    )
    await _emit(uow, project, principal, ev.ProjectRegistered(**snapshot(project)))
    return project


async def register_project(
    uow: UnitOfWork, principal: Principal, data: ProjectCreate, regions: RegionTable
) -> Project:
    async with uow:
        return await _new_project(uow, principal, data, regions, today_in_shanghai())


async def import_projects(
    uow: UnitOfWork,
    principal: Principal,
    rows: Sequence[tuple[int, ProjectCreate]],
    regions: RegionTable,
    label: Callable[[str], str] = str,
) -> list[Project]:
    """All or nothing: every row (spreadsheet row number, project) is checked before anything
    is written, and the inserts share one transaction, so one bad row leaves nothing behind.
    Errors name the row and the column (`label` turns a field into the file's header)."""
    today = today_in_shanghai()
    errors: list[dict[str, Any]] = []
    seen_codes: dict[str, int] = {}

    def report(number: int, field: str, message: str) -> None:
        errors.append({"row": number, "column": label(field) if field else "", "message": message})

    for number, row in rows:
        checks: list[Callable[[ProjectCreate], object]] = [
            lambda r: access.ensure_writable(principal, regions.resolve(r.county).code),
            lambda r: validate_initial_stage(r.stage, r.actual_start, r.actual_completion, today),
            lambda r: _check_dates(r.planned_start, r.planned_completion),
            lambda r: _code_fields(r.code),
        ]
        for check in checks:
            try:
                check(row)
            except InvalidInput as exc:
                for f in exc.errors or [{"field": "", "message": exc.detail}]:
                    report(number, str(f.get("field") or ""), str(f["message"]))
            except KuaicheError as exc:  # Forbidden: a row outside the caller's county
                report(number, "county", exc.detail)
        if row.code:
            code = row.code.strip().upper()
            if code in seen_codes:
                report(number, "code", f"same code as row {seen_codes[code]}")
            seen_codes[code] = number
    async with uow:
        if seen_codes:
            taken = (
                await uow.session.scalars(
                    select(Project.code).where(Project.code.in_(list(seen_codes)))
                )
            ).all()
            for existing in taken:
                if existing is not None:
                    report(seen_codes[existing], "code", f"code {existing} is already registered")
        if errors:
            raise InvalidInput(
                f"ledger rejected: {len(errors)} errors; nothing was imported", errors=errors
            )
        return [await _new_project(uow, principal, row, regions, today) for _, row in rows]


def parse_if_match(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired("If-Match with the project's version is required")
    value = header.strip().removeprefix("W/").strip('"')
    # ASCII digits only ("²" is a digit to isdigit, not to int) and no more than a version needs
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise InvalidInput(
            "If-Match must be the project's version number",
            errors=[{"field": "If-Match", "message": "not a version"}],
        )
    return int(value)


async def update_project(
    uow: UnitOfWork,
    principal: Principal,
    project_id: str,
    expected_version: int,
    data: ProjectUpdate,
) -> Project:
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        if project.version != expected_version:
            raise PreconditionFailed(
                f"project {project_id} is at version {project.version}, not {expected_version}",
                current_version=project.version,
            )
        changes = data.model_dump(exclude_unset=True)
        if "code" in changes:
            changes.update(_code_fields(changes.pop("code")))
        if "location" in changes:
            location = changes.pop("location")
            changes["lng"] = location["lng"] if location else None
            changes["lat"] = location["lat"] if location else None
        for required in ("name", "track", "total_investment"):
            if required in changes and changes[required] is None:
                raise InvalidInput(
                    f"{required} cannot be null",
                    errors=[{"field": required, "message": "cannot be null"}],
                )
        if "tags" in changes and changes["tags"] is None:
            changes["tags"] = []
        changed = sorted(k for k, v in changes.items() if getattr(project, k) != v)
        if not changed:
            return project
        for key in changed:
            setattr(project, key, changes[key])
        _check_dates(project.planned_start, project.planned_completion)
        code = project.code  # read now: after a failed flush the session cannot load it
        try:
            await _touch(uow.session, project)
        except StaleDataError:
            raise PreconditionFailed(
                f"project {project_id} changed meanwhile; fetch it again"
            ) from None
        except IntegrityError:
            raise RuleViolation(f"project code {code} is already registered") from None
        await _emit(
            uow, project, principal, ev.ProjectUpdated(**snapshot(project), changed=changed)
        )
        return project


async def move_stage(
    uow: UnitOfWork, principal: Principal, project_id: str, move: StageMoveIn
) -> Project:
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        current = Stage(project.stage)
        try:
            planned = plan_stage_move(
                current,
                move.stage,
                on=move.date,
                actual_start=project.actual_start,
                today=today_in_shanghai(),
            )
        except InvalidInput as exc:  # the domain calls the move's date `on`; the API `date`
            for error in exc.errors:
                if error.get("field") == "on":
                    error["field"] = "date"
            raise
        project.stage = planned.to_stage.value
        project.actual_start = planned.actual_start
        project.actual_completion = planned.actual_completion
        project.withdrawn_on = planned.withdrawn_on
        await _touch(uow.session, project)
        uow.session.add(
            StageChange(
                project_id=project.id,
                from_stage=current.value,
                to_stage=project.stage,
                date=move.date,
                reason=move.reason,
                actor=principal.actor,
                at=utcnow(),
            )
        )
        await _emit(
            uow,
            project,
            principal,
            ev.ProjectStageChanged(
                project_id=project.id,
                from_stage=current.value,
                to_stage=project.stage,
                date=move.date,
                reason=move.reason,
                track=project.track,
                level=project.level,
                planned_start=project.planned_start,
                actual_start=project.actual_start,
                actual_completion=project.actual_completion,
            ),
        )
        return project


def _refuse_if_withdrawn(project: Project, what: str) -> None:
    if project.stage == Stage.WITHDRAWN:
        raise RuleViolation(f"project {project.id} is withdrawn (退出); {what} is not accepted")


# ---------------------------------------------------------------- plans and reports
async def set_plan(
    uow: UnitOfWork, principal: Principal, project_id: str, year: int, data: PlanIn
) -> tuple[Project, AnnualPlan]:
    if not 2000 <= year <= 2100:
        raise InvalidInput(
            "year out of range", errors=[{"field": "year", "message": "must be 2000–2100"}]
        )
    targets = validate_annual_plan(data.annual_investment, data.monthly_targets)
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        _refuse_if_withdrawn(project, "a plan")
        plan = await uow.session.get(AnnualPlan, (project_id, year))
        stored = {str(m): format(v, "f") for m, v in targets.items()}
        if plan is None:
            plan = AnnualPlan(project_id=project_id, year=year)
            uow.session.add(plan)
        plan.annual_investment = data.annual_investment
        plan.monthly_targets = stored
        plan.updated_at = utcnow()
        plan.updated_by = principal.actor
        await _touch(uow.session, project)
        await _emit(
            uow,
            project,
            principal,
            ev.PlanSet(
                project_id=project_id,
                year=year,
                annual_investment=data.annual_investment,
                monthly_targets=targets,
            ),
        )
        return project, plan


async def submit_report(
    uow: UnitOfWork, principal: Principal, project_id: str, data: ReportIn
) -> MonthlyReport:
    year, month = parse_period(data.period)
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        _refuse_if_withdrawn(project, "a monthly report")
        previous_ytd = await uow.session.scalar(
            select(MonthlyReport.ytd_investment)
            .where(
                MonthlyReport.project_id == project_id,
                MonthlyReport.year == year,
                MonthlyReport.month < month,
            )
            .order_by(MonthlyReport.month.desc())
            .limit(1)
        )
        next_ytd = await uow.session.scalar(
            select(MonthlyReport.ytd_investment)
            .where(
                MonthlyReport.project_id == project_id,
                MonthlyReport.year == year,
                MonthlyReport.month > month,
            )
            .order_by(MonthlyReport.month)
            .limit(1)
        )
        validate_report(
            data.period,
            data.ytd_investment,
            data.month_investment,
            data.correction_note,
            previous_ytd,
            today_in_shanghai(),
            next_ytd=next_ytd,
        )
        report = await uow.session.scalar(
            select(MonthlyReport).where(
                MonthlyReport.project_id == project_id,
                MonthlyReport.year == year,
                MonthlyReport.month == month,
            )
        )
        if report is None:
            report = MonthlyReport(project_id=project_id, year=year, month=month)
            uow.session.add(report)
        report.ytd_investment = data.ytd_investment
        report.month_investment = data.month_investment
        report.started = data.started
        report.progress_note = data.progress_note
        report.correction_note = data.correction_note
        report.submitted_by = principal.actor
        report.submitted_at = utcnow()
        await _touch(uow.session, project)
        await _emit(
            uow,
            project,
            principal,
            ev.ReportSubmitted(
                project_id=project_id,
                period=f"{year:04d}-{month:02d}",
                year=year,
                month=month,
                ytd_investment=data.ytd_investment,
                month_investment=data.month_investment,
                started=data.started,
                progress_note=data.progress_note,
                correction_note=data.correction_note,
            ),
        )
        return report


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
        if as_year != year:
            raise InvalidInput(
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


# ---------------------------------------------------------------- milestones (配档表)
async def add_milestone(
    uow: UnitOfWork, principal: Principal, project_id: str, data: MilestoneIn
) -> Milestone:
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        _refuse_if_withdrawn(project, "a milestone")
        _refuse_future(data.actual_date)
        milestone = Milestone(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=data.name,
            planned_date=data.planned_date,
            actual_date=data.actual_date,
            note=data.note,
            updated_at=utcnow(),
            updated_by=principal.actor,
        )
        uow.session.add(milestone)
        await _touch(uow.session, project)
        await _emit_milestone(uow, project, principal, milestone)
        return milestone


async def update_milestone(
    uow: UnitOfWork, principal: Principal, project_id: str, milestone_id: str, data: MilestoneUpdate
) -> Milestone:
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        _refuse_if_withdrawn(project, "a milestone update")
        milestone = await uow.session.get(Milestone, milestone_id)
        if milestone is None or milestone.project_id != project_id:
            raise NotFound(f"milestone {milestone_id} not found")
        changes = data.model_dump(exclude_unset=True)
        if changes.get("planned_date", True) is None:
            raise InvalidInput(
                "planned_date cannot be null",
                errors=[{"field": "planned_date", "message": "cannot be null"}],
            )
        _refuse_future(changes.get("actual_date"))
        for key, value in changes.items():
            setattr(milestone, key, value)
        milestone.updated_at = utcnow()
        milestone.updated_by = principal.actor
        await _touch(uow.session, project)
        await _emit_milestone(uow, project, principal, milestone)
        return milestone


def _refuse_future(actual: dt.date | None) -> None:
    if actual is not None and actual > today_in_shanghai():
        raise InvalidInput(
            "an actual date cannot be in the future",
            errors=[{"field": "actual_date", "message": "in the future"}],
        )


async def _emit_milestone(
    uow: UnitOfWork, project: Project, principal: Principal, m: Milestone
) -> None:
    await _emit(
        uow,
        project,
        principal,
        ev.MilestoneUpdated(
            project_id=project.id,
            milestone_id=m.id,
            name=m.name,
            planned_date=m.planned_date,
            actual_date=m.actual_date,
        ),
    )


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


def milestone_overdue(m: Milestone, today: dt.date) -> int:
    """Days past the planned date with no actual date; 0 when not overdue."""
    if m.actual_date is not None or m.planned_date >= today:
        return 0
    return (today - m.planned_date).days


# ---------------------------------------------------------------- list changes (增补/调整/退出)
async def change_list(
    uow: UnitOfWork, principal: Principal, project_id: str, data: ListChangeIn
) -> ListChange:
    principal.require_commander()
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        _refuse_if_withdrawn(project, "a list change")
        current = Level(project.level) if project.level else None
        target = _list_target(data, current)
        project.level = target.value if target else None
        await _touch(uow.session, project)
        change = ListChange(
            project_id=project_id,
            kind=data.kind.value,
            from_level=current.value if current else None,
            to_level=project.level,
            reason=data.reason,
            effective_date=data.effective_date,
            actor=principal.actor,
            at=utcnow(),
        )
        uow.session.add(change)
        await uow.session.flush()
        await _emit(
            uow,
            project,
            principal,
            ev.ListChanged(
                project_id=project_id,
                kind=change.kind,
                from_level=change.from_level,
                to_level=change.to_level,
                reason=change.reason,
                effective_date=change.effective_date,
            ),
        )
        return change


def _list_target(data: ListChangeIn, current: Level | None) -> Level | None:
    if data.kind is ListChangeKind.WITHDRAWN:
        if current is None:
            raise RuleViolation(
                "the project is not on the key list; there is nothing to withdraw (退出)"
            )
        if data.level is not None:
            raise InvalidInput(
                "a withdrawal takes no level",
                errors=[{"field": "level", "message": "must be empty"}],
            )
        return None
    if data.level is None:
        raise InvalidInput(
            f"{data.kind} needs the new level", errors=[{"field": "level", "message": "required"}]
        )
    if data.kind is ListChangeKind.ADDED and current is not None:
        raise RuleViolation(
            f"the project is already on the key list as {current}; use adjusted (调整)"
        )
    if data.kind is ListChangeKind.ADJUSTED:
        if current is None:
            raise RuleViolation("the project is not on the key list; use added (增补)")
        if data.level == current:
            raise RuleViolation(f"the project is already at level {current}")
    return data.level


async def list_changes(
    session: AsyncSession, principal: Principal, project_id: str | None, year: int | None
) -> list[ListChange]:
    query = select(ListChange).join(Project, Project.id == ListChange.project_id)
    if project_id is not None:
        await get_project(session, principal, project_id)
        query = query.where(ListChange.project_id == project_id)
    county = access.county_filter(principal, None)
    if county is not None:
        query = query.where(Project.county == county)
    if year is not None:
        query = query.where(
            ListChange.effective_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31))
        )
    return list(
        (await session.scalars(query.order_by(ListChange.effective_date, ListChange.id))).all()
    )


# ---------------------------------------------------------------- reads
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
    track: str | None = None
    tag: str | None = None
    q: str | None = None


async def list_projects(
    session: AsyncSession,
    principal: Principal,
    f: ProjectFilter,
    regions: RegionTable,
    limit: int,
    offset: int,
) -> tuple[list[Project], int]:
    query = select(Project)
    county = regions.resolve(f.county).code if f.county else None
    own = access.county_filter(principal, county)
    if county is not None and own != county:
        return [], 0
    if own is not None:
        query = query.where(Project.county == own)
    if f.level is not None:
        query = query.where(Project.level == f.level.value)
    if f.key is not None:
        query = query.where(Project.level.is_not(None) if f.key else Project.level.is_(None))
    if f.stage is not None:
        query = query.where(Project.stage == f.stage.value)
    if f.track is not None:
        query = query.where(Project.track == f.track)
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
    query = query.order_by(Project.created_at, Project.id)
    if f.tag is not None:  # tags are a JSON list; filtered here to stay portable across databases
        rows = [p for p in (await session.scalars(query)).all() if f.tag in (p.tags or [])]
        return rows[offset : offset + limit], len(rows)
    return await paginate(session, query, limit, offset)


async def count_projects(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Project)) or 0)
