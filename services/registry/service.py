"""The registry's commands: use cases that change state. Each runs in one unit of work: the
change and its event commit together. Rules live in `domain/`; who-may-do-what in `access`;
reads are in `queries`; routes only call these."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.registry import access
from services.registry.domain.divisions import resolve_county
from services.registry.domain.enums import Level, Stage
from services.registry.domain.listing import plan_list_change
from services.registry.domain.milestones import validate_actual_date
from services.registry.domain.plans import validate_annual_plan
from services.registry.domain.project_code import parse_project_code
from services.registry.domain.reports import parse_period, validate_report
from services.registry.domain.stages import (
    plan_stage_move,
    refuse_if_withdrawn,
    validate_initial_stage,
    validate_planned_dates,
)
from services.registry.importing.mapping import Ledger
from services.registry.models import (
    AnnualPlan,
    Base,
    ListChange,
    Milestone,
    MonthlyReport,
    Project,
    StageChange,
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
from shared.db import utcnow
from shared.errors import (
    InvalidInput,
    KuaicheError,
    NotFound,
    PreconditionFailed,
    RuleViolation,
)
from shared.events.catalogue import registry as ev
from shared.regions import RegionTable
from shared.uow import UnitOfWork

# ---------------------------------------------------------------- helpers
_NO_CODE = dict.fromkeys(("code", "code_format", "code_year", "code_month", "code_region"))


def _code_fields(raw: str | None) -> dict[str, Any]:
    """The project's code columns for a code as given (all None for no code)."""
    if raw is None or not raw.strip():
        return dict(_NO_CODE)
    parsed = parse_project_code(raw)
    return dict(
        zip(
            _NO_CODE,
            (parsed.raw, parsed.format, parsed.year, parsed.month, parsed.region),
            strict=True,
        )
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
    # Writing another county's project is 403 (reading it is 404: see `access`).
    access.ensure_writable(principal, project.county)
    return project


async def _touch(session: AsyncSession, project: Project) -> None:
    """Mark the aggregate changed and flush: the UPDATE bumps `version` (the mapper's version
    counter, which is the event's `sequence`), even when only a child row changed."""
    project.updated_at = utcnow()
    await session.flush()


# ---------------------------------------------------------------- projects
def _creation_checks(
    principal: Principal, regions: RegionTable, today: dt.date, fields: Mapping[str, Any]
) -> list[Callable[[], object]]:
    """What a project of these fields must pass to be registered: the caller may write its
    county (else Forbidden), the county is in the region table and its dates fit its initial
    stage and each other (else RuleViolation), its code is well formed (else InvalidInput). An
    absent county or stage is not checked."""
    checks: list[Callable[[], object]] = []
    if fields.get("county") is not None:
        county = fields["county"]
        checks.append(
            lambda: access.ensure_writable(principal, resolve_county(regions, county).code)
        )
    if fields.get("stage") is not None:
        stage, start, completion = (
            Stage(fields["stage"]),
            fields.get("actual_start"),
            fields.get("actual_completion"),
        )
        checks.append(lambda: validate_initial_stage(stage, start, completion, today))
    planned = (fields.get("planned_start"), fields.get("planned_completion"))
    checks.append(lambda: validate_planned_dates(*planned))
    checks.append(lambda: _code_fields(fields.get("code")))
    return checks


_PROJECTS, _STAGE_CHANGES = Base.metadata.tables["projects"], Base.metadata.tables["stage_changes"]
_PROJECT_COLUMNS = tuple(c.key for c in _PROJECTS.columns)
_STAGE_CHANGE_COLUMNS = tuple(c.key for c in _STAGE_CHANGES.columns if c.key != "id")
# bare statements, the values as parameters: the same statement every time, compiled once
_INSERT_PROJECT = insert(_PROJECTS)
_INSERT_STAGE_CHANGE = insert(_STAGE_CHANGES)


def _row(entity: object, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: getattr(entity, c) for c in columns}


async def _new_project(
    uow: UnitOfWork, principal: Principal, data: ProjectCreate, regions: RegionTable, today: dt.date
) -> tuple[Project, StageChange]:
    """The new project, and the first entry of its stage history."""
    for check in _creation_checks(principal, regions, today, dict(data)):
        check()
    county = resolve_county(regions, data.county).code
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
        withdrawn_on=None,
        owner=data.owner,
        leader=data.leader,
        service_officer=data.service_officer,
        responsible_unit=data.responsible_unit,
        industry=data.industry,
        tags=list(data.tags),
        content=data.content,
        lng=data.location.lng if data.location else None,
        lat=data.location.lat if data.location else None,
        version=1,  # what the mapper's version counter starts at
        created_at=now,
        updated_at=now,
        created_by=principal.actor,
    )
    registered = StageChange(
        project_id=project.id,
        from_stage=None,
        to_stage=project.stage,
        date=data.actual_completion or data.actual_start or today,
        reason="registered",
        actor=principal.actor,
        at=now,
    )
    # Plain INSERTs of the two rows (the project's first, by the foreign key), not the ORM's
    # flush: nothing is loaded, so there is nothing for the session to track, and the flush's
    # bookkeeping was most of a registration's CPU. The objects stay transient, as answers.
    session = uow.session
    try:
        await session.execute(_INSERT_PROJECT, _row(project, _PROJECT_COLUMNS))
    except IntegrityError:  # a unique code taken is the only conflict either row can meet
        raise RuleViolation(f"project code {project.code} is already registered") from None
    await session.execute(_INSERT_STAGE_CHANGE, _row(registered, _STAGE_CHANGE_COLUMNS))
    await _emit(uow, project, principal, ev.ProjectRegistered(**snapshot(project)))
    return project, registered


