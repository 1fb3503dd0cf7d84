"""HTTP routes of the registry: parse, authorise (via the use case), call, shape the answer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)

from services.registry import access, queries, service
from services.registry.domain.enums import LEVEL_LABELS, STAGE_LABELS, Level, Stage, Track
from services.registry.domain.milestones import days_overdue
from services.registry.importing import columns, mapping, reader
from services.registry.models import ListChange, Milestone, MonthlyReport, Project, StageChange
from services.registry.schemas import (
    PERIOD_PATTERN,
    AuditEvent,
    CountyTally,
    DivisionPublic,
    ImportResult,
    LevelTally,
    ListChangeIn,
    ListChangePublic,
    Location,
    MilestoneIn,
    MilestonePublic,
    MilestoneUpdate,
    PlanIn,
    PlanPublic,
    ProgressPublic,
    ProjectCodeInfo,
    ProjectCreate,
    ProjectDetail,
    ProjectPage,
    ProjectPublic,
    ProjectSummary,
    ProjectUpdate,
    RegionPublic,
    ReportIn,
    ReportPublic,
    StageChangePublic,
    StageMoveIn,
    StageTally,
)
from shared.clock import today_in_shanghai
from shared.errors import NotFound, PayloadTooLarge
from shared.http.app import CurrentUser, DbSession, RuntimeDep, Uow
from shared.http.conventions import (
    DEFAULT_LIMIT,
    IF_MATCH_REQUIRED,
    Cursor,
    Limit,
    Offset,
    Page,
    created,
    decode_cursor,
    encode_cursor,
    page_of,
    parse_if_match,
    set_etag,
)
from shared.regions import Division, RegionTable, load_region_table

router = APIRouter(prefix="/v1", tags=["registry"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024
XLSX = reader.XLSX


def regions_of(runtime: RuntimeDep) -> RegionTable:
    return load_region_table(runtime.settings.regions_file)


# the answer's fields a project row holds under the same name
_AS_STORED = (
    "id name county code total_investment planned_start planned_completion actual_start "
    "actual_completion withdrawn_on owner leader service_officer responsible_unit industry "
    "content version created_at updated_at"
).split()


def _public_fields(p: Project, regions: RegionTable) -> dict[str, Any]:
    """A project's public fields, for the answer's model to validate once."""
    division = regions.find(p.county)
    return {
        **{name: getattr(p, name) for name in _AS_STORED},
        "county_name": division.name if division else None,
        "level": Level(p.level) if p.level else None,
        "level_label": LEVEL_LABELS[Level(p.level)] if p.level else None,
        "key": p.level is not None,
        "track": Track(p.track),
        "stage": Stage(p.stage),
        "stage_label": STAGE_LABELS[Stage(p.stage)],
        "code_info": ProjectCodeInfo(
            format=p.code_format, year=p.code_year, month=p.code_month, region=p.code_region
        )
        if p.code and p.code_format and p.code_year and p.code_region
        else None,
        "tags": list(p.tags or []),
        "location": Location(lng=p.lng, lat=p.lat)
        if p.lng is not None and p.lat is not None
        else None,
    }


def _division(d: Division) -> DivisionPublic:
    return DivisionPublic(
        code=d.code, name=d.name, kind=d.kind, official=d.official, old_codes=list(d.old_codes)
    )


@router.get("/regions", response_model=RegionPublic)
async def regions(runtime: RuntimeDep, _: CurrentUser) -> RegionPublic:
    table = regions_of(runtime)
    divisions = [_division(d) for d in table.divisions]
    return RegionPublic(code=table.code, name=table.name, divisions=divisions)


@router.get("/regions/{code}", response_model=DivisionPublic)
async def region(code: str, runtime: RuntimeDep, _: CurrentUser) -> DivisionPublic:
    d = regions_of(runtime).find(code)
    if d is None:
        raise NotFound(f"division {code} not found")
    return _division(d)


def _detail(
    project: Project, history: Sequence[StageChange], regions: RegionTable
) -> ProjectDetail:
    return ProjectDetail(
        **_public_fields(project, regions),
        stage_history=[
            StageChangePublic(
                from_stage=Stage(h.from_stage) if h.from_stage else None,
                to_stage=Stage(h.to_stage),
                date=h.date,
                reason=h.reason,
                actor=h.actor,
                at=h.at,
            )
            for h in history
        ],
    )


@router.post("/projects", status_code=status.HTTP_201_CREATED, response_model=ProjectDetail)
async def create_project(
    body: ProjectCreate,
    uow: Uow,
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
) -> ProjectDetail:
    table = regions_of(runtime)
    # The history is the one entry the registration committed: no read after the commit.
    project, history = await service.register_project_with_history(uow, user, body, table)
    created(response, f"/v1/projects/{project.id}", project.version)
    return _detail(project, history, table)


def project_filter(
    county: str | None = None,
    level: Level | None = None,
    key: bool | None = None,
    stage: Stage | None = None,
    track: Track | None = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> queries.ProjectFilter:
    """The filters of the project list, its summary and the ledger export."""
    return queries.ProjectFilter(
        county=county, level=level, key=key, stage=stage, track=track, tag=tag, q=q
    )


Filter = Annotated[queries.ProjectFilter, Depends(project_filter)]
UNKNOWN_COUNTY: dict[int | str, dict[str, Any]] = {
    409: {"description": "county names no division of the region table"}
}
COUNTY_OR_OFFSET: dict[int | str, dict[str, Any]] = {
    409: {"description": "an unknown county, or a cursor with an offset"}
}


@router.get(
    "/projects",
    response_model=ProjectPage,
    response_model_exclude_unset=True,  # `next` and `total_exact` only when they tell something
    responses=COUNTY_OR_OFFSET,
)
async def list_projects(
    session: DbSession,
    user: CurrentUser,
    runtime: RuntimeDep,
    f: Filter,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> ProjectPage:
    table = regions_of(runtime)
    after = decode_cursor(cursor) if cursor is not None else None
    page = await queries.list_projects(session, user, f, table, limit, offset, after)
    answer = ProjectPage(
        items=[ProjectPublic(**_public_fields(p, table)) for p in page.items], total=page.total
    )
    if page.after:
        answer.next = encode_cursor(*page.after)
    if not page.exact:
        answer.total_exact = False
    return answer


@router.get("/projects/summary", response_model=ProjectSummary, responses=UNKNOWN_COUNTY)
async def summarise_projects(
    session: DbSession, user: CurrentUser, runtime: RuntimeDep, f: Filter
) -> ProjectSummary:
    """The projects the filters match (as the list's), counted with their total investment."""
    table = regions_of(runtime)
    s = await queries.summary(session, user, f, table)
    return ProjectSummary(
        projects=s.total.projects,
        total_investment=s.total.total_investment,
        key_projects=s.key_projects,
        by_level=[
            LevelTally(level=k, label=LEVEL_LABELS[k], **asdict(t)) for k, t in s.by_level.items()
        ],
        by_stage=[
            StageTally(stage=k, label=STAGE_LABELS[k], **asdict(t)) for k, t in s.by_stage.items()
        ],
        by_county=[
            CountyTally(county=c, name=getattr(table.find(c), "name", None), **asdict(t))
            for c, t in s.by_county.items()
        ],
    )


@router.get(
    "/projects/export",
    response_class=Response,
    responses={
        200: {
            "description": "the ledger 台账 of the projects the filters match, as the import "
            "template has it (it re-imports)",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        **UNKNOWN_COUNTY,
    },
)
async def export_ledger(
    session: DbSession, user: CurrentUser, runtime: RuntimeDep, f: Filter
) -> Response:
    table = regions_of(runtime)
    projects = await queries.all_projects(session, user, f, table)
    ctx = columns.Context(table)
    rows = [columns.ledger_row(p, ctx) for p in projects]
    content = await asyncio.to_thread(columns.ledger_xlsx, rows)  # off the event loop
    name = f"kuaiche-ledger-{today_in_shanghai().isoformat()}.xlsx"
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/projects/import/template",
    response_class=Response,
    responses={200: {"description": "the ledger template", "content": {XLSX: {}, "text/csv": {}}}},
)
async def import_template(
    _: CurrentUser, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx"
) -> Response:
    if format == "csv":
        return Response(
            columns.ledger_template_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kuaiche-ledger-template.csv"'},
        )
    return Response(
        columns.ledger_template_xlsx(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="kuaiche-ledger-template.xlsx"'},
    )


# The file part is CSV or XLSX: its name's suffix says which, else its Content-Type.
_LEDGER_FILE_TYPES = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "encoding": {"file": {"contentType": f"{reader.CSV}, {reader.XLSX}"}}
            }
        }
    }
}


