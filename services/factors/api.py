"""HTTP routes of the factors service: parse, authorise (via the use case), call, shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.factors import queries, service
from services.factors.config import FactorsConfig
from services.factors.domain.units import CANONICAL, UNIT_LABELS, Measure, unit_of
from services.factors.domain.vocabulary import (
    FACTOR_LABELS,
    SCOPE_LABELS,
    AllocationStatus,
    Factor,
    Pollutant,
    Scope,
    SourceKind,
)
from services.factors.models import Allocation, CreditDemand, Pool, ReplacementSource
from services.factors.schemas import (
    AllocationCreate,
    AllocationPublic,
    CountyCredit,
    CountyFactor,
    CreditDemandCreate,
    CreditDemandPublic,
    CreditSummary,
    DisbursementIn,
    DisbursementPublic,
    FactorSummary,
    FactorSummaryRow,
    GrantIn,
    GrantPublic,
    PoolCreate,
    PoolPublic,
    ReleaseIn,
    RingFencePublic,
    SourceCreate,
    SourcePublic,
    UseIn,
    Year,
)
from shared.events.catalogue.factors import ReleaseCause
from shared.events.catalogue.registry import Level
from shared.http.app import CurrentUser, DbSession, RuntimeDep, Uow
from shared.http.conventions import DEFAULT_LIMIT, Limit, Offset, Page, created, set_etag
from shared.rates import percent

router = APIRouter(prefix="/v1", tags=["factors"])

Id = Annotated[str, Query(max_length=36)]
County = Annotated[str, Query(pattern=r"^\d{6}$")]
YearQuery = Annotated[int, Query(ge=1990, le=2100)]


async def _pool_public(session: DbSession, pool: Pool) -> PoolPublic:
    unit = unit_of(pool.factor)
    state = await queries.pool_state(session, pool)
    return PoolPublic(
        id=pool.id,
        factor=Factor(pool.factor),
        factor_label=FACTOR_LABELS[Factor(pool.factor)],
        pollutant=Pollutant(pool.pollutant) if pool.pollutant else None,
        year=pool.year,
        scope=Scope(pool.scope),
        scope_label=SCOPE_LABELS[Scope(pool.scope)],
        name=pool.name,
        unit=unit,
        unit_label=UNIT_LABELS[unit],
        amount=pool.amount,
        allocated=pool.allocated,
        remaining=pool.amount - pool.allocated,
        advance=pool.advance_allocated,
        released=pool.released,
        utilisation=percent(pool.allocated, pool.amount),
        advance_share=pool.advance_share,
        ring_fences=[
            RingFencePublic(
                min_level=Level(f.min_level),
                amount=f.amount,
                available_below=state.available_below(f),
            )
            for f in state.fences
        ],
        version=pool.version,
        created_at=pool.created_at,
    )


def _allocation_public(a: Allocation) -> AllocationPublic:
    return AllocationPublic(
        id=a.id,
        pool_id=a.pool_id,
        project_id=a.project_id,
        county=a.county,
        level=Level(a.level) if a.level else None,
        factor=Factor(a.factor),
        pollutant=Pollutant(a.pollutant) if a.pollutant else None,
        year=a.year,
        unit=unit_of(a.factor),
        amount=a.amount,
        charged=a.charged,
        ratio=a.ratio,
        source_id=a.source_id,
        advance=a.advance,
        status=AllocationStatus(a.status),
        note=a.note,
        allocated_on=a.allocated_on,
        allocated_by=a.allocated_by,
        use_by=a.use_by,
        used_on=a.used_on,
        used_by=a.used_by,
        released_on=a.released_on,
        released_by=a.released_by,
        release_cause=ReleaseCause(a.release_cause) if a.release_cause else None,
        release_reason=a.release_reason,
        version=a.version,
    )


def _source_public(s: ReplacementSource) -> SourcePublic:
    return SourcePublic(
        id=s.id,
        pollutant=Pollutant(s.pollutant),
        name=s.name,
        kind=SourceKind(s.kind),
        county=s.county,
        unit=CANONICAL[Measure.POLLUTANT],
        amount=s.amount,
        used=s.used,
        remaining=s.amount - s.used,
        ratio=s.ratio,
        note=s.note,
        version=s.version,
    )


def _demand_public(
    d: CreditDemand, grants: list[GrantPublic], disbursements: list[DisbursementPublic]
) -> CreditDemandPublic:
    return CreditDemandPublic(
        id=d.id,
        project_id=d.project_id,
        county=d.county,
        year=d.year,
        unit=CANONICAL[Measure.FUNDS],
        amount=d.amount,
        granted=d.granted,
        disbursed=d.disbursed,
        purpose=d.purpose,
        grants=grants,
        disbursements=disbursements,
        version=d.version,
    )


# ---------------------------------------------------------------- pools
@router.post("/pools", status_code=status.HTTP_201_CREATED, response_model=PoolPublic)
async def create_pool(
    body: PoolCreate, uow: Uow, user: CurrentUser, session: DbSession, response: Response
) -> PoolPublic:
    pool = await service.create_pool(uow, user, body)
    created(response, f"/v1/pools/{pool.id}", pool.version)
    return await _pool_public(session, await queries.get_pool(session, pool.id))


@router.get("/pools", response_model=Page[PoolPublic])
async def list_pools(
    session: DbSession,
    _: CurrentUser,
    factor: Factor | None = None,
    year: YearQuery | None = None,
    scope: Scope | None = None,
    pollutant: Pollutant | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[PoolPublic]:
    pools, total = await queries.list_pools(session, factor, year, scope, pollutant, limit, offset)
    return Page(items=[await _pool_public(session, p) for p in pools], total=total)


@router.get("/pools/{pool_id}", response_model=PoolPublic)
async def get_pool(
    pool_id: str, session: DbSession, _: CurrentUser, response: Response
) -> PoolPublic:
    pool = await queries.get_pool(session, pool_id)
    set_etag(response, pool.version)
    return await _pool_public(session, pool)


# ---------------------------------------------------------------- allocations
@router.post("/allocations", status_code=status.HTTP_201_CREATED, response_model=AllocationPublic)
async def allocate(
    body: AllocationCreate, uow: Uow, user: CurrentUser, response: Response
) -> AllocationPublic:
    allocation = await service.allocate(uow, user, body)
    created(response, f"/v1/allocations/{allocation.id}", allocation.version)
    return _allocation_public(allocation)


@router.get("/allocations", response_model=Page[AllocationPublic])
async def list_allocations(
    session: DbSession,
    user: CurrentUser,
    project_id: Id | None = None,
    pool_id: Id | None = None,
    county: County | None = None,
    factor: Factor | None = None,
    year: YearQuery | None = None,
    status: AllocationStatus | None = None,
    advance: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[AllocationPublic]:
    rows, total = await queries.list_allocations(
        session,
        user,
        queries.AllocationFilter(project_id, pool_id, county, factor, year, status, advance),
        limit,
        offset,
    )
    return Page(items=[_allocation_public(a) for a in rows], total=total)


@router.get("/allocations/{allocation_id}", response_model=AllocationPublic)
async def get_allocation(
    allocation_id: str, session: DbSession, user: CurrentUser, response: Response
) -> AllocationPublic:
    allocation = await queries.get_allocation(session, user, allocation_id)
    set_etag(response, allocation.version)
    return _allocation_public(allocation)


@router.post("/allocations/{allocation_id}/release", response_model=AllocationPublic)
async def release(
    allocation_id: str, body: ReleaseIn, uow: Uow, user: CurrentUser, response: Response
) -> AllocationPublic:
    allocation = await service.release(uow, user, allocation_id, body.reason)
    set_etag(response, allocation.version)
    return _allocation_public(allocation)


@router.post("/allocations/{allocation_id}/use", response_model=AllocationPublic)
async def mark_used(
    allocation_id: str, body: UseIn, uow: Uow, user: CurrentUser, response: Response
) -> AllocationPublic:
    allocation = await service.mark_used(uow, user, allocation_id, body)
    set_etag(response, allocation.version)
    return _allocation_public(allocation)


# ---------------------------------------------------------------- replacement sources
@router.post(
    "/replacement-sources", status_code=status.HTTP_201_CREATED, response_model=SourcePublic
)
async def create_source(
    body: SourceCreate, uow: Uow, user: CurrentUser, runtime: RuntimeDep, response: Response
) -> SourcePublic:
    config: FactorsConfig = runtime.config
    source = await service.create_source(
        uow,
        user,
        body,
        air_ratio=config.air_replacement_ratio,
        water_ratio=config.water_replacement_ratio,
    )
    created(response, f"/v1/replacement-sources/{source.id}", source.version)
    return _source_public(source)


@router.get("/replacement-sources", response_model=Page[SourcePublic])
async def list_sources(
    session: DbSession,
    _: CurrentUser,
    pollutant: Pollutant | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[SourcePublic]:
    rows, total = await queries.list_sources(session, pollutant, limit, offset)
    return Page(items=[_source_public(s) for s in rows], total=total)


@router.get("/replacement-sources/{source_id}", response_model=SourcePublic)
async def get_source(
    source_id: str, session: DbSession, _: CurrentUser, response: Response
) -> SourcePublic:
    source = await queries.get_source(session, source_id)
    set_etag(response, source.version)
    return _source_public(source)


# ---------------------------------------------------------------- funds
async def _demand_answer(
    session: DbSession, user: CurrentUser, demand_id: str
) -> CreditDemandPublic:
    demand, grants, disbursements = await queries.get_demand(session, user, demand_id)
    return _demand_public(
        demand,
        [
            GrantPublic(id=g.id, bank=g.bank, amount=g.amount, granted_on=g.granted_on)
            for g in grants
        ],
        [
            DisbursementPublic(id=d.id, amount=d.amount, disbursed_on=d.disbursed_on)
            for d in disbursements
        ],
    )


@router.post(
    "/credit-demands", status_code=status.HTTP_201_CREATED, response_model=CreditDemandPublic
)
async def register_credit_demand(
    body: CreditDemandCreate, uow: Uow, user: CurrentUser, response: Response
) -> CreditDemandPublic:
    demand = await service.register_credit_demand(uow, user, body)
    created(response, f"/v1/credit-demands/{demand.id}", demand.version)
    return _demand_public(demand, [], [])


@router.get("/credit-demands", response_model=Page[CreditDemandPublic])
async def list_credit_demands(
    session: DbSession,
    user: CurrentUser,
    project_id: Id | None = None,
    county: County | None = None,
    year: YearQuery | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[CreditDemandPublic]:
    rows, total = await queries.list_demands(session, user, project_id, county, year, limit, offset)
    return Page(items=[await _demand_answer(session, user, d.id) for d in rows], total=total)


@router.get("/credit-demands/{demand_id}", response_model=CreditDemandPublic)
async def get_credit_demand(
    demand_id: str, session: DbSession, user: CurrentUser, response: Response
) -> CreditDemandPublic:
    answer = await _demand_answer(session, user, demand_id)
    set_etag(response, answer.version)
    return answer


@router.post(
    "/credit-demands/{demand_id}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantPublic,
)
async def grant_credit(
    demand_id: str, body: GrantIn, uow: Uow, user: CurrentUser, response: Response
) -> GrantPublic:
    """A grant is part of its demand: `Location` is the demand, which lists it, and `ETag` the
    demand's version after it."""
    g, demand = await service.grant_credit(uow, user, demand_id, body)
    created(response, f"/v1/credit-demands/{demand.id}", demand.version)
    return GrantPublic(id=g.id, bank=g.bank, amount=g.amount, granted_on=g.granted_on)


