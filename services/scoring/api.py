"""HTTP routes of the scoring service: parse, call a use case (which authorises), shape the
answer. The configuration, the region table and the feed are dependencies, so tests hand theirs
in through the same door production uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from sqlalchemy import select

from services.scoring import access, readmodel, service
from services.scoring.config import ScoringConfig, load_config
from services.scoring.domain.exposure import ExposureKind
from services.scoring.domain.scheme import SchemeBody
from services.scoring.models import Publication
from services.scoring.readmodel import FEED, Feed
from services.scoring.schemas import (
    EpochPublic,
    ExposureList,
    PublicationIn,
    PublicationPage,
    PublicationPublic,
    PublicationSummary,
    RankingPublic,
    SchemeList,
    SchemePublic,
    ScorecardList,
    ScorecardPublic,
)
from shared.db import paginate
from shared.errors import NotFound
from shared.fields import MAX_YEAR, MIN_YEAR
from shared.http.app import CurrentUser, DbSession, RuntimeDep, Uow
from shared.regions import RegionTable, load_region_table

router = APIRouter(prefix="/v1", tags=["scoring"])

Year = Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR)]
Month = Annotated[int, Query(ge=1, le=12)]
SchemeVersion = Annotated[str | None, Query(max_length=40, alias="scheme")]


def get_config() -> ScoringConfig:
    return load_config()


def get_feed() -> Feed:
    return FEED


def get_regions(runtime: RuntimeDep) -> RegionTable:
    return load_region_table(runtime.settings.regions_file)


Config = Annotated[ScoringConfig, Depends(get_config)]
Regions = Annotated[RegionTable, Depends(get_regions)]


# ---- scorecards, ranking, exposure (live: the current read model, the scheme in effect)
@router.get("/scorecards", response_model=ScorecardList)
async def list_scorecards(
    user: CurrentUser,
    session: DbSession,
    config: Config,
    regions: Regions,
    year: Year,
    month: Month,
    scheme: SchemeVersion = None,
) -> ScorecardList:
    counties = access.divisions_visible(user, list(regions.codes))
    result = await service.scored(session, service.period_of(year, month), config, regions, scheme)
    return ScorecardList(
        year=year, month=month, scheme_version=result.version, items=result.cards(counties)
    )


@router.get("/scorecards/{county}", response_model=ScorecardPublic)
async def get_scorecard(
    user: CurrentUser,
    session: DbSession,
    config: Config,
    regions: Regions,
    year: Year,
    month: Month,
    county: Annotated[str, Path(max_length=40)],
    scheme: SchemeVersion = None,
) -> ScorecardPublic:
    division = regions.find(county)
    if division is None:
        raise NotFound(f"no division {county!r} in {regions.name}")
    access.ensure_card(user, division.code)
    result = await service.scored(session, service.period_of(year, month), config, regions, scheme)
    return result.cards([division.code])[0]


@router.get("/rankings", response_model=RankingPublic)
async def get_ranking(
    user: CurrentUser,
    session: DbSession,
    config: Config,
    regions: Regions,
    year: Year,
    month: Month,
    scheme: SchemeVersion = None,
) -> RankingPublic:
    access.ensure_live_ranking(user)
    result = await service.scored(session, service.period_of(year, month), config, regions, scheme)
    return RankingPublic(
        year=year, month=month, scheme_version=result.version, items=result.ranking()
    )


@router.get("/exposure", response_model=ExposureList)
async def get_exposure(
    user: CurrentUser,
    session: DbSession,
    config: Config,
    regions: Regions,
    kind: ExposureKind,
    year: Year,
    month: Month,
    colour: Annotated[str | None, Query(pattern="^(yellow|red)$")] = None,
) -> ExposureList:
    counties = access.divisions_visible(user, list(regions.codes))
    result = await service.scored(session, service.period_of(year, month), config, regions)
    items = [i for i in result.exposure(kind, counties) if colour is None or i.colour == colour]
    return ExposureList(kind=kind, year=year, month=month, items=items, total=len(items))


# ---- the assessment method
@router.get("/schemes", response_model=SchemeList)
async def list_schemes(user: CurrentUser, session: DbSession) -> SchemeList:
    return SchemeList(items=await service.list_schemes(session))


@router.get("/schemes/{version}", response_model=SchemePublic)
async def get_scheme(
    user: CurrentUser, session: DbSession, version: Annotated[str, Path(max_length=40)]
) -> SchemePublic:
    return await service.get_scheme(session, version)


@router.put("/schemes/{version}", response_model=SchemePublic)
async def put_scheme(
    user: CurrentUser,
    uow: Uow,
    response: Response,
    version: Annotated[str, Path(max_length=40)],
    body: Annotated[SchemeBody, Body()],
) -> SchemePublic:
    scheme, created = await service.put_scheme(uow, user, version, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return scheme


# ---- publications (通报): frozen snapshots
@router.post("/publications", response_model=PublicationPublic, status_code=201)
async def publish(
    user: CurrentUser,
    uow: Uow,
    config: Config,
    regions: Regions,
    response: Response,
    body: PublicationIn,
) -> PublicationPublic:
    period = service.period_of(body.year, body.month)
    publication = await service.publish(uow, user, period, body.scheme, body.note, config, regions)
    response.headers["Location"] = f"/v1/publications/{publication.id}"
    return publication


@router.get("/publications", response_model=PublicationPage)
async def list_publications(
    user: CurrentUser,
    session: DbSession,
    year: Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PublicationPage:
    query = select(Publication).order_by(Publication.year.desc(), Publication.month.desc())
    if year is not None:
        query = query.where(Publication.year == year)
    rows, total = await paginate(session, query, limit, offset)
    return PublicationPage(
        items=[
            PublicationSummary(
                id=r.id,
                year=r.year,
                month=r.month,
                scheme_version=r.scheme_version,
                published_at=r.published_at,
            )
            for r in rows
        ],
        total=total,
    )


@router.get("/publications/{publication_id}", response_model=PublicationPublic)
async def get_publication(
    user: CurrentUser, session: DbSession, publication_id: Annotated[str, Path(max_length=36)]
) -> PublicationPublic:
    return await service.get_publication(session, user, publication_id)


# ---- administration: the read model
@router.get("/admin/epochs", response_model=list[EpochPublic])
async def list_epochs(user: CurrentUser, session: DbSession) -> list[EpochPublic]:
    user.require_commander()
    return [
        EpochPublic.model_validate(e, from_attributes=True) for e in await readmodel.epochs(session)
    ]


@router.post("/admin/rebuild", response_model=EpochPublic)
async def rebuild(
    user: CurrentUser,
    runtime: RuntimeDep,
    feed: Annotated[Feed, Depends(get_feed)],
    force: bool = False,
) -> EpochPublic:
    """Replay every upstream topic from its beginning into a fresh read model, which then takes
    over. Answers when it has (a few seconds on a broker: it waits for the log to go quiet).
    `force` abandons a rebuild still marked as running (409 otherwise)."""
    user.require_commander()
    epoch = await readmodel.rebuild(runtime, user.actor, feed, force=force)
    return EpochPublic.model_validate(epoch, from_attributes=True)
