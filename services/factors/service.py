"""The factors' use cases. Each runs in one unit of work: the change and its event commit
together. Rules live in `domain/`; who-may-do-what in `access`; routes only call these.

Locks are always taken in one order, project → pool → replacement source (and a credit demand
alone), so an allocation, a release and a withdrawal racing each other wait instead of
deadlocking. On SQLite every writer is serialised anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.factors import access
from services.factors.config import load_config
from services.factors.domain import credit, ledger
from services.factors.domain.units import CANONICAL, Measure, storable, to_canonical
from services.factors.domain.vocabulary import (
    AllocationStatus,
    Factor,
    Pollutant,
    ReleaseCause,
    Scope,
)
from services.factors.models import (
    Allocation,
    CreditDemand,
    CreditDisbursement,
    CreditGrant,
    Pool,
    ProjectView,
    ReplacementSource,
)
from services.factors.schemas import (
    AllocationCreate,
    CreditDemandCreate,
    DisbursementIn,
    GrantIn,
    PoolCreate,
    SourceCreate,
    UseIn,
)
from shared.amounts import format_amount
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import paginate, utcnow
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.events.catalogue import factors as ev
from shared.events.envelope import CloudEvent
from shared.uow import UnitOfWork

EXPIRY_ACTOR = "system:factors-expiry-scan"

Emit = Callable[..., Awaitable[CloudEvent]]
"""`UnitOfWork.emit`, or `record_event` bound to an event handler's session."""


def _new_id() -> str:
    return str(uuid.uuid4())


def unit_of(factor: str) -> str:
    return CANONICAL[Measure(factor)]


# ---------------------------------------------------------------- projection
async def _project_for_write(
    session: AsyncSession,
    project_id: str,
    field: str,
    may_write: Callable[[ProjectView], None] | None = None,
) -> ProjectView:
    """The project as factors knows it from the registry's events, row-locked. `may_write`
    (who may write for it) is checked before its state, so a refusal discloses nothing."""
    project = await session.scalar(
        select(ProjectView).where(ProjectView.id == project_id).with_for_update()
    )
    if project is None:
        message = (
            f"project {project_id} is not known to the factors service (it learns projects "
            "from the registry's events; a project registered moments ago may not have arrived)"
        )
        raise InvalidInput(message, errors=[{"field": field, "message": message}])
    if may_write is not None:
        may_write(project)
    if project.withdrawn:
        raise RuleViolation(f"project {project_id} is withdrawn (退出); it receives no factors")
    return project


# ---------------------------------------------------------------- pools
def pool_key(factor: str, pollutant: str | None, year: int, scope: str) -> str:
    return f"{factor}:{pollutant or '-'}:{year}:{scope}"


def fences_of(pool: Pool) -> list[ledger.RingFence]:
    return [
        ledger.RingFence(min_level=f["min_level"], amount=Decimal(f["amount"]))
        for f in pool.ring_fences or []
    ]


async def pool_state(session: AsyncSession, pool: Pool) -> ledger.PoolState:
    rows = await session.execute(
        select(Allocation.level, func.sum(Allocation.charged))
        .where(Allocation.pool_id == pool.id, Allocation.status != AllocationStatus.RELEASED)
        .group_by(Allocation.level)
    )
    drawn: dict[int, Decimal] = {}
    for level, total in rows.all():
        rank = ledger.rank_of(level)
        drawn[rank] = drawn.get(rank, Decimal(0)) + Decimal(total)
    return ledger.PoolState(
        amount=pool.amount,
        fences=fences_of(pool),
        drawn_by_rank=drawn,
        advance_drawn=pool.advance_allocated,
        advance_share=pool.advance_share,
    )