@router.post(
    "/projects/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    openapi_extra=_LEDGER_FILE_TYPES,
    responses={
        415: {"description": "the file is neither .csv nor .xlsx, by its name or Content-Type"}
    },
)
async def import_ledger(
    file: Annotated[UploadFile, File()], uow: Uow, user: CurrentUser, runtime: RuntimeDep
) -> ImportResult:
    """A ledger 台账 (.csv or .xlsx, at most 20 MiB): all its projects, or none. A file of
    another type is 415, a larger one 413; a ledger with errors 409, each naming its row and
    column."""
    access.ensure_writer(user)  # a department may not import either, not only a viewer
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            "the file is larger than 20 MiB", errors=[{"field": "file", "message": "too large"}]
        )
    table = regions_of(runtime)
    # parsing a large sheet takes a while: off the event loop, so other requests go on
    ledger = await asyncio.to_thread(
        mapping.read_ledger, file.filename or "", content, table, file.content_type
    )
    projects = await service.import_projects(uow, user, ledger, table)
    return ImportResult(imported=len(projects), ids=[p.id for p in projects])


@router.get("/projects/{project_id}", response_model=ProjectDetail)
async def get_project(
    project_id: str, session: DbSession, user: CurrentUser, runtime: RuntimeDep, response: Response
) -> ProjectDetail:
    project = await queries.get_project(session, user, project_id)
    set_etag(response, project.version)
    history = await queries.stage_history(session, project.id)
    return _detail(project, history, regions_of(runtime))


