"""Scoring's reads: the current epoch's facts assessed for a period and scored by the scheme in
effect (scorecards, the ranking, the exposure lists), the schemes, and the publications as
published. Rules live in `domain/`; who-may-see-what in `access`; routes only call these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import access, readmodel, standings
from services.scoring.domain.exposure import Colour, Exposure, ExposureKind, Thresholds
from services.scoring.domain.figures import (
    Assessment,
    DivisionFigures,
    Facts,
    Value,
    assess,
    combine,
)
from services.scoring.domain.metrics import METRICS, Kind
from services.scoring.domain.periods import Period
from services.scoring.domain.ranking import Score, score
from services.scoring.domain.scheme import (
    DEFAULT_SCHEME,
    DEFAULT_VERSION,
    SchemeBody,
    stored_scheme,
)
from services.scoring.domain.standings import Kept
from services.scoring.models import (
    AllocationView,
    Epoch,
    GrantView,
    PlanView,
    ProblemView,
    ProjectView,
    Publication,
    ReportView,
    Scheme,
)
from services.scoring.schemas import (
    EpochList,
    EpochPublic,
    ExposureItem,
    ExposureList,
    FactorSupportPublic,
    FiguresPublic,
    IndicatorScorePublic,
    PublicationPage,
    PublicationPublic,
    PublicationSummary,
    RankingEntry,
    RankingPublic,
    SchemeList,
    SchemePublic,
    ScorecardList,
    ScorecardPublic,
)
from shared.amounts import format_amount
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import is_postgres, one_statement, paginate
from shared.errors import NotFound, RuleViolation
from shared.http.conventions import page_of, rendered
from shared.rates import format_rate
from shared.regions import RegionTable


# ---- periods and schemes
def period_of(year: int, month: int, today: dt.date | None = None) -> Period:
    """The period asked for; a month that has not begun yet has no figures to score. That is a
    rule against today's date, which the schema cannot state: 409, not 422."""
    period = Period(year, month)
    today = today or today_in_shanghai()
    if period > Period.of(today):
        raise RuleViolation(
            f"{period} has not begun (today is {today.isoformat()} in Shanghai)",
            errors=[{"field": "month", "message": "a future period"}],
        )
    return period


async def scheme_in_effect(
    session: AsyncSession, period: Period, version: str | None = None
) -> tuple[str, SchemeBody]:
    """The scheme asked for by version, else the stored one with the latest `effective_from`
    not after the period (the last set wins a tie), else the built-in default."""
    if version is not None:
        if version == DEFAULT_VERSION:
            return DEFAULT_VERSION, DEFAULT_SCHEME
        stored = await session.get(Scheme, version)
        if stored is None:
            raise NotFound(f"scheme {version!r} not found")
        return stored.version, stored_scheme(stored.body)
    stored = await session.scalar(standings.in_effect(period))
    if stored is None:
        return DEFAULT_VERSION, DEFAULT_SCHEME
    return stored.version, stored_scheme(stored.body)


# A scheme's body by version and revision: a revision never changes, so it is read once.
_BODIES: dict[tuple[str, int], SchemeBody] = {}


async def scheme_of_revision(
    session: AsyncSession, period: Period, found: tuple[str, int] | None
) -> tuple[str, SchemeBody]:
    """The scheme in effect that a read found by version and revision (None: the default)."""
    if found is None:
        return DEFAULT_VERSION, DEFAULT_SCHEME
    body = _BODIES.get(found)
    if body is None:
        row = await session.get(Scheme, found[0])
        if row is None or row.revision != found[1]:
            return await scheme_in_effect(session, period)
        body = stored_scheme(row.body)
        if len(_BODIES) < 1000:
            _BODIES[found] = body
    return found[0], body


def scheme_public(version: str, body: SchemeBody, row: Scheme | None = None) -> SchemePublic:
    return SchemePublic(
        version=version,
        name=body.name,
        effective_from=body.effective_from,
        indicators=body.indicators,
        tie_break=body.tie_break,
        reward_tiers=body.reward_tiers,
        max_score=body.max_score,
        builtin=row is None,
        set_by=row.set_by if row else None,
        set_at=row.set_at if row else None,
    )


async def list_schemes(session: AsyncSession, limit: int, offset: int) -> SchemeList:
    """The built-in default first, then the stored ones by `effective_from` and version."""
    rows = (
        await session.scalars(select(Scheme).order_by(Scheme.effective_from, Scheme.version))
    ).all()
    schemes = [scheme_public(DEFAULT_VERSION, DEFAULT_SCHEME)] + [
        scheme_public(r.version, stored_scheme(r.body), r) for r in rows
    ]
    return SchemeList(items=page_of(schemes, limit, offset), total=len(schemes))


async def get_scheme(session: AsyncSession, version: str) -> tuple[SchemePublic, int]:
    """The scheme and its revision (the built-in default never changes: revision 1)."""
    if version == DEFAULT_VERSION:
        return scheme_public(DEFAULT_VERSION, DEFAULT_SCHEME), 1
    row = await session.get(Scheme, version)
    if row is None:
        raise NotFound(f"scheme {version!r} not found")
    return scheme_public(row.version, stored_scheme(row.body), row), row.revision


# ---- the assessment
async def one_snapshot(session: AsyncSession) -> None:
    """On PostgreSQL, read what follows in one snapshot (call it before the transaction's first
    read): a rebuild that takes over (and deletes the old epoch) meanwhile cannot leave a
    half-read model."""
    if is_postgres(session):
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def load_facts(session: AsyncSession, *, in_snapshot: bool = False) -> Facts:
    """The current epoch's rows, in one snapshot (`one_snapshot`; so this must be the
    transaction's first read unless `in_snapshot` says the snapshot is taken already)."""
    if not in_snapshot:
        await one_snapshot(session)
    epoch = await readmodel.current_epoch(session)

    async def rows(model: Any) -> Sequence[Any]:
        # plain rows (attribute access by column), not ORM objects: a read needs no identity map
        table = model.__table__
        return (await session.execute(select(table).where(table.c.epoch == epoch))).all()

    return Facts(
        projects=await rows(ProjectView),
        plans=await rows(PlanView),
        reports=await rows(ReportView),
        problems=await rows(ProblemView),
        allocations=await rows(AllocationView),
        grants=await rows(GrantView),
    )


class Ranked:
    """A period's figures and scores: what the cards and the ranking are cut from."""

    def __init__(
        self,
        period: Period,
        figures: dict[str, DivisionFigures],
        version: str,
        scheme: SchemeBody,
        regions: RegionTable,
        scores: list[Score] | None = None,
    ) -> None:
        self.period = period
        self.figures = figures
        self.version = version
        self.scheme = scheme
        self.regions = regions
        self.scores: list[Score] = score(scheme, figures) if scores is None else scores

    def name(self, county: str) -> str:
        division = self.regions.find(county)
        return division.name if division else county

    def ranking(self) -> list[RankingEntry]:
        return [
            RankingEntry(
                county=s.county, name=self.name(s.county), score=s.total, rank=s.rank, tier=s.tier
            )
            for s in self.scores
        ]

    def cards(self, counties: Sequence[str] | None = None) -> list[ScorecardPublic]:
        wanted = set(counties) if counties is not None else None
        return [
            _card(s, self.figures[s.county], self.name(s.county), self.period, self.version)
            for s in self.scores
            if wanted is None or s.county in wanted
        ]


class Scored(Ranked):
    """A period assessed from the facts and scored: the exposure lists besides."""

    def __init__(
        self, assessment: Assessment, version: str, scheme: SchemeBody, regions: RegionTable
    ) -> None:
        super().__init__(assessment.period, assessment.figures, version, scheme, regions)
        self.assessment = assessment

    def exposure(
        self, kind: ExposureKind, counties: Sequence[str] | None = None
    ) -> list[ExposureItem]:
        wanted = set(counties) if counties is not None else None
        return [
            _exposure_item(e, self.name(e.county))
            for e in self.assessment.exposures
            if e.kind == kind and (wanted is None or e.county in wanted)
        ]


async def scored(
    session: AsyncSession,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    scheme_version: str | None = None,
    *,
    in_snapshot: bool = False,
) -> Scored:
    facts = await load_facts(session, in_snapshot=in_snapshot)
    version, scheme = await scheme_in_effect(session, period, scheme_version)
    assessment = assess(period, facts, regions.codes, thresholds)
    return Scored(assessment, version, scheme, regions)


async def ranked(
    session: AsyncSession,
    period: Period,
    regions: RegionTable,
    kept: Kept,
    scheme_version: str | None = None,
) -> Ranked:
    """The period's standings as kept (`standings.read`), scored again only if the scheme in
    effect or the scheme asked for is not the one they were scored by: what `scored` gives."""
    if scheme_version is None:
        version, scheme = await scheme_of_revision(session, period, kept.scheme)
    else:
        version, scheme = await scheme_in_effect(session, period, scheme_version)
    return Ranked(period, kept.figures, version, scheme, regions, kept.scores(version, scheme))


# A kept period's answers, rendered: (what, the rows as read, the regions) → JSON
_RENDERED: dict[Hashable, bytes] = {}
MAX_RENDERED = 512


async def answer(
    session: AsyncSession,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    scheme_version: str | None,
    what: Hashable,
    shape: Callable[[Ranked], BaseModel],
) -> bytes:
    """The JSON of what `shape` cuts from the period's standings, as the route's response model
    renders it. Kept standings are one statement, outside a transaction (`one_statement`);
    scored by the scheme in effect, the answer depends only on their rows as read and on `what`
    it shows (paging, divisions): rendered once per state of the rows. Else computed as before."""
    await one_statement(session)
    kept = await standings.read(session, period, thresholds, regions)
    if kept is None:
        await session.rollback()  # back to no transaction: `scored` opens its snapshot
        return rendered(shape(await scored(session, period, thresholds, regions, scheme_version)))
    if scheme_version is not None:  # a scheme asked for by version: scored for this read
        return rendered(shape(await ranked(session, period, regions, kept, scheme_version)))
    key = (what, kept.state, regions)
    body = _RENDERED.get(key)
    if body is None:
        body = rendered(shape(await ranked(session, period, regions, kept)))
        if len(_RENDERED) >= MAX_RENDERED:
            del _RENDERED[next(iter(_RENDERED))]  # the oldest
        _RENDERED[key] = body
    return body


def shown(metric: str, value: Value) -> str | int | None:
    """A raw figure as printed: rates and gaps with one decimal, amounts plain, counts as is."""
    if value is None or isinstance(value, int):
        return value
    kind = METRICS[metric].kind
    if kind in (Kind.RATE, Kind.GAP):
        return format_rate(value)
    if kind is Kind.COUNT:
        return int(value)
    return format_amount(value)


def _card(
    s: Score, figures: DivisionFigures, name: str, period: Period, version: str
) -> ScorecardPublic:
    return ScorecardPublic(
        county=s.county,
        name=name,
        year=period.year,
        month=period.month,
        scheme_version=version,
        indicators=[
            IndicatorScorePublic(
                key=i.indicator.key,
                name=i.indicator.name,
                metric=i.indicator.metric,
                formula=i.indicator.formula.type,
                value=shown(i.indicator.metric, i.value),
                rank=i.rank,
                points=i.points,
            )
            for i in s.indicators
        ],
        total=s.total,
        rank=s.rank,
        tier=s.tier,
        figures={k: shown(k, v) for k, v in figures.values.items()},
        key_projects_by_level=figures.key_projects_by_level,
        factor_support=_support(figures),
    )


def _support(figures: DivisionFigures) -> dict[str, FactorSupportPublic]:
    return {
        f: FactorSupportPublic(count=x.count, amount=x.amount, unit=x.unit)
        for f, x in figures.factor_support.items()
    }


def _exposure_item(e: Exposure, county_name: str) -> ExposureItem:
    return ExposureItem(
        kind=e.kind,
        colour=e.colour,
        county=e.county,
        county_name=county_name,
        project_id=e.project_id,
        project_name=e.project_name,
        issue_id=e.issue_id,
        reason=e.reason,
        detail=e.detail,
    )


# ---- what the routes answer
async def scorecards(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    scheme_version: str | None,
    limit: int,
    offset: int,
) -> bytes:
    """The cards of the divisions the principal may see, in the ranking's order (JSON)."""
    counties = access.divisions_visible(principal, list(regions.codes))

    def shape(result: Ranked) -> ScorecardList:
        cards = result.cards(counties)
        return ScorecardList(
            year=period.year,
            month=period.month,
            scheme_version=result.version,
            items=page_of(cards, limit, offset),
            total=len(cards),
        )

    what = ("cards", tuple(counties), limit, offset)
    return await answer(session, period, thresholds, regions, scheme_version, what, shape)


async def scorecard(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    county: str,
    scheme_version: str | None = None,
) -> bytes:
    """One division's card, by its code or name (JSON)."""
    division = regions.find(county)
    if division is None:
        raise NotFound(f"no division {county!r} in {regions.name}")
    access.ensure_card(principal, division.code)
    code = division.code

    def card(result: Ranked) -> ScorecardPublic:
        return result.cards([code])[0]

    return await answer(session, period, thresholds, regions, scheme_version, ("card", code), card)


async def ranking(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    scheme_version: str | None,
    limit: int,
    offset: int,
) -> bytes:
    """The live ranking of every division (the command office's until it is published; JSON)."""
    access.ensure_live_ranking(principal)

    def shape(result: Ranked) -> RankingPublic:
        entries = result.ranking()
        return RankingPublic(
            year=period.year,
            month=period.month,
            scheme_version=result.version,
            items=page_of(entries, limit, offset),
            total=len(entries),
        )

    what = ("ranking", limit, offset)
    return await answer(session, period, thresholds, regions, scheme_version, what, shape)


async def exposure_items(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    kind: ExposureKind,
    colour: Colour | None,
) -> list[ExposureItem]:
    """One exposure list of the divisions the principal may see, of one colour if asked."""
    counties = access.divisions_visible(principal, list(regions.codes))
    result = await scored(session, period, thresholds, regions)
    return [i for i in result.exposure(kind, counties) if colour is None or i.colour == colour]


async def exposure(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
    kind: ExposureKind,
    colour: Colour | None,
    limit: int,
    offset: int,
) -> ExposureList:
    items = await exposure_items(session, principal, period, thresholds, regions, kind, colour)
    return ExposureList(
        kind=kind,
        year=period.year,
        month=period.month,
        items=page_of(items, limit, offset),
        total=len(items),
    )


CITY = "city"


async def figures(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    thresholds: Thresholds,
    regions: RegionTable,
) -> FiguresPublic:
    """The figures of every division the principal may see together: the city's for the
    command office and viewers, a county's own for a county (the scorecards' figures, added up
    and the rates computed from the sums)."""
    counties = access.divisions_visible(principal, list(regions.codes))
    assessment = assess(period, await load_facts(session), regions.codes, thresholds)
    own = access.own_division(principal)
    scope = own or CITY
    division = regions.find(own) if own else None
    total = combine(scope, period, [assessment.figures[c] for c in counties])
    return FiguresPublic(
        year=period.year,
        month=period.month,
        scope=scope,
        name=division.name if division else regions.name,
        divisions=counties,
        figures={k: shown(k, v) for k, v in total.values.items()},
        key_projects_by_level=total.key_projects_by_level,
        factor_support=_support(total),
    )


async def list_epochs(session: AsyncSession, limit: int, offset: int) -> EpochList:
    """The read model's epochs, the latest first."""
    rows, total = await paginate(
        session, select(Epoch).order_by(Epoch.number.desc()), limit, offset
    )
    return EpochList(
        items=[EpochPublic.model_validate(e, from_attributes=True) for e in rows], total=total
    )


# ---- publications
async def published_as(session: AsyncSession, period: Period) -> str | None:
    """The id of the period's publication, if it is published."""
    return await session.scalar(
        select(Publication.id).where(
            Publication.year == period.year, Publication.month == period.month
        )
    )


async def list_publications(
    session: AsyncSession, year: int | None, limit: int, offset: int
) -> PublicationPage:
    """The publications, latest period first."""
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


async def scheme_row_public(session: AsyncSession, version: str, body: SchemeBody) -> SchemePublic:
    row = None if version == DEFAULT_VERSION else await session.get(Scheme, version)
    return scheme_public(version, body, row)


async def get_publication(
    session: AsyncSession, principal: Principal, publication_id: str
) -> PublicationPublic:
    """The snapshot as published, cut to what the principal may see (`access`)."""
    row = await session.get(Publication, publication_id)
    if row is None:
        raise NotFound(f"publication {publication_id} not found")
    publication = PublicationPublic.model_validate(row.snapshot)
    if access.sees_every_division(principal):
        return publication
    own = access.own_division(principal)
    return publication.model_copy(
        update={
            "scorecards": [c for c in publication.scorecards if c.county == own],
            "exposure": {
                kind: [e for e in items if e.county == own]
                for kind, items in publication.exposure.items()
            },
        }
    )
