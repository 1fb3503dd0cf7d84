"""HTTP routes of the scoring service: parse, call a use case (which authorises), shape the
answer. The settings (`Runtime.config`), the region table and the feed are dependencies, so tests
hand theirs in through the same door production uses."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from services.scoring import access, queries, service
from services.scoring.domain import notice
from services.scoring.domain.exposure import Colour, ExposureKind, Thresholds
from services.scoring.domain.scheme import VERSION_PATTERN, SchemeBody
from services.scoring.readmodel import Feed
from services.scoring.schemas import (
    EpochList,
    EpochPublic,
    ExposureList,
    FiguresPublic,
    PublicationIn,
    PublicationPage,
    PublicationPublic,
    RankingPublic,
    SchemeList,
    SchemePublic,
    ScorecardList,
    ScorecardPublic,
)
from shared.fields import MAX_YEAR, MIN_YEAR
from shared.http.app import CurrentUser, DbSession, RuntimeDep, Uow
from shared.http.conventions import (
    DEFAULT_LIMIT,
    Limit,
    Offset,
    created,
    json_answer,
    set_etag,
)
from shared.regions import RegionTable, load_region_table

router = APIRouter(prefix="/v1", tags=["scoring"])

Year = Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR)]
Month = Annotated[int, Query(ge=1, le=12)]
SchemeVersion = Annotated[str | None, Query(max_length=40, pattern=VERSION_PATTERN, alias="scheme")]
Version = Annotated[str, Path(max_length=40, pattern=VERSION_PATTERN)]
# A route that reads a JSON body answers 400 when the body is not JSON at all.
BODY_PROBLEMS: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not JSON"}}
# A read of a period answers 409 when the month has not begun: a rule against today's date.
FUTURE_PERIOD: dict[int | str, dict[str, Any]] = {
    409: {"description": "The month asked for has not begun yet (today in Asia/Shanghai)"}
}
# A publication never changes once made: its ETag is always version 1.
PUBLICATION_VERSION = 1


async def get_thresholds(runtime: RuntimeDep) -> Thresholds:
    """The exposure thresholds of the service's settings (read once, at start). Dependencies
    that do no I/O are `async`, so FastAPI does not hand them to a thread per request."""
    thresholds: Thresholds = runtime.config.thresholds
    return thresholds


async def get_feed(runtime: RuntimeDep) -> Feed:
    return Feed.of(runtime.definition)


async def get_regions(runtime: RuntimeDep) -> RegionTable:
    return load_region_table(runtime.settings.regions_file)


Limits = Annotated[Thresholds, Depends(get_thresholds)]
Regions = Annotated[RegionTable, Depends(get_regions)]


# ---- scorecards, ranking, exposure (live: the current read model, the scheme in effect).
# The cards and the ranking come as JSON rendered by `queries` (kept per state of a period's
# standings); each route's response_model documents it.
@router.get("/scorecards", response_model=ScorecardList, responses=FUTURE_PERIOD)
async def list_scorecards(
    user: CurrentUser,
    session: DbSession,
    thresholds: Limits,
    regions: Regions,
    year: Year,
    month: Month,
    scheme: SchemeVersion = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Response:
    period = queries.period_of(year, month)
    return json_answer(
        await queries.scorecards(session, user, period, thresholds, regions, scheme, limit, offset)
    )


@router.get("/scorecards/{county}", response_model=ScorecardPublic, responses=FUTURE_PERIOD)
async def get_scorecard(
    user: CurrentUser,
    session: DbSession,
    thresholds: Limits,
    regions: Regions,
    year: Year,
    month: Month,
    county: Annotated[str, Path(max_length=40)],
    scheme: SchemeVersion = None,
) -> Response:
    period = queries.period_of(year, month)
    return json_answer(
        await queries.scorecard(session, user, period, thresholds, regions, county, scheme)
    )


@router.get("/rankings", response_model=RankingPublic, responses=FUTURE_PERIOD)
async def get_ranking(
    user: CurrentUser,
    session: DbSession,
    thresholds: Limits,
    regions: Regions,
    year: Year,
    month: Month,
    scheme: SchemeVersion = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Response:
    period = queries.period_of(year, month)
    return json_answer(
        await queries.ranking(session, user, period, thresholds, regions, scheme, limit, offset)
    )


@router.get("/exposure", response_model=ExposureList, responses=FUTURE_PERIOD)
async def get_exposure(
    user: CurrentUser,
    session: DbSession,
    thresholds: Limits,
    regions: Regions,
    kind: ExposureKind,
    year: Year,
    month: Month,
    colour: Colour | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> ExposureList:
    period = queries.period_of(year, month)
    return await queries.exposure(
        session, user, period, thresholds, regions, kind, colour, limit, offset
    )


@router.get(
    "/exposure/export",
    response_class=Response,
    responses={
        200: {
            "description": "the exposure list 通报 as a workbook: a title line, the headers, "
            "one row per entry (red first)",
            "content": {notice.XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        **FUTURE_PERIOD,
    },
)
async def export_exposure(
    user: CurrentUser,
    session: DbSession,
    thresholds: Limits,
    regions: Regions,
    kind: ExposureKind,
    year: Year,
    month: Month,
    colour: Colour | None = None,
) -> Response:
    """The whole list `GET /v1/exposure` pages, as XLSX; the same scope."""
    period = queries.period_of(year, month)
    items = await queries.exposure_items(session, user, period, thresholds, regions, kind, colour)
    own = access.own_division(user)  # the title names the county a county's list is of
    division = regions.find(own) if own else None
    scope = division.name if division else regions.name
    content = await asyncio.to_thread(notice.workbook, kind, period, scope, items)
    name = notice.filename(kind, period)
    return Response(
        content,
        media_type=notice.XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/figures", response_model=FiguresPublic, responses=FUTURE_PERIOD)
async def get_figures(
    user: CurrentUser,
    session: DbSession,
    thresholds: Limits,
    regions: Regions,
    year: Year,
    month: Month,
) -> FiguresPublic:
    """The figures of every division the caller may see, together (the city's; a county's
    own): counts and amounts summed, rates computed from the sums."""
    period = queries.period_of(year, month)
    return await queries.figures(session, user, period, thresholds, regions)


# ---- the assessment method
@router.get("/schemes", response_model=SchemeList)
async def list_schemes(
    user: CurrentUser, session: DbSession, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> SchemeList:
    return await queries.list_schemes(session, limit, offset)


@router.get("/schemes/{version}", response_model=SchemePublic)
async def get_scheme(
    user: CurrentUser, session: DbSession, response: Response, version: Version
) -> SchemePublic:
    scheme, revision = await queries.get_scheme(session, version)
    set_etag(response, revision)
    return scheme


@router.put(
    "/schemes/{version}",
    response_model=SchemePublic,
    responses={
        **BODY_PROBLEMS,
        201: {"model": SchemePublic, "description": "The scheme was new: created"},
    },
)
async def put_scheme(
    user: CurrentUser,
    uow: Uow,
    response: Response,
    version: Version,
    body: Annotated[SchemeBody, Body()],
) -> SchemePublic:
    """Create (201) or replace (200) scheme `version`; the ETag is its revision."""
    scheme, revision, is_new = await service.put_scheme(uow, user, version, body)
    if is_new:
        created(response, f"/v1/schemes/{version}", revision)
    else:
        set_etag(response, revision)
    return scheme


# ---- publications (通报): frozen snapshots
@router.post(
    "/publications", response_model=PublicationPublic, status_code=201, responses=BODY_PROBLEMS
)
async def publish(
    user: CurrentUser,
    uow: Uow,
    thresholds: Limits,
    regions: Regions,
    response: Response,
    body: PublicationIn,
) -> PublicationPublic:
    period = queries.period_of(body.year, body.month)
    publication = await service.publish(
        uow, user, period, body.scheme, body.note, thresholds, regions
    )
    created(response, f"/v1/publications/{publication.id}", PUBLICATION_VERSION)
    return publication


@router.get("/publications", response_model=PublicationPage)
async def list_publications(
    user: CurrentUser,
    session: DbSession,
    year: Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> PublicationPage:
    return await queries.list_publications(session, year, limit, offset)


@router.get("/publications/{publication_id}", response_model=PublicationPublic)
async def get_publication(
    user: CurrentUser,
    session: DbSession,
    response: Response,
    publication_id: Annotated[str, Path(max_length=36)],
) -> PublicationPublic:
    set_etag(response, PUBLICATION_VERSION)
    return await queries.get_publication(session, user, publication_id)


# ---- administration: the read model
@router.get("/admin/epochs", response_model=EpochList)
async def list_epochs(
    user: CurrentUser, session: DbSession, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> EpochList:
    user.require_commander()
    return await queries.list_epochs(session, limit, offset)


@router.post("/admin/rebuild", response_model=EpochPublic)
async def rebuild(
    user: CurrentUser,
    runtime: RuntimeDep,
    feed: Annotated[Feed, Depends(get_feed)],
    force: bool = False,
) -> EpochPublic:
    """Replay every upstream topic from its beginning into a fresh read model, which then takes
    over. Answers when it has (it reads each topic up to where it ended when the rebuild began).
    `force` abandons a rebuild still marked as running (409 otherwise)."""
    epoch = await service.rebuild(runtime, user, feed, force=force)
    return EpochPublic.model_validate(epoch, from_attributes=True)