@router.get("/projects/{project_id}/history", response_model=Page[AuditEvent])
async def project_history(
    project_id: str,
    session: DbSession,
    user: CurrentUser,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[AuditEvent]:
    """The audit trail: every change of the project as the event it emitted (who, when, what)."""
    events, total = await queries.audit_trail(session, user, project_id, limit, offset)
    items = [
        AuditEvent(type=e.type, sequence=e.sequence, actor=e.actor, time=e.time, data=e.data)
        for e in events
    ]
    return Page[AuditEvent](items=items, total=total)


@router.patch(
    "/projects/{project_id}", response_model=ProjectPublic, openapi_extra=IF_MATCH_REQUIRED
)
async def patch_project(
    project_id: str,
    body: ProjectUpdate,
    uow: Uow,
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
    request: Request,
) -> ProjectPublic:
    expected = parse_if_match(request.headers.get("if-match"), "the project")
    project = await service.update_project(uow, user, project_id, expected, body)
    set_etag(response, project.version)
    return ProjectPublic(**_public_fields(project, regions_of(runtime)))


@router.post("/projects/{project_id}/stage", response_model=ProjectPublic)
async def move_stage(
    project_id: str,
    body: StageMoveIn,
    uow: Uow,
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
) -> ProjectPublic:
    project = await service.move_stage(uow, user, project_id, body)
    set_etag(response, project.version)
    return ProjectPublic(**_public_fields(project, regions_of(runtime)))


@router.put("/projects/{project_id}/plans/{year}", response_model=PlanPublic)
async def put_plan(
    project_id: str,
    year: Annotated[int, Path(ge=2000, le=2100)],
    body: PlanIn,
    uow: Uow,
    user: CurrentUser,
) -> PlanPublic:
    project, plan = await service.set_plan(uow, user, project_id, year, body)
    return PlanPublic(
        project_id=project_id,
        year=year,
        annual_investment=plan.annual_investment,
        monthly_targets={int(m): Decimal(v) for m, v in plan.monthly_targets.items()},
        version=project.version,
    )


def _report(r: MonthlyReport) -> ReportPublic:
    return ReportPublic(
        project_id=r.project_id,
        period=f"{r.year:04d}-{r.month:02d}",
        ytd_investment=r.ytd_investment,
        month_investment=r.month_investment,
        started=r.started,
        progress_note=r.progress_note,
        correction_note=r.correction_note,
        submitted_by=r.submitted_by,
        submitted_at=r.submitted_at,
    )


@router.post(
    "/projects/{project_id}/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportPublic,
)
async def submit_report(
    project_id: str, body: ReportIn, uow: Uow, user: CurrentUser, response: Response
) -> ReportPublic:
    project, report = await service.submit_report(uow, user, project_id, body)
    answer = _report(report)
    created(response, f"/v1/projects/{project_id}/reports/{answer.period}", project.version)
    return answer


@router.get("/projects/{project_id}/reports/{period}", response_model=ReportPublic)
async def get_report(
    project_id: str,
    period: Annotated[str, Path(pattern=PERIOD_PATTERN, description="YYYY-MM")],
    session: DbSession,
    user: CurrentUser,
) -> ReportPublic:
    return _report(await queries.get_report(session, user, project_id, period))


@router.get(
    "/projects/{project_id}/progress",
    response_model=ProgressPublic,
    responses={409: {"description": "as_of lies in another year than year"}},
)
async def get_progress(
    project_id: str,
    session: DbSession,
    user: CurrentUser,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="YYYY-MM")] = None,
) -> ProgressPublic:
    view = await queries.progress(session, user, project_id, year, as_of)
    f = view.figures
    return ProgressPublic(
        project_id=project_id,
        year=year,
        annual_plan=view.annual_plan,
        ytd_actual=view.ytd_actual,
        target_to_date=view.target_to_date,
        completion_rate=f.completion_rate,
        time_elapsed=f.time_elapsed,
        lag_points=f.lag_points,
        plan_rate_to_date=f.plan_rate_to_date,
        as_of=f"{year:04d}-{view.as_of_month:02d}",
        reports=[_report(r) for r in view.reports],
    )


