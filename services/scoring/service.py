"""Scoring's commands: set a scheme, publish a period (通报), rebuild the read model. Each is one
transaction that may emit events; the reads they build on are in `queries`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.scoring import readmodel
from services.scoring.domain.exposure import Colour, ExposureKind, Thresholds
from services.scoring.domain.periods import Period
from services.scoring.domain.scheme import DEFAULT_VERSION, VERSION, SchemeBody
from services.scoring.models import Epoch, Publication, Scheme
from services.scoring.queries import published_as, scheme_public, scheme_row_public, scored
from services.scoring.readmodel import Feed
from services.scoring.schemas import ExposureItem, PublicationPublic, SchemePublic
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
# The bytes `kuaiche.ranking.published.v1` may spend on `exposed_projects`, out of the event's
# MAX_EVENT_BYTES (256 KiB); the rest holds the envelope (under 1 KiB) and the ranking (about 80
# bytes a division: some 11 KiB for a province's 140). An entry is about 110 bytes of keys and ids
# (36 more with an issue id) plus its name at 3 bytes a Chinese character: a usual 25-character
# name makes some 190-220 bytes, so about 1,000 entries fit; with every name at the registry's
# 200-character limit (about 750 bytes an entry) still some 260. A province's month can list more
# (a few thousand projects lagging or unstarted, more problems overdue): past the budget the list
# is cut and `exposed_projects_truncated` says so.
EXPOSED_PROJECTS_BYTES = 192 * 1024


def exposed_projects(
    exposure: Mapping[str, Sequence[ExposureItem]], budget: int = EXPOSED_PROJECTS_BYTES
) -> tuple[list[ev.ExposedProject], bool]:
    """The event's entries of the exposure lists, red before yellow (the ones a cut must keep),
    then in the lists' order; and True when they had to be cut to fit `budget` bytes of JSON."""
    items = sorted(
        (item for listed in exposure.values() for item in listed),
        key=lambda item: item.colour != Colour.RED,  # stable: keeps the lists' order
    )
    entries: list[ev.ExposedProject] = []
    spent = 2  # the list's brackets
    for item in items:
        entry = ev.ExposedProject(
            kind=item.kind.value,
            project_id=item.project_id,
            county=item.county,
            name=item.project_name,
            issue_id=item.issue_id,
        )
        spent += len(entry.model_dump_json().encode()) + 1  # and its comma
        if spent > budget:
            return entries, True
        entries.append(entry)
    return entries, False


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
        named, truncated = exposed_projects(publication.exposure)
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
                exposed_projects=named,
                exposed_projects_truncated=truncated,
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
