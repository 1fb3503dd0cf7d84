"""Scoring's commands: set a scheme, publish a period (通报), rebuild the read model. Each is one
transaction that may emit events; the reads they build on are in `queries`."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.scoring import readmodel
from services.scoring.domain.exposure import ExposureKind, Thresholds
from services.scoring.domain.periods import Period
from services.scoring.domain.scheme import DEFAULT_VERSION, VERSION, SchemeBody
from services.scoring.models import Epoch, Publication, Scheme
from services.scoring.queries import published_as, scheme_public, scheme_row_public, scored
from services.scoring.readmodel import Feed
from services.scoring.schemas import PublicationPublic, SchemePublic
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import utcnow
from shared.errors import InvalidInput, RuleViolation
from shared.events.catalogue import scoring as ev
from shared.regions import RegionTable
from shared.runtime import Runtime
from shared.uow import UnitOfWork


# ---- schemes
async def put_scheme(
    uow: UnitOfWork, principal: Principal, version: str, body: SchemeBody
) -> tuple[SchemePublic, int, bool]:
    """Set scheme `version`: the scheme, its revision (1 when new, one more at each
    replacement) and True when it is new. A version a publication used is frozen."""
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
            row = Scheme(version=version, revision=1)
            s.add(row)
        else:
            row.revision += 1
        row.name, row.effective_from = body.name, body.effective_from
        row.body = body.model_dump(mode="json")
        row.set_by, row.set_at = principal.actor, utcnow()
        try:
            await s.flush()
        except IntegrityError:
            raise RuleViolation(f"scheme {version!r} is being set by another request") from None
        return scheme_public(version, body, row), row.revision, created


# ---- publications
async def publish(
    uow: UnitOfWork,
    principal: Principal,
    period: Period,
    scheme_version: str | None,
    note: str | None,
    thresholds: Thresholds,
    regions: RegionTable,
) -> PublicationPublic:
    """Freeze the period's ranking, scorecards and exposure lists (通报) and announce it."""
    principal.require_commander()
    async with uow:
        s = uow.session
        result = await scored(s, period, thresholds, regions, scheme_version)  # the first read
        existing = await published_as(s, period)
        if existing is not None:
            raise RuleViolation(
                f"{period} is already published as {existing}", publication=existing
            )
        publication = PublicationPublic(
            id=str(uuid.uuid4()),
            year=period.year,
            month=period.month,
            scheme_version=result.version,
            scheme=await scheme_row_public(s, result.version, result.scheme),
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


# ---- the read model
async def rebuild(
    runtime: Runtime, principal: Principal, feed: Feed | None = None, force: bool = False
) -> Epoch:
    """Replay every upstream topic from its beginning into a fresh read model, which then takes
    over (`readmodel.rebuild`); the command office's alone."""
    principal.require_commander()
    return await readmodel.rebuild(runtime, principal.actor, feed, force=force)