async def register_project(
    uow: UnitOfWork, principal: Principal, data: ProjectCreate, regions: RegionTable
) -> Project:
    project, _ = await register_project_with_history(uow, principal, data, regions)
    return project


async def register_project_with_history(
    uow: UnitOfWork, principal: Principal, data: ProjectCreate, regions: RegionTable
) -> tuple[Project, list[StageChange]]:
    """`register_project`, also giving the project's stage history as committed (the one
    entry a registration writes), so the answer to the request needs no read afterwards."""
    async with uow:
        project, registered = await _new_project(uow, principal, data, regions, today_in_shanghai())
        return project, [registered]


async def import_projects(
    uow: UnitOfWork, principal: Principal, ledger: Ledger, regions: RegionTable
) -> list[Project]:
    """All or nothing: every row of the ledger is checked by the rules a registration obeys
    before anything is written, and the inserts share one transaction, so one bad row leaves
    nothing behind. Errors name the spreadsheet row and the column as the file heads it, the
    ledger's own errors first; a field the ledger could not read is not checked again."""
    today = today_in_shanghai()
    errors = list(ledger.errors)
    codes: dict[str, int] = {}
    for row in ledger.rows:
        fields = dict(row.project) if row.project is not None else row.values
        for check in _creation_checks(principal, regions, today, fields):
            try:
                check()
            except (InvalidInput, RuleViolation) as exc:
                found = exc.errors or [{"field": "", "message": exc.detail}]
                problems = [(str(e.get("field") or ""), str(e["message"])) for e in found]
            except KuaicheError as exc:  # Forbidden: a county the caller may not write
                problems = [("county", exc.detail)]
            else:
                problems = []
            errors.extend(
                {"row": row.number, "column": ledger.label(f) if f else "", "message": m}
                for f, m in problems
                if f not in row.unread
            )
        if row.project is not None and row.project.code:
            codes[row.project.code.strip().upper()] = row.number
    async with uow:
        if codes:
            taken = (
                await uow.session.scalars(select(Project.code).where(Project.code.in_(list(codes))))
            ).all()
            for existing in taken:
                if existing is not None:
                    errors.append(
                        {
                            "row": codes[existing],
                            "column": ledger.label("code"),
                            "message": f"code {existing} is already registered",
                        }
                    )
        if errors:
            raise RuleViolation(
                f"ledger rejected: {len(errors)} errors; nothing was imported",
                errors=sorted(errors, key=lambda e: e["row"] or 0),
            )
        projects = [row.project for row in ledger.rows if row.project is not None]
        return [(await _new_project(uow, principal, p, regions, today))[0] for p in projects]


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
        if "tags" in changes and changes["tags"] is None:
            changes["tags"] = []
        changed = sorted(k for k, v in changes.items() if getattr(project, k) != v)
        if not changed:
            return project
        for key in changed:
            setattr(project, key, changes[key])
        validate_planned_dates(project.planned_start, project.planned_completion)
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
        except RuleViolation as exc:  # the domain calls the move's date `on`; the API `date`
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
        refuse_if_withdrawn(Stage(project.stage), project.id, "a plan")
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
) -> tuple[Project, MonthlyReport]:
    year, month = parse_period(data.period)
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        refuse_if_withdrawn(Stage(project.stage), project.id, "a monthly report")
        # The year's reports in one query (at most twelve): the month's own, and the months
        # before and after it that its year-to-date figure must fit between.
        year_reports = {
            r.month: r
            for r in await uow.session.scalars(
                select(MonthlyReport).where(
                    MonthlyReport.project_id == project_id, MonthlyReport.year == year
                )
            )
        }
        before = [m for m in year_reports if m < month]
        after = [m for m in year_reports if m > month]
        previous_ytd = year_reports[max(before)].ytd_investment if before else None
        next_ytd = year_reports[min(after)].ytd_investment if after else None
        validate_report(
            data.period,
            data.ytd_investment,
            data.month_investment,
            data.correction_note,
            previous_ytd,
            today_in_shanghai(),
            next_ytd=next_ytd,
        )
        report = year_reports.get(month)
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
        return project, report


# ---------------------------------------------------------------- milestones (配档表)
async def add_milestone(
    uow: UnitOfWork, principal: Principal, project_id: str, data: MilestoneIn
) -> tuple[Project, Milestone]:
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        refuse_if_withdrawn(Stage(project.stage), project.id, "a milestone")
        validate_actual_date(data.actual_date, today_in_shanghai())
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
        return project, milestone


async def update_milestone(
    uow: UnitOfWork, principal: Principal, project_id: str, milestone_id: str, data: MilestoneUpdate
) -> Milestone:
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        refuse_if_withdrawn(Stage(project.stage), project.id, "a milestone update")
        milestone = await uow.session.get(Milestone, milestone_id)
        if milestone is None or milestone.project_id != project_id:
            raise NotFound(f"milestone {milestone_id} not found")
        changes = data.model_dump(exclude_unset=True)
        validate_actual_date(changes.get("actual_date"), today_in_shanghai())
        for key, value in changes.items():
            setattr(milestone, key, value)
        milestone.updated_at = utcnow()
        milestone.updated_by = principal.actor
        await _touch(uow.session, project)
        await _emit_milestone(uow, project, principal, milestone)
        return milestone


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


# ---------------------------------------------------------------- list changes (增补/调整/退出)
async def change_list(
    uow: UnitOfWork, principal: Principal, project_id: str, data: ListChangeIn
) -> tuple[Project, ListChange]:
    principal.require_commander()
    async with uow:
        project = await _load_for_write(uow.session, principal, project_id)
        refuse_if_withdrawn(Stage(project.stage), project.id, "a list change")
        current = Level(project.level) if project.level else None
        target = plan_list_change(current, data.kind, data.level)
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
        return project, change