async def create_pool(uow: UnitOfWork, principal: Principal, body: PoolCreate) -> Pool:
    principal.require_commander()
    measure = Measure(body.factor)
    amount = to_canonical(measure, body.amount, body.unit, "amount")
    fences = [
        ledger.RingFence(
            min_level=f.min_level,
            amount=to_canonical(measure, f.amount, body.unit, f"ring_fences[{i}].amount"),
        )
        for i, f in enumerate(body.ring_fences)
    ]
    problems = ledger.validate_fences(amount, fences)
    if problems:
        raise InvalidInput(
            "; ".join(problems), errors=[{"field": "ring_fences", "message": p} for p in problems]
        )
    async with uow:
        session = uow.session
        key = pool_key(body.factor, body.pollutant, body.year, body.scope)
        if await session.scalar(select(Pool.id).where(Pool.key == key)):
            raise RuleViolation(
                f"a {body.scope} {body.pollutant or body.factor} pool for {body.year} exists; "
                "there is one pool per factor, pollutant, year and scope"
            )
        now = utcnow()
        pool = Pool(
            id=_new_id(),
            key=key,
            factor=body.factor,
            pollutant=body.pollutant,
            year=body.year,
            scope=body.scope,
            name=body.name,
            amount=amount,
            allocated=Decimal(0),
            advance_allocated=Decimal(0),
            released=Decimal(0),
            advance_share=body.advance_share,
            ring_fences=[{"min_level": str(f.min_level), "amount": str(f.amount)} for f in fences],
            created_at=now,
            updated_at=now,
        )
        session.add(pool)
        try:
            await session.flush()
        except IntegrityError as exc:  # a concurrent twin won the unique key
            raise RuleViolation(f"a pool {key} exists") from exc
        await uow.emit(
            ev.QuotaIssued(
                pool_id=pool.id,
                factor=pool.factor,
                pollutant=pool.pollutant,
                year=pool.year,
                scope=pool.scope,
                amount=pool.amount,
                unit=unit_of(pool.factor),
                ring_fences=[
                    ev.RingFenceTerms(min_level=f.min_level, amount=f.amount) for f in fences
                ],
                advance_share=pool.advance_share,
            ),
            subject=pool.id,
            county=None,
            actor=principal.actor,
            sequence=pool.version,
        )
    return pool


async def get_pool(session: AsyncSession, pool_id: str) -> Pool:
    pool = await session.get(Pool, pool_id)
    if pool is None:
        raise NotFound(f"pool {pool_id} not found")
    return pool


async def list_pools(
    session: AsyncSession,
    factor: Factor | None,
    year: int | None,
    scope: Scope | None,
    pollutant: Pollutant | None,
    limit: int,
    offset: int,
) -> tuple[list[Pool], int]:
    query = select(Pool)
    if factor is not None:
        query = query.where(Pool.factor == factor)
    if year is not None:
        query = query.where(Pool.year == year)
    if scope is not None:
        query = query.where(Pool.scope == scope)
    if pollutant is not None:
        query = query.where(Pool.pollutant == pollutant)
    return await paginate(
        session,
        query.order_by(Pool.year.desc(), Pool.factor, Pool.pollutant, Pool.scope, Pool.id),
        limit,
        offset,
    )


# ---------------------------------------------------------------- replacement sources
async def create_source(
    uow: UnitOfWork, principal: Principal, body: SourceCreate
) -> ReplacementSource:
    principal.require_commander()
    amount = to_canonical(Measure.POLLUTANT, body.amount, body.unit, "amount")
    config = load_config()
    city_ratio = ledger.city_replacement_ratio(
        body.pollutant, config.air_replacement_ratio, config.water_replacement_ratio
    )
    if body.ratio is not None and body.ratio < city_ratio:  # stricter, never looser
        message = (
            f"the city replaces {body.pollutant} at {city_ratio}:1 at least; "
            f"a source may not set {body.ratio}:1"
        )
        raise InvalidInput(message, errors=[{"field": "ratio", "message": message}])
    ratio = body.ratio or city_ratio
    async with uow:
        source = ReplacementSource(
            id=_new_id(),
            pollutant=body.pollutant,
            name=body.name,
            kind=body.kind,
            county=body.county,
            amount=amount,
            used=Decimal(0),
            ratio=ratio,
            note=body.note,
            registered_by=principal.actor,
            created_at=utcnow(),
        )
        uow.session.add(source)
        await uow.session.flush()
        await uow.emit(
            ev.ReplacementSourceRegistered(
                source_id=source.id,
                pollutant=source.pollutant,
                name=source.name,
                kind=source.kind,
                county=source.county,
                amount=amount,
                ratio=ratio,
            ),
            subject=source.id,
            county=source.county,
            actor=principal.actor,
            sequence=source.version,
        )
    return source


