"""The factors' reads: pools with their ledger state, allocations, replacement sources, credit
demands, and the summaries by county. Nothing here changes state; a county user sees only its
own county's allocations and credit (`Principal.county_filter`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.factors import access
from services.factors.domain import ledger
from services.factors.domain.vocabulary import AllocationStatus, Factor, Pollutant, Scope
from services.factors.models import (
    Allocation,
    CreditDemand,
    CreditDisbursement,
    CreditGrant,
    Pool,
    ProjectView,
    ReplacementSource,
)
from shared.auth import Principal
from shared.db import paginate
from shared.errors import NotFound


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
    county = principal.county_filter(f.county)
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
    own = principal.county_filter(county)
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
    own = principal.county_filter(None)
    if own is not None:
        query = query.where(CreditDemand.county == own)
    return [
        CreditRow(county, int(n), Decimal(d), Decimal(g), Decimal(x))
        for county, n, d, g, x in (await session.execute(query)).all()
    ]


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
    own = principal.county_filter(None)
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


async def count_pools(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Pool)) or 0)


async def known_projects(session: AsyncSession) -> Sequence[ProjectView]:
    return (await session.scalars(select(ProjectView).order_by(ProjectView.id))).all()