def _milestone(m: Milestone, today: dt.date) -> MilestonePublic:
    days = days_overdue(m.planned_date, m.actual_date, today)
    return MilestonePublic(
        id=m.id,
        project_id=m.project_id,
        name=m.name,
        planned_date=m.planned_date,
        actual_date=m.actual_date,
        note=m.note,
        overdue=days > 0,
        days_overdue=days,
    )


@router.post(
    "/projects/{project_id}/milestones",
    status_code=status.HTTP_201_CREATED,
    response_model=MilestonePublic,
)
async def add_milestone(
    project_id: str, body: MilestoneIn, uow: Uow, user: CurrentUser, response: Response
) -> MilestonePublic:
    project, milestone = await service.add_milestone(uow, user, project_id, body)
    created(response, f"/v1/projects/{project_id}/milestones/{milestone.id}", project.version)
    return _milestone(milestone, today_in_shanghai())


@router.get("/projects/{project_id}/milestones/{milestone_id}", response_model=MilestonePublic)
async def get_milestone(
    project_id: str, milestone_id: str, session: DbSession, user: CurrentUser
) -> MilestonePublic:
    milestone = await queries.get_milestone(session, user, project_id, milestone_id)
    return _milestone(milestone, today_in_shanghai())


@router.patch("/projects/{project_id}/milestones/{milestone_id}", response_model=MilestonePublic)
async def update_milestone(
    project_id: str, milestone_id: str, body: MilestoneUpdate, uow: Uow, user: CurrentUser
) -> MilestonePublic:
    return _milestone(
        await service.update_milestone(uow, user, project_id, milestone_id, body),
        today_in_shanghai(),
    )


@router.get("/projects/{project_id}/milestones", response_model=Page[MilestonePublic])
async def list_milestones(
    project_id: str,
    session: DbSession,
    user: CurrentUser,
    overdue: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[MilestonePublic]:
    today = today_in_shanghai()
    items = [_milestone(m, today) for m in await queries.list_milestones(session, user, project_id)]
    if overdue is not None:
        items = [m for m in items if m.overdue == overdue]
    return Page[MilestonePublic](items=page_of(items, limit, offset), total=len(items))


def _list_change(c: ListChange) -> ListChangePublic:
    return ListChangePublic.model_validate(c, from_attributes=True)


@router.post(
    "/projects/{project_id}/list-changes",
    status_code=status.HTTP_201_CREATED,
    response_model=ListChangePublic,
)
async def change_list(
    project_id: str, body: ListChangeIn, uow: Uow, user: CurrentUser, response: Response
) -> ListChangePublic:
    project, change = await service.change_list(uow, user, project_id, body)
    created(response, f"/v1/projects/{project_id}/list-changes/{change.id}", project.version)
    return _list_change(change)


@router.get("/projects/{project_id}/list-changes/{change_id}", response_model=ListChangePublic)
async def get_list_change(
    project_id: str,
    change_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: DbSession,
    user: CurrentUser,
) -> ListChangePublic:
    return _list_change(await queries.get_list_change(session, user, project_id, change_id))


@router.get("/projects/{project_id}/list-changes", response_model=Page[ListChangePublic])
async def project_list_changes(
    project_id: str,
    session: DbSession,
    user: CurrentUser,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[ListChangePublic]:
    items, total = await queries.list_changes(session, user, project_id, None, limit, offset)
    return Page[ListChangePublic](items=[_list_change(c) for c in items], total=total)


@router.get("/list-changes", response_model=Page[ListChangePublic])
async def all_list_changes(
    session: DbSession,
    user: CurrentUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[ListChangePublic]:
    items, total = await queries.list_changes(session, user, None, year, limit, offset)
    return Page[ListChangePublic](items=[_list_change(c) for c in items], total=total)