@router.post(
    "/credit-demands/{demand_id}/disbursements",
    status_code=status.HTTP_201_CREATED,
    response_model=DisbursementPublic,
)
async def disburse_credit(
    demand_id: str, body: DisbursementIn, uow: Uow, user: CurrentUser, response: Response
) -> DisbursementPublic:
    """A disbursement is part of its demand: `Location` is the demand, which lists it, and
    `ETag` the demand's version after it."""
    d, demand = await service.disburse_credit(uow, user, demand_id, body)
    created(response, f"/v1/credit-demands/{demand.id}", demand.version)
    return DisbursementPublic(id=d.id, amount=d.amount, disbursed_on=d.disbursed_on)


@router.get("/credit/summary", response_model=CreditSummary)
async def credit_summary(year: Year, session: DbSession, user: CurrentUser) -> CreditSummary:
    rows = await queries.credit_by_county(session, user, year)
    zero = Decimal(0)
    return CreditSummary(
        year=year,
        unit=CANONICAL[Measure.FUNDS],
        projects=sum(r.projects for r in rows),
        demanded=sum((r.demanded for r in rows), zero),
        granted=sum((r.granted for r in rows), zero),
        disbursed=sum((r.disbursed for r in rows), zero),
        counties=[
            CountyCredit(
                county=r.county,
                projects=r.projects,
                demanded=r.demanded,
                granted=r.granted,
                disbursed=r.disbursed,
            )
            for r in rows
        ],
    )


# ---------------------------------------------------------------- factor summary
@router.get("/factors/summary", response_model=FactorSummary)
async def factor_summary(year: Year, session: DbSession, user: CurrentUser) -> FactorSummary:
    pools, counties = await queries.factor_totals(session, user, year)
    rows = []
    for p in sorted(pools, key=lambda t: (list(Factor).index(Factor(t.factor)), t.pollutant or "")):
        rows.append(
            FactorSummaryRow(
                factor=Factor(p.factor),
                factor_label=FACTOR_LABELS[Factor(p.factor)],
                pollutant=Pollutant(p.pollutant) if p.pollutant else None,
                unit=unit_of(p.factor),
                pool=p.amount,
                allocated=p.allocated,
                advance=p.advance,
                released=p.released,
                remaining=p.amount - p.allocated,
                utilisation=percent(p.allocated, p.amount),
                counties=[
                    CountyFactor(
                        county=c.county,
                        allocated=c.allocated,
                        advance=c.advance,
                        released=c.released,
                        allocations=c.allocations,
                    )
                    for c in counties
                    if (c.factor, c.pollutant) == (p.factor, p.pollutant)
                ],
            )
        )
    return FactorSummary(year=year, factors=rows)
