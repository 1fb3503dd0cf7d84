"""HTTP routes of the issues service: parse, call a use case (which authorises), shape the answer.

The clock and the configuration are dependencies (`now_utc`, `get_config`), so tests hand in a
fixed instant through the same door production uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.issues import queries, service
from services.issues.config import IssuesConfig
from services.issues.domain import workflow
from services.issues.domain.enums import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    Category,
    Colour,
    Complexity,
    Source,
    Status,
    Verdict,
)
from services.issues.models import Issue, IssueMove, Round
from services.issues.schemas import (
    AssignIn,
    CalendarUpload,
    CalendarYearPublic,
    CloseIn,
    ExtendIn,
    FeedbackIn,
    IssueCreate,
    IssueDetail,
    IssuePublic,
    MovePublic,
    ObjectIn,
    PlanIn,
    ResolveIn,
    RoundCreate,
    RoundPublic,
    StatsPublic,
    WorkdayAnswer,
)
from shared.calendar import WorkCalendar, today_in_shanghai
from shared.db import utcnow
from shared.fields import MAX_YEAR, MIN_YEAR, BusinessDate
from shared.http.app import CurrentUser, DbSession, RuntimeDep, Uow
from shared.http.conventions import DEFAULT_LIMIT, Limit, Offset, Page, created, set_etag

router = APIRouter(prefix="/v1", tags=["issues"])

Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR)]
IssueId = Annotated[str, Path(max_length=36)]
RoundId = Annotated[str, Path(max_length=36)]


def now_utc() -> dt.datetime:
    return utcnow()


def get_config(runtime: RuntimeDep) -> IssuesConfig:
    """The service's settings, read once when it started."""
    config: IssuesConfig = runtime.config
    return config


Now = Annotated[dt.datetime, Depends(now_utc)]
Config = Annotated[IssuesConfig, Depends(get_config)]


class _Today:
    """What colours need: today in Shanghai and the last deadline that reads blue."""

    def __init__(self, calendar: WorkCalendar, now: dt.datetime, config: IssuesConfig) -> None:
        self.today = today_in_shanghai(now)
        self.blue_to = calendar.blue_until(self.today, config.blue_working_days)


async def _today(runtime: RuntimeDep, now: Now, config: Config) -> _Today:
    # Its own short session: on SQLite any transaction holds the write lock, and a write
    # route's unit of work must not wait for a read of the calendar.
    async with runtime.session_factory() as session:
        calendar = await queries.load_calendar(session)
    return _Today(calendar, now, config)


TodayDep = Annotated[_Today, Depends(_today)]


def _public(issue: Issue, project_name: str | None, t: _Today) -> dict:
    st, cx = Status(issue.status), Complexity(issue.complexity)
    flagged = issue.overdue_at is not None
    return {
        "id": issue.id,
        "project_id": issue.project_id,
        "project_name": project_name,
        "county": issue.county,
        "category": Category(issue.category),
        "category_label": CATEGORY_LABELS[Category(issue.category)],
        "complexity": cx,
        "source": Source(issue.source),
        "round_id": issue.round_id,
        "title": issue.title,
        "description": issue.description,
        "status": st,
        "status_label": STATUS_LABELS[st],
        "unit": issue.unit,
        "co_units": list(issue.co_units or []),
        "working_days": issue.working_days,
        "assigned_on": issue.assigned_on,
        "plan_due": issue.plan_due,
        "deadline": issue.deadline,
        "plan": issue.plan,
        "planned_on": issue.planned_on,
        "resolution": issue.resolution,
        "resolved_on": issue.resolved_on,
        "on_time": issue.on_time,
        "feedback_accepted": issue.feedback_accepted,
        "verdict": Verdict(issue.verdict) if issue.verdict else None,
        "close_note": issue.close_note,
        "closed_on": issue.closed_on,
        "colour": workflow.colour(
            st, cx, issue.deadline, issue.plan_due, flagged, t.today, t.blue_to
        ),
        "overdue": workflow.is_overdue(st, issue.deadline, flagged, t.today),
        "overdue_flagged_at": issue.overdue_at,
        "reported_on": issue.reported_on,
        "reported_by": issue.reported_by,
        "reported_at": issue.reported_at,
        "updated_at": issue.updated_at,
        "version": issue.version,
    }


