"""Scoring's use cases: read the current epoch's facts, assess a period, score it by the scheme in
effect, and publish. Rules live in `domain/`; who-may-see-what in `access`; routes only call
these."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import access, readmodel
from services.scoring.config import ScoringConfig
from services.scoring.domain.exposure import Exposure, ExposureKind
from services.scoring.domain.figures import Assessment, DivisionFigures, Facts, Value, assess
from services.scoring.domain.metrics import METRICS, Kind
from services.scoring.domain.periods import Period
from services.scoring.domain.ranking import Score, score
from services.scoring.domain.scheme import DEFAULT_SCHEME, DEFAULT_VERSION, VERSION, SchemeBody
from services.scoring.models import (
    AllocationRow,
    GrantRow,
    PlanRow,
    ProblemRow,
    ProjectRow,
    Publication,
    ReportRow,
    Scheme,
)
from services.scoring.schemas import (
    ExposureItem,
    FactorSupportPublic,
    IndicatorScorePublic,
    PublicationPublic,
    RankingEntry,
    SchemePublic,
    ScorecardPublic,
)
from shared.amounts import format_amount
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import is_postgres, utcnow
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.events.catalogue import scoring as ev
from shared.rates import format_rate
from shared.regions import RegionTable
from shared.uow import UnitOfWork


# ---- periods and schemes
def period_of(year: int, month: int, today: dt.date | None = None) -> Period:
    """The period asked for; a month that has not begun yet has no figures to score."""
    period = Period(year, month)
    today = today or today_in_shanghai()
    if period > Period.of(today):
        raise InvalidInput(
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
        return stored.version, SchemeBody.model_validate(stored.body)
    stored = await session.scalar(
        select(Scheme)
        .where(Scheme.effective_from <= str(period))
        .order_by(Scheme.effective_from.desc(), Scheme.set_at.desc())
        .limit(1)
    )
    if stored is None:
        return DEFAULT_VERSION, DEFAULT_SCHEME
    return stored.version, SchemeBody.model_validate(stored.body)


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


async def list_schemes(session: AsyncSession) -> list[SchemePublic]:
    rows = (
        await session.scalars(select(Scheme).order_by(Scheme.effective_from, Scheme.version))
    ).all()
    return [scheme_public(DEFAULT_VERSION, DEFAULT_SCHEME)] + [
        scheme_public(r.version, SchemeBody.model_validate(r.body), r) for r in rows
    ]


async def get_scheme(session: AsyncSession, version: str) -> SchemePublic:
    if version == DEFAULT_VERSION:
        return scheme_public(DEFAULT_VERSION, DEFAULT_SCHEME)
    row = await session.get(Scheme, version)
    if row is None:
        raise NotFound(f"scheme {version!r} not found")
    return scheme_public(row.version, SchemeBody.model_validate(row.body), row)


async def put_scheme(
    uow: UnitOfWork, principal: Principal, version: str, body: SchemeBody
) -> tuple[SchemePublic, bool]:
    """Set scheme `version`; True when it is new. A version a publication used is frozen."""
    principal.require_commander()
    if not VERSION.match(version):
        raise InvalidInput(
            "a scheme version is 1–40 letters, digits, '.', '_' or '-'",
            errors=[{"field": "version", "message": "bad version"}],
        )
    if version == DEFAULT_VERSION:
        raise RuleViolation("the built-in default scheme cannot be replaced; give a new version")
    async with uow:
        s = uow.session
        used = await s.scalar(
            select(Publication.id).where(Publication.scheme_version == version).limit(1)
        )
        if used is not None:
            raise RuleViolation(
                f"scheme {version!r} was used by publication {used}: it is frozen; set a new version"
            )
        row = await s.get(Scheme, version, with_for_update=True)
        created = row is None
        if row is None:
            row = Scheme(version=version)
            s.add(row)
        row.name, row.effective_from = body.name, body.effective_from
        row.body = body.model_dump(mode="json")
        row.set_by, row.set_at = principal.actor, utcnow()
        try:
            await s.flush()
        except IntegrityError:
            raise RuleViolation(f"scheme {version!r} is being set by another request") from None
        return scheme_public(version, body, row), created


# ---- the assessment
async def load_facts(session: AsyncSession) -> Facts:
    """The current epoch's rows. On PostgreSQL they are read in one snapshot (so this must be
    the transaction's first read), and a rebuild that takes over (and deletes the old epoch)
    meanwhile cannot leave a half-read model."""
    if is_postgres(session):
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    epoch = await readmodel.current_epoch(session)

    async def rows(model: Any) -> Sequence[Any]:
        # plain rows (attribute access by column), not ORM objects: a read needs no identity map
        table = model.__table__
        return (await session.execute(select(table).where(table.c.epoch == epoch))).all()

    return Facts(
        projects=await rows(ProjectRow),
        plans=await rows(PlanRow),
        reports=await rows(ReportRow),
        problems=await rows(ProblemRow),
        allocations=await rows(AllocationRow),
        grants=await rows(GrantRow),
    )


class Scored:
    """A period assessed and scored: what every read of scores is cut from."""

    def __init__(
        self, assessment: Assessment, version: str, scheme: SchemeBody, regions: RegionTable
    ) -> None:
        self.assessment = assessment
        self.version = version
        self.scheme = scheme
        self.regions = regions
        self.scores: list[Score] = score(scheme, assessment.figures)

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
        period = self.assessment.period
        wanted = set(counties) if counties is not None else None
        return [
            _card(s, self.assessment.figures[s.county], self.name(s.county), period, self.version)
            for s in self.scores
            if wanted is None or s.county in wanted
        ]

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
    config: ScoringConfig,
    regions: RegionTable,
    scheme_version: str | None = None,
) -> Scored:
    facts = await load_facts(session)
    version, scheme = await scheme_in_effect(session, period, scheme_version)
    assessment = assess(period, facts, regions.codes, config.thresholds)
    return Scored(assessment, version, scheme, regions)


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
        factor_support={
            f: FactorSupportPublic(count=x.count, amount=x.amount, unit=x.unit)
            for f, x in figures.factor_support.items()
        },
    )


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


# ---- publications
async def publish(
    uow: UnitOfWork,
    principal: Principal,
    period: Period,
    scheme_version: str | None,
    note: str | None,
    config: ScoringConfig,
    regions: RegionTable,
) -> PublicationPublic:
    """Freeze the period's ranking, scorecards and exposure lists (通报) and announce it."""
    principal.require_commander()
    async with uow:
        s = uow.session
        result = await scored(s, period, config, regions, scheme_version)  # the first read
        existing = await s.scalar(
            select(Publication.id).where(
                Publication.year == period.year, Publication.month == period.month
            )
        )
        if existing is not None:
            raise RuleViolation(
                f"{period} is already published as {existing}", publication=existing
            )
        publication = PublicationPublic(
            id=str(uuid.uuid4()),
            year=period.year,
            month=period.month,
            scheme_version=result.version,
            scheme=await _scheme_row_public(s, result.version, result.scheme),
            note=note,
            published_by=principal.actor,
            published_at=utcnow(),
            ranking=result.ranking(),
            scorecards=result.cards(),
            exposure={k.value: result.exposure(k) for k in ExposureKind},
        )
        snapshot = publication.model_dump(mode="json")
        s.add(
            Publication(
                id=publication.id,
                year=period.year,
                month=period.month,
                scheme_version=result.version,
                snapshot=snapshot,
                note=note,
                published_by=principal.actor,
                published_at=publication.published_at,
            )
        )
        try:
            await s.flush()
        except IntegrityError:
            raise RuleViolation(f"{period} is being published by another request") from None
        await uow.emit(
            ev.RankingPublished(
                publication_id=publication.id,
                year=period.year,
                month=period.month,
                scheme_version=result.version,
                published_on=today_in_shanghai(publication.published_at),
                ranking=[
                    ev.RankedDivision(
                        county=r.county,
                        name=r.name,
                        score=Decimal(r.score),
                        rank=r.rank,
                        tier=r.tier,
                    )
                    for r in publication.ranking
                ],
                exposed={k: len(v) for k, v in publication.exposure.items()},
            ),
            subject=publication.id,
            county=None,
            actor=principal.actor,
            sequence=1,
            key=str(period),
        )
        return publication


async def _scheme_row_public(session: AsyncSession, version: str, body: SchemeBody) -> SchemePublic:
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