async def get_source(session: AsyncSession, source_id: str) -> ReplacementSource:
    source = await session.get(ReplacementSource, source_id)
    if source is None:
        raise NotFound(f"replacement source {source_id} not found")
    return source


async def list_sources(
    session: AsyncSession, pollutant: Pollutant | None, limit: int, offset: int
) -> tuple[list[ReplacementSource], int]:
    query = select(ReplacementSource)
    if pollutant is not None:
        query = query.where(ReplacementSource.pollutant == pollutant)
    return await paginate(
        session, query.order_by(ReplacementSource.created_at, ReplacementSource.id), limit, offset
    )


# ---------------------------------------------------------------- allocations
async def allocate(uow: UnitOfWork, principal: Principal, body: AllocationCreate) -> Allocation:
    principal.require_commander()
    today = today_in_shanghai()
    if body.use_by is not None and body.use_by < today:
        message = f"the use-by date {body.use_by} has passed"
        raise InvalidInput(message, errors=[{"field": "use_by", "message": message}])
    async with uow:
        session = uow.session
        project = await _project_for_write(session, body.project_id, "project_id")
        pool = await session.scalar(select(Pool).where(Pool.id == body.pool_id).with_for_update())
        if pool is None:
            message = f"pool {body.pool_id} not found"
            raise InvalidInput(message, errors=[{"field": "pool_id", "message": message}])
        amount = to_canonical(Measure(pool.factor), body.amount, body.unit, "amount")
        ledger.check_eligible(Scope(pool.scope), project.level)

        source: ReplacementSource | None = None
        ratio: Decimal | None = None
        charge = amount
        if pool.factor == Factor.POLLUTANT:
            source = await _source_for_draw(session, body, pool)
            ratio = ledger.replacement_ratio(source.ratio, body.ratio)
            # the charge, not only the amount, must fit the ledger exactly
            charge = storable(
                Measure.POLLUTANT,
                ratio * amount,
                "amount",
                f"{ratio}:1 replacement of {amount} is ",
            )
            if source.used + charge > source.amount:
                left = format_amount(source.amount - source.used)
                raise RuleViolation(
                    f"the replacement source {source.name} has {left} t/yr left; "
                    f"{format_amount(ratio)}:1 replacement of {amount} needs "
                    f"{format_amount(charge)}",
                    remaining=left,
                )
        elif body.source_id is not None or body.ratio is not None:
            message = "only pollutant allocations take a replacement source and ratio"
            raise InvalidInput(message, errors=[{"field": "source_id", "message": message}])

        # Drawing on a pool of a year still to come is always an advance (预支).
        advance = body.advance or pool.year > today.year
        ledger.check_draw(await pool_state(session, pool), project.level, charge, advance)

        allocation = Allocation(
            id=_new_id(),
            pool_id=pool.id,
            project_id=project.id,
            county=project.county,
            level=project.level,
            factor=pool.factor,
            pollutant=pool.pollutant,
            year=pool.year,
            amount=amount,
            charged=charge,
            ratio=ratio,
            source_id=source.id if source else None,
            advance=advance,
            status=AllocationStatus.ACTIVE,
            note=body.note,
            allocated_on=today,
            allocated_by=principal.actor,
            use_by=body.use_by,
            created_at=utcnow(),
        )
        session.add(allocation)
        pool.allocated += charge
        if advance:
            pool.advance_allocated += charge
        pool.updated_at = utcnow()
        if source is not None:
            source.used += charge
        await session.flush()
        await uow.emit(
            ev.FactorAllocated(
                allocation_id=allocation.id,
                pool_id=pool.id,
                project_id=project.id,
                county=project.county,
                level=project.level,
                factor=pool.factor,
                pollutant=pool.pollutant,
                year=pool.year,
                scope=pool.scope,
                amount=amount,
                charged=charge,
                unit=unit_of(pool.factor),
                ratio=ratio,
                source_id=allocation.source_id,
                advance=advance,
                allocated_on=today,
                use_by=body.use_by,
            ),
            subject=allocation.id,
            county=project.county,
            actor=principal.actor,
            sequence=allocation.version,
            key=project.id,
        )
    return allocation


async def _source_for_draw(
    session: AsyncSession, body: AllocationCreate, pool: Pool
) -> ReplacementSource:
    if body.source_id is None:
        message = "a pollutant allocation names its replacement source (source_id)"
        raise InvalidInput(message, errors=[{"field": "source_id", "message": message}])
    source = await session.scalar(
        select(ReplacementSource).where(ReplacementSource.id == body.source_id).with_for_update()
    )
    if source is None:
        message = f"replacement source {body.source_id} not found"
        raise InvalidInput(message, errors=[{"field": "source_id", "message": message}])
    if source.pollutant != pool.pollutant:
        message = f"the source frees {source.pollutant}, the pool is for {pool.pollutant}"
        raise InvalidInput(message, errors=[{"field": "source_id", "message": message}])
    return source


class NotActive(RuleViolation):
    """Only an active allocation can be released or marked used."""

    def __init__(self, allocation: Allocation) -> None:
        what = {
            AllocationStatus.RELEASED: "was already released (收回)",
            AllocationStatus.USED: "has been used (已使用); a used allocation stays drawn",
        }.get(AllocationStatus(allocation.status), f"is {allocation.status}")
        super().__init__(f"allocation {allocation.id} {what}")


async def release(
    uow: UnitOfWork, principal: Principal, allocation_id: str, reason: str
) -> Allocation:
    principal.require_commander()
    async with uow:
        allocation = await uow.session.get(Allocation, allocation_id)
        if allocation is None:
            raise NotFound(f"allocation {allocation_id} not found")
        await release_allocation(
            uow.session,
            uow.emit,
            allocation,
            cause=ReleaseCause.MANUAL,
            reason=reason,
            actor=principal.actor,
        )
    return allocation


async def release_allocation(
    session: AsyncSession,
    emit: Emit,
    allocation: Allocation,
    *,
    cause: ReleaseCause,
    reason: str,
    actor: str,
) -> None:
    """Return an active allocation's charge to its pool (and source), with its event."""
    pool = await session.scalar(select(Pool).where(Pool.id == allocation.pool_id).with_for_update())
    assert pool is not None  # a foreign key
    # Re-read under the pool's lock: a release racing this one has committed by now.
    await session.refresh(allocation, with_for_update=True)
    if allocation.status != AllocationStatus.ACTIVE:
        raise NotActive(allocation)
    if allocation.source_id is not None:
        source = await session.scalar(
            select(ReplacementSource)
            .where(ReplacementSource.id == allocation.source_id)
            .with_for_update()
        )
        assert source is not None
        source.used -= allocation.charged
    today = today_in_shanghai()
    pool.allocated -= allocation.charged
    if allocation.advance:
        pool.advance_allocated -= allocation.charged
    pool.released += allocation.charged
    pool.updated_at = utcnow()
    allocation.status = AllocationStatus.RELEASED
    allocation.released_on = today
    allocation.released_by = actor
    allocation.release_cause = cause
    allocation.release_reason = reason
    await session.flush()
    await emit(
        ev.FactorReleased(
            allocation_id=allocation.id,
            pool_id=pool.id,
            project_id=allocation.project_id,
            county=allocation.county,
            factor=allocation.factor,
            pollutant=allocation.pollutant,
            year=allocation.year,
            amount=allocation.amount,
            charged=allocation.charged,
            unit=unit_of(allocation.factor),
            advance=allocation.advance,
            cause=cause,
            reason=reason,
            released_on=today,
        ),
        subject=allocation.id,
        county=allocation.county,
        actor=actor,
        sequence=allocation.version,
        key=allocation.project_id,
    )


async def release_for_withdrawn_project(
    session: AsyncSession, emit: Emit, project_id: str, actor: str
) -> int:
    """A withdrawn project's active allocations go back to their pools; returns how many.
    The caller holds the project's row lock, so no new allocation can join them."""
    active = (
        await session.scalars(
            select(Allocation)
            .where(
                Allocation.project_id == project_id, Allocation.status == AllocationStatus.ACTIVE
            )
            .order_by(Allocation.pool_id, Allocation.id)
        )
    ).all()
    # Every pool first, then every source, each in id order: releasing one allocation after
    # another would hold one pool's source while waiting for the next pool, the reverse of an
    # allocation's order (pool → source), and two such could deadlock.
    for pool_id in sorted({a.pool_id for a in active}):
        await session.scalar(select(Pool.id).where(Pool.id == pool_id).with_for_update())
    for source_id in sorted({a.source_id for a in active if a.source_id is not None}):
        await session.scalar(
            select(ReplacementSource.id).where(ReplacementSource.id == source_id).with_for_update()
        )
    released = 0
    for allocation in active:
        try:
            await release_allocation(
                session,
                emit,
                allocation,
                cause=ReleaseCause.WITHDRAWN,
                reason="项目退出: the project was withdrawn",
                actor=actor,
            )
        except NotActive:
            continue  # released by hand, or by the expiry scan, or used, before the lock
        released += 1
    return released


async def release_expired(uow_factory: Callable[[], UnitOfWork], today: dt.date) -> int:
    """Release every active allocation unused past its use-by date (收回), each in its own
    unit of work; returns how many. Several workers may run it at once: one that comes second
    to an allocation finds it no longer active and passes over it."""
    async with uow_factory() as uow:
        due = (
            await uow.session.scalars(
                select(Allocation.id)
                .where(Allocation.status == AllocationStatus.ACTIVE, Allocation.use_by < today)
                .order_by(Allocation.use_by, Allocation.id)
            )
        ).all()
    released = 0
    for allocation_id in due:
        try:
            async with uow_factory() as uow:
                allocation = await uow.session.get(Allocation, allocation_id)
                assert allocation is not None
                await release_allocation(
                    uow.session,
                    uow.emit,
                    allocation,
                    cause=ReleaseCause.EXPIRED,
                    reason=f"逾期未使用: unused by {allocation.use_by}",
                    actor=EXPIRY_ACTOR,
                )
            released += 1
        except NotActive:
            continue  # another worker released it, or it was used meanwhile
    return released


async def mark_used(
    uow: UnitOfWork, principal: Principal, allocation_id: str, body: UseIn
) -> Allocation:
    """The project consumed its allocation (land approved, energy assessed ...)."""
    principal.require_commander()
    on = body.date or today_in_shanghai()
    async with uow:
        session = uow.session
        allocation = await session.get(Allocation, allocation_id)
        if allocation is None:
            raise NotFound(f"allocation {allocation_id} not found")
        # the same lock order as a release: the pool, then the allocation
        await session.scalar(select(Pool).where(Pool.id == allocation.pool_id).with_for_update())
        await session.refresh(allocation, with_for_update=True)
        if allocation.status != AllocationStatus.ACTIVE:
            raise NotActive(allocation)
        if on < allocation.allocated_on:
            message = f"it was allocated on {allocation.allocated_on}, after {on}"
            raise InvalidInput(message, errors=[{"field": "date", "message": message}])
        allocation.status = AllocationStatus.USED
        allocation.used_on = on
        allocation.used_by = principal.actor
        allocation.use_note = body.note
        await session.flush()
        await uow.emit(
            ev.FactorUsed(
                allocation_id=allocation.id,
                pool_id=allocation.pool_id,
                project_id=allocation.project_id,
                county=allocation.county,
                factor=allocation.factor,
                pollutant=allocation.pollutant,
                year=allocation.year,
                amount=allocation.amount,
                charged=allocation.charged,
                unit=unit_of(allocation.factor),
                used_on=on,
            ),
            subject=allocation.id,
            county=allocation.county,
            actor=principal.actor,
            sequence=allocation.version,
            key=allocation.project_id,
        )
    return allocation


async def get_allocation(
    session: AsyncSession, principal: Principal, allocation_id: str
) -> Allocation:
    allocation = await session.get(Allocation, allocation_id)
    if allocation is None:
        raise NotFound(f"allocation {allocation_id} not found")
    access.ensure_readable(principal, allocation.county, f"allocation {allocation_id}")
    return allocation


@dataclass(frozen=True)
class AllocationFilter:
    project_id: str | None = None
    pool_id: str | None = None
    county: str | None = None
    factor: Factor | None = None
    year: int | None = None
    status: AllocationStatus | None = None
    advance: bool | None = None


async def list_allocations(
    session: AsyncSession, principal: Principal, f: AllocationFilter, limit: int, offset: int
) -> tuple[list[Allocation], int]:
    county = access.county_filter(principal, f.county)
    if f.county is not None and county != f.county:
        return [], 0
    query = select(Allocation)
    conditions: list[Any] = []
    if county is not None:
        conditions.append(Allocation.county == county)
    if f.project_id is not None:
        conditions.append(Allocation.project_id == f.project_id)
    if f.pool_id is not None:
        conditions.append(Allocation.pool_id == f.pool_id)
    if f.factor is not None:
        conditions.append(Allocation.factor == f.factor)
    if f.year is not None:
        conditions.append(Allocation.year == f.year)
    if f.status is not None:
        conditions.append(Allocation.status == f.status)
    if f.advance is not None:
        conditions.append(Allocation.advance.is_(f.advance))
    query = query.where(*conditions)
    return await paginate(
        session, query.order_by(Allocation.created_at, Allocation.id), limit, offset
    )


# ---------------------------------------------------------------- funds
async def register_credit_demand(
    uow: UnitOfWork, principal: Principal, body: CreditDemandCreate
) -> CreditDemand:
    access.ensure_may_register_credit(principal)
    amount = to_canonical(Measure.FUNDS, body.amount, body.unit, "amount")
    year = body.year or today_in_shanghai().year
    async with uow:
        session = uow.session
        project = await _project_for_write(
            session,
            body.project_id,
            "project_id",
            lambda p: access.ensure_may_demand_credit(principal, p.county),
        )
        existing = await session.scalar(
            select(CreditDemand.id).where(
                CreditDemand.project_id == project.id, CreditDemand.year == year
            )
        )
        if existing is not None:
            raise RuleViolation(
                f"project {project.id} already has a credit demand for {year} ({existing})",
                existing=existing,
            )
        demand = CreditDemand(
            id=_new_id(),
            project_id=project.id,
            county=project.county,
            year=year,
            amount=amount,
            granted=Decimal(0),
            disbursed=Decimal(0),
            purpose=body.purpose,
            registered_by=principal.actor,
            created_at=utcnow(),
        )
        session.add(demand)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise RuleViolation(
                f"project {project.id} already has a credit demand for {year}"
            ) from exc
        await uow.emit(
            ev.CreditDemanded(
                demand_id=demand.id,
                project_id=project.id,
                county=project.county,
                year=year,
                amount=amount,
            ),
            subject=demand.id,
            county=project.county,
            actor=principal.actor,
            sequence=demand.version,
            key=project.id,
        )
    return demand


async def _demand_for_write(session: AsyncSession, demand_id: str) -> CreditDemand:
    demand = await session.scalar(
        select(CreditDemand).where(CreditDemand.id == demand_id).with_for_update()
    )
    if demand is None:
        raise NotFound(f"credit demand {demand_id} not found")
    return demand


async def grant_credit(
    uow: UnitOfWork, principal: Principal, demand_id: str, body: GrantIn
) -> CreditGrant:
    def record(demand: CreditDemand, amount: Decimal, on: dt.date) -> tuple[CreditGrant, Any]:
        credit.check_grant(demand.amount, demand.granted, amount)
        demand.granted += amount
        grant = CreditGrant(
            id=_new_id(),
            demand_id=demand.id,
            bank=body.bank,
            amount=amount,
            granted_on=on,
            recorded_by=principal.actor,
            created_at=utcnow(),
        )
        return grant, ev.CreditGranted(
            demand_id=demand.id,
            grant_id=grant.id,
            project_id=demand.project_id,
            county=demand.county,
            year=demand.year,
            bank=grant.bank,
            amount=amount,
            granted_total=demand.granted,
            granted_on=on,
        )

    return await _change_credit(
        uow, principal, demand_id, body.amount, body.unit, body.date, record
    )


async def disburse_credit(
    uow: UnitOfWork, principal: Principal, demand_id: str, body: DisbursementIn
) -> CreditDisbursement:
    def record(
        demand: CreditDemand, amount: Decimal, on: dt.date
    ) -> tuple[CreditDisbursement, Any]:
        credit.check_disbursement(demand.granted, demand.disbursed, amount)
        demand.disbursed += amount
        disbursement = CreditDisbursement(
            id=_new_id(),
            demand_id=demand.id,
            amount=amount,
            disbursed_on=on,
            recorded_by=principal.actor,
            created_at=utcnow(),
        )
        return disbursement, ev.CreditDisbursed(
            demand_id=demand.id,
            disbursement_id=disbursement.id,
            project_id=demand.project_id,
            county=demand.county,
            year=demand.year,
            amount=amount,
            disbursed_total=demand.disbursed,
            disbursed_on=on,
        )

    return await _change_credit(
        uow, principal, demand_id, body.amount, body.unit, body.date, record
    )


_Record = TypeVar("_Record", CreditGrant, CreditDisbursement)


async def _change_credit(
    uow: UnitOfWork,
    principal: Principal,
    demand_id: str,
    amount_given: Decimal,
    unit: str | None,
    on: dt.date | None,
    record: Callable[[CreditDemand, Decimal, dt.date], tuple[_Record, Any]],
) -> _Record:
    """A bank's grant or disbursement against a demand, under the demand's row lock: `record`
    checks the rule, changes the demand's total and gives the row and its event."""
    principal.require_commander()
    amount = to_canonical(Measure.FUNDS, amount_given, unit, "amount")
    async with uow:
        demand = await _demand_for_write(uow.session, demand_id)
        row, payload = record(demand, amount, on or today_in_shanghai())
        uow.session.add(row)
        await uow.session.flush()
        await uow.emit(
            payload,
            subject=demand.id,
            county=demand.county,
            actor=principal.actor,
            sequence=demand.version,
            key=demand.project_id,
        )
    return row


async def get_demand(
    session: AsyncSession, principal: Principal, demand_id: str
) -> tuple[CreditDemand, list[CreditGrant], list[CreditDisbursement]]:
    demand = await session.get(CreditDemand, demand_id)
    if demand is None:
        raise NotFound(f"credit demand {demand_id} not found")
    access.ensure_readable(principal, demand.county, f"credit demand {demand_id}")
    grants = await session.scalars(
        select(CreditGrant)
        .where(CreditGrant.demand_id == demand.id)
        .order_by(CreditGrant.created_at, CreditGrant.id)
    )
    disbursements = await session.scalars(
        select(CreditDisbursement)
        .where(CreditDisbursement.demand_id == demand.id)
        .order_by(CreditDisbursement.created_at, CreditDisbursement.id)
    )
    return demand, list(grants.all()), list(disbursements.all())


async def list_demands(
    session: AsyncSession,
    principal: Principal,
    project_id: str | None,
    county: str | None,
    year: int | None,
    limit: int,
    offset: int,
) -> tuple[list[CreditDemand], int]:
    own = access.county_filter(principal, county)
    if county is not None and own != county:
        return [], 0
    query = select(CreditDemand)
    if own is not None:
        query = query.where(CreditDemand.county == own)
    if project_id is not None:
        query = query.where(CreditDemand.project_id == project_id)
    if year is not None:
        query = query.where(CreditDemand.year == year)
    return await paginate(
        session, query.order_by(CreditDemand.created_at, CreditDemand.id), limit, offset
    )


@dataclass(frozen=True)
class CreditRow:
    county: str
    projects: int
    demanded: Decimal
    granted: Decimal
    disbursed: Decimal


async def credit_by_county(
    session: AsyncSession, principal: Principal, year: int
) -> list[CreditRow]:
    query = (
        select(
            CreditDemand.county,
            func.count(func.distinct(CreditDemand.project_id)),
            func.sum(CreditDemand.amount),
            func.sum(CreditDemand.granted),
            func.sum(CreditDemand.disbursed),
        )
        .where(CreditDemand.year == year)
        .group_by(CreditDemand.county)
        .order_by(CreditDemand.county)
    )
    own = access.county_filter(principal, None)
    if own is not None:
        query = query.where(CreditDemand.county == own)
    return [
        CreditRow(county, int(n), Decimal(d), Decimal(g), Decimal(x))
        for county, n, d, g, x in (await session.execute(query)).all()
    ]


# ---------------------------------------------------------------- factor summary
@dataclass(frozen=True)
class PoolTotals:
    factor: str
    pollutant: str | None
    amount: Decimal
    allocated: Decimal
    advance: Decimal
    released: Decimal


@dataclass(frozen=True)
class CountyTotals:
    factor: str
    pollutant: str | None
    county: str
    allocated: Decimal
    advance: Decimal
    released: Decimal
    allocations: int


async def factor_totals(
    session: AsyncSession, principal: Principal, year: int
) -> tuple[list[PoolTotals], list[CountyTotals]]:
    """Per factor (and pollutant): the pools of `year` summed; and per county what its
    projects drew from them (charged amounts, as the pools bear them)."""
    pools = await session.execute(
        select(
            Pool.factor,
            Pool.pollutant,
            func.sum(Pool.amount),
            func.sum(Pool.allocated),
            func.sum(Pool.advance_allocated),
            func.sum(Pool.released),
        )
        .where(Pool.year == year)
        .group_by(Pool.factor, Pool.pollutant)
    )
    # a used allocation (已使用) stays drawn; only a released one went back to its pool
    drawn = Allocation.status != AllocationStatus.RELEASED
    zero = Decimal(0)
    county_query = (
        select(
            Allocation.factor,
            Allocation.pollutant,
            Allocation.county,
            func.sum(case((drawn, Allocation.charged), else_=zero)),
            func.sum(case((drawn & Allocation.advance, Allocation.charged), else_=zero)),
            func.sum(case((~drawn, Allocation.charged), else_=zero)),
            func.count(),
        )
        .where(Allocation.year == year)
        .group_by(Allocation.factor, Allocation.pollutant, Allocation.county)
        .order_by(Allocation.county)
    )
    own = access.county_filter(principal, None)
    if own is not None:
        county_query = county_query.where(Allocation.county == own)
    return (
        [
            PoolTotals(f, p, Decimal(a), Decimal(al), Decimal(adv), Decimal(rel))
            for f, p, a, al, adv, rel in pools.all()
        ],
        [
            CountyTotals(f, p, c, Decimal(al), Decimal(adv), Decimal(rel), int(n))
            for f, p, c, al, adv, rel, n in (await session.execute(county_query)).all()
        ],
    )


# ---------------------------------------------------------------- demo / projection helpers
async def count_pools(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Pool)) or 0)


async def known_projects(session: AsyncSession) -> Sequence[ProjectView]:
    return (await session.scalars(select(ProjectView).order_by(ProjectView.id))).all()