def _move(m: IssueMove) -> MovePublic:
    return MovePublic(
        action=m.action,
        from_status=Status(m.from_status) if m.from_status else None,
        to_status=Status(m.to_status),
        deadline=m.deadline,
        note=m.note,
        actor=m.actor,
        at=m.at,
    )


async def _detail(
    session: AsyncSession,
    user: CurrentUser,
    issue_id: str,
    t: _Today,
    response: Response,
    *,
    check_visible: bool = True,
) -> IssueDetail:
    """The problem with its history, its version as the answer's ETag."""
    issue, name, moves = await queries.get_issue(
        session, user, issue_id, check_visible=check_visible
    )
    set_etag(response, issue.version)
    return IssueDetail(**_public(issue, name, t), history=[_move(m) for m in moves])


# ---------------------------------------------------------------- problems
@router.post("/issues", status_code=status.HTTP_201_CREATED, response_model=IssueDetail)
async def report(
    body: IssueCreate,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    issue = await service.report_issue(uow, user, body, now)
    created(response, f"/v1/issues/{issue.id}", issue.version)
    return await _detail(session, user, issue.id, t, response)


@router.get("/issues", response_model=Page[IssuePublic])
async def list_issues(
    session: DbSession,
    user: CurrentUser,
    t: TodayDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    category: Category | None = None,
    colour: Colour | None = None,
    overdue: bool | None = None,
    project_id: Annotated[str | None, Query(max_length=36)] = None,
    round_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[IssuePublic]:
    rows, total = await queries.list_issues(
        session,
        user,
        queries.IssueFilter(
            status=status_,
            county=county,
            unit=unit,
            category=category,
            colour=colour,
            overdue=overdue,
            project_id=project_id,
            round_id=round_id,
        ),
        t.today,
        t.blue_to,
        limit,
        offset,
    )
    return Page(items=[IssuePublic(**_public(i, n, t)) for i, n in rows], total=total)


@router.get(
    "/issues/stats",
    response_model=StatsPublic,
    responses={409: {"description": "`to` is before `from`"}},
)
async def issue_stats(
    session: DbSession,
    user: CurrentUser,
    t: TodayDep,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    date_from: Annotated[BusinessDate | None, Query(alias="from")] = None,
    date_to: Annotated[BusinessDate | None, Query(alias="to")] = None,
) -> StatsPublic:
    figures = await queries.stats(
        session,
        user,
        county=county,
        unit=unit,
        date_from=date_from,
        date_to=date_to,
        today=t.today,
    )
    return StatsPublic.model_validate(figures)


@router.get("/issues/{issue_id}", response_model=IssueDetail)
async def get_issue(
    issue_id: IssueId, session: DbSession, user: CurrentUser, t: TodayDep, response: Response
) -> IssueDetail:
    return await _detail(session, user, issue_id, t, response)


@router.post("/issues/{issue_id}/assign", response_model=IssueDetail)
async def assign(
    issue_id: IssueId,
    body: AssignIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    config: Config,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.assign(uow, user, issue_id, body, config, now)
    return await _detail(session, user, issue_id, t, response)


@router.post("/issues/{issue_id}/object", response_model=IssueDetail)
async def object_(
    issue_id: IssueId,
    body: ObjectIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    config: Config,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.object_to_assignment(uow, user, issue_id, body, config, now)
    # The unit no longer holds the problem, yet the answer shows it the move it just made.
    return await _detail(session, user, issue_id, t, response, check_visible=False)


@router.post("/issues/{issue_id}/plan", response_model=IssueDetail)
async def plan(
    issue_id: IssueId,
    body: PlanIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.submit_plan(uow, user, issue_id, body, now)
    return await _detail(session, user, issue_id, t, response)


@router.post("/issues/{issue_id}/extend", response_model=IssueDetail)
async def extend(
    issue_id: IssueId,
    body: ExtendIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    config: Config,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.extend(uow, user, issue_id, body, config, now)
    return await _detail(session, user, issue_id, t, response)


@router.post("/issues/{issue_id}/resolve", response_model=IssueDetail)
async def resolve(
    issue_id: IssueId,
    body: ResolveIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.resolve(uow, user, issue_id, body, now)
    return await _detail(session, user, issue_id, t, response)


@router.post("/issues/{issue_id}/feedback", response_model=IssueDetail)
async def feedback(
    issue_id: IssueId,
    body: FeedbackIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    config: Config,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.give_feedback(uow, user, issue_id, body, config, now)
    return await _detail(session, user, issue_id, t, response)


@router.post("/issues/{issue_id}/close", response_model=IssueDetail)
async def close(
    issue_id: IssueId,
    body: CloseIn,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    now: Now,
    t: TodayDep,
    response: Response,
) -> IssueDetail:
    await service.close(uow, user, issue_id, body, now)
    return await _detail(session, user, issue_id, t, response)


# ---------------------------------------------------------------- rounds
# A round is never changed once opened, so its version (the ETag) is always the first.
ROUND_VERSION = 1


def _round(r: Round, n: int) -> RoundPublic:
    return RoundPublic(
        id=r.id,
        number=r.number,
        name=r.name,
        started_on=r.started_on,
        ended_on=r.ended_on,
        note=r.note,
        issues=n,
        created_by=r.created_by,
        created_at=r.created_at,
    )


@router.post("/rounds", status_code=status.HTTP_201_CREATED, response_model=RoundPublic)
async def create_round(
    body: RoundCreate, uow: Uow, user: CurrentUser, now: Now, response: Response
) -> RoundPublic:
    row = await service.create_round(uow, user, body, now)
    created(response, f"/v1/rounds/{row.id}", ROUND_VERSION)
    return _round(row, 0)


@router.get("/rounds", response_model=Page[RoundPublic])
async def list_rounds(
    session: DbSession, _: CurrentUser, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> Page[RoundPublic]:
    rows, total = await queries.list_rounds(session, limit, offset)
    return Page(items=[_round(r, n) for r, n in rows], total=total)


@router.get("/rounds/{round_id}", response_model=RoundPublic)
async def get_round(round_id: RoundId, session: DbSession, _: CurrentUser) -> RoundPublic:
    return _round(*await queries.get_round(session, round_id))


# ---------------------------------------------------------------- calendar
# A year that neither the package nor an upload covers is 409 (`missing_year`), never guessed.
UNKNOWN_YEAR: dict[int | str, dict[str, Any]] = {
    409: {"description": "the working-day calendar of a year needed is not known"}
}


@router.get("/calendar/add-workdays", response_model=WorkdayAnswer, responses=UNKNOWN_YEAR)
async def add_workdays(
    session: DbSession,
    _: CurrentUser,
    start: Annotated[BusinessDate, Query(alias="from")],
    days: Annotated[int, Query(ge=1, le=366)],
) -> WorkdayAnswer:
    return WorkdayAnswer(date=await queries.add_workdays(session, start, days))


@router.get("/calendar/{year:int}", response_model=CalendarYearPublic, responses=UNKNOWN_YEAR)
async def calendar_year(year: Year, session: DbSession, _: CurrentUser) -> CalendarYearPublic:
    calendar = await queries.load_calendar(session)
    schedule = calendar.schedule(year)  # CalendarUnavailable (409) when nothing covers it
    row = await queries.uploaded_calendar(session, year)
    source = calendar.source(year)
    assert source is not None  # schedule() answered, so a schedule covers the year
    return CalendarYearPublic(
        year=year,
        source=source,
        holidays=sorted(schedule.holidays),
        workdays=sorted(schedule.workdays),
        note=row.note if row else None,
        uploaded_by=row.uploaded_by if row else None,
        uploaded_at=row.uploaded_at if row else None,
    )


@router.put("/calendar/{year:int}", response_model=CalendarYearPublic)
async def upload_calendar(
    year: Year, body: CalendarUpload, uow: Uow, user: CurrentUser, now: Now
) -> CalendarYearPublic:
    row = await service.upload_calendar(uow, user, year, body, now)
    return CalendarYearPublic(
        year=year,
        source="uploaded",
        holidays=[dt.date.fromisoformat(d) for d in row.holidays],
        workdays=[dt.date.fromisoformat(d) for d in row.workdays],
        note=row.note,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )
