"""The factors' use cases. Each runs in one unit of work: the change and its event commit
together. Rules live in `domain/`; who-may-do-what in `access`; routes only call these.

Locks are always taken in one order, project → pool → replacement source (and a credit demand
alone), so an allocation, a release and a withdrawal racing each other wait instead of
deadlocking. On SQLite every writer is serialised anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.factors import access, queries
from services.factors.domain import allocations, credit, ledger, projects
from services.factors.domain.allocations import NotActive
from services.factors.domain.units import Measure, to_canonical, unit_of
from services.factors.domain.vocabulary import AllocationStatus, Factor, Scope
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
from shared.auth import Principal
from shared.clock import today_in_shanghai
from shared.db import utcnow
from shared.errors import NotFound, RuleViolation
from shared.events.catalogue import factors as ev
from shared.events.catalogue.factors import ReleaseCause
from shared.events.envelope import CloudEvent
from shared.uow import UnitOfWork

EXPIRY_ACTOR = "system:factors-expiry-scan"

Emit = Callable[..., Awaitable[CloudEvent]]
"""`UnitOfWork.emit`, or `record_event` bound to an event handler's session."""


def _new_id() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------- projection
async def _project_for_write(
    session: AsyncSession,
    project_id: str,
    field: str,
    may_write: Callable[[ProjectView], None] | None = None,
) -> ProjectView:
    """The project as factors knows it from the registry's events, row-locked. `may_write`
    (who may write for it) is checked before its state, so a refusal discloses nothing."""
    project = await session.get(ProjectView, project_id, with_for_update=True)
    projects.check_known(project_id, project is not None, field)
    assert project is not None
    if may_write is not None:
        may_write(project)
    projects.check_not_withdrawn(project_id, project.withdrawn)
    return project


# ---------------------------------------------------------------- pools
async def create_pool(uow: UnitOfWork, principal: Principal, body: PoolCreate) -> Pool:
    principal.require_commander()
    measure = Measure(body.factor)
    amount = to_canonical(measure, body.amount, body.unit, "amount")
    fences = ledger.ring_fences(
        measure, amount, [(f.min_level, f.amount) for f in body.ring_fences], body.unit
    )
    async with uow:
        session = uow.session
        key = ledger.pool_key(body.factor, body.pollutant, body.year, body.scope)
        taken = await session.scalar(select(Pool.id).where(Pool.key == key)) is not None
        ledger.check_new_pool(taken, body.scope, body.pollutant or body.factor, body.year)
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


# ---------------------------------------------------------------- replacement sources
async def create_source(
    uow: UnitOfWork,
    principal: Principal,
    body: SourceCreate,
    *,
    air_ratio: Decimal,
    water_ratio: Decimal,
) -> ReplacementSource:
    """Register a replacement source; `air_ratio` and `water_ratio` are the city's configured
    replacement ratios (`FactorsConfig`), which a source may make stricter, never looser."""
    principal.require_commander()
    amount = to_canonical(Measure.POLLUTANT, body.amount, body.unit, "amount")
    ratio = ledger.source_ratio(body.pollutant, body.ratio, air_ratio, water_ratio)
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


# ---------------------------------------------------------------- allocations
async def allocate(uow: UnitOfWork, principal: Principal, body: AllocationCreate) -> Allocation:
    principal.require_commander()
    today = today_in_shanghai()
    allocations.check_use_by(body.use_by, today)
    async with uow:
        session = uow.session
        project = await _project_for_write(session, body.project_id, "project_id")
        pool = await session.get(Pool, body.pool_id, with_for_update=True)
        if pool is None:  # 409 like an unknown project: what exists is state, not input
            message = f"pool {body.pool_id} not found"
            raise RuleViolation(message, errors=[{"field": "pool_id", "message": message}])
        amount = to_canonical(Measure(pool.factor), body.amount, body.unit, "amount")
        ledger.check_eligible(Scope(pool.scope), project.level)

        source: ReplacementSource | None = None
        ratio: Decimal | None = None
        charge = amount
        ledger.check_replacement_terms(Factor(pool.factor), body.source_id, body.ratio)
        if pool.factor == Factor.POLLUTANT:
            # Locked after the pool (project → pool → source, as every writer does).
            source = await _source_for_draw(session, body, pool)
            ratio = ledger.replacement_ratio(source.ratio, body.ratio)
            charge = ledger.replacement_charge(ratio, amount)
            ledger.check_source_covers(
                ledger.SourceState(source.name, source.amount, source.used), ratio, amount, charge
            )

        advance = ledger.is_advance(body.advance, pool.year, today)
        ledger.check_draw(await queries.pool_state(session, pool), project.level, charge, advance)

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
        ledger.book_draw(pool, charge, advance)
        pool.updated_at = utcnow()
        if source is not None:
            source.used += charge
        await session.flush()
        await _emit_allocation_event(
            uow.emit,
            allocation,
            principal.actor,
            ev.FactorAllocated,
            level=project.level,
            scope=pool.scope,
            ratio=ratio,
            source_id=allocation.source_id,
            advance=advance,
            allocated_on=today,
            use_by=body.use_by,
        )
    return allocation


async def _emit_allocation_event(
    emit: Emit,
    allocation: Allocation,
    actor: str,
    event: type[ev.AllocationEvent],
    **facts: Any,
) -> None:
    """An allocation's event: what every one carries (the allocation, its pool and project,
    the amounts) and the `facts` of its kind. Keyed by the project, so one project's events
    keep their order."""
    await emit(
        event(
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
            **facts,
        ),
        subject=allocation.id,
        county=allocation.county,
        actor=actor,
        sequence=allocation.version,
        key=allocation.project_id,
    )


async def _source_for_draw(
    session: AsyncSession, body: AllocationCreate, pool: Pool
) -> ReplacementSource:
    source = await session.get(ReplacementSource, body.source_id, with_for_update=True)
    if source is None:
        message = f"replacement source {body.source_id} not found"
        raise RuleViolation(message, errors=[{"field": "source_id", "message": message}])
    ledger.check_source_pollutant(source.pollutant, pool.pollutant)
    return source


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
    pool = await session.get(Pool, allocation.pool_id, with_for_update=True)
    assert pool is not None  # a foreign key
    # Re-read under the pool's lock: a release racing this one has committed by now.
    await session.refresh(allocation, with_for_update=True)
    allocations.check_active(allocation.id, allocation.status)
    if allocation.source_id is not None:
        source = await session.get(ReplacementSource, allocation.source_id, with_for_update=True)
        assert source is not None
        source.used -= allocation.charged
    today = today_in_shanghai()
    ledger.book_release(pool, allocation.charged, allocation.advance)
    pool.updated_at = utcnow()
    allocation.status = AllocationStatus.RELEASED
    allocation.released_on = today
    allocation.released_by = actor
    allocation.release_cause = cause
    allocation.release_reason = reason
    await session.flush()
    await _emit_allocation_event(
        emit,
        allocation,
        actor,
        ev.FactorReleased,
        advance=allocation.advance,
        cause=cause,
        reason=reason,
        released_on=today,
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
        await session.get(Pool, allocation.pool_id, with_for_update=True)
        await session.refresh(allocation, with_for_update=True)
        allocations.check_active(allocation.id, allocation.status)
        allocations.check_used_on(on, allocation.allocated_on)
        allocation.status = AllocationStatus.USED
        allocation.used_on = on
        allocation.used_by = principal.actor
        allocation.use_note = body.note
        await session.flush()
        await _emit_allocation_event(
            uow.emit, allocation, principal.actor, ev.FactorUsed, used_on=on
        )
    return allocation


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
        credit.check_first_demand(project.id, year, existing)
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
        except IntegrityError as exc:  # a concurrent twin won the unique key
            raise RuleViolation(
                f"project {project.id} already has a credit demand for {year}"
            ) from exc
        await _emit_credit_event(uow, demand, principal.actor, ev.CreditDemanded, amount=amount)
    return demand


async def _demand_for_write(session: AsyncSession, demand_id: str) -> CreditDemand:
    demand = await session.get(CreditDemand, demand_id, with_for_update=True)
    if demand is None:
        raise NotFound(f"credit demand {demand_id} not found")
    return demand


async def grant_credit(
    uow: UnitOfWork, principal: Principal, demand_id: str, body: GrantIn
) -> tuple[CreditGrant, CreditDemand]:
    """A bank's grant (授信) under the demand's row lock: the grant, and the demand after it."""
    principal.require_commander()
    amount = to_canonical(Measure.FUNDS, body.amount, body.unit, "amount")
    on = body.date or today_in_shanghai()
    async with uow:
        demand = await _demand_for_write(uow.session, demand_id)
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
        uow.session.add(grant)
        await _emit_credit_event(
            uow,
            demand,
            principal.actor,
            ev.CreditGranted,
            grant_id=grant.id,
            bank=grant.bank,
            amount=amount,
            granted_total=demand.granted,
            granted_on=on,
        )
    return grant, demand


async def disburse_credit(
    uow: UnitOfWork, principal: Principal, demand_id: str, body: DisbursementIn
) -> tuple[CreditDisbursement, CreditDemand]:
    """A bank's disbursement (放款) under the demand's lock: it, and the demand after it."""
    principal.require_commander()
    amount = to_canonical(Measure.FUNDS, body.amount, body.unit, "amount")
    on = body.date or today_in_shanghai()
    async with uow:
        demand = await _demand_for_write(uow.session, demand_id)
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
        uow.session.add(disbursement)
        await _emit_credit_event(
            uow,
            demand,
            principal.actor,
            ev.CreditDisbursed,
            disbursement_id=disbursement.id,
            amount=amount,
            disbursed_total=demand.disbursed,
            disbursed_on=on,
        )
    return disbursement, demand


async def _emit_credit_event(
    uow: UnitOfWork, demand: CreditDemand, actor: str, event: type[ev.FactorsEvent], **facts: Any
) -> None:
    """A demand's event, after its change is flushed (so `sequence` is the new version): the
    demand, its project, county and year, and the `facts` of its kind."""
    await uow.session.flush()
    await uow.emit(
        event(
            demand_id=demand.id,
            project_id=demand.project_id,
            county=demand.county,
            year=demand.year,
            **facts,
        ),
        subject=demand.id,
        county=demand.county,
        actor=actor,
        sequence=demand.version,
        key=demand.project_id,
    )
