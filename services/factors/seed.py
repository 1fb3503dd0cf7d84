"""Loads the demo's factor figures through the same use cases an API call runs, once the
factors projection has caught up on the registry's demo events (`kuaiche up --demo` publishes
them before this runs), so every pool, allocation and credit line has its event."""

from __future__ import annotations

from services.factors import demo, service
from services.factors.schemas import (
    AllocationCreate,
    CreditDemandCreate,
    DisbursementIn,
    GrantIn,
    PoolCreate,
    SourceCreate,
)
from shared.auth import Principal, Role
from shared.runtime import Runtime

DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)


async def load_demo(runtime: Runtime) -> str:
    await runtime.catch_up()
    async with runtime.session_factory() as session:
        if await service.count_pools(session):
            return "factors: pools already present; demo not loaded again"
        projects = [
            demo.KnownProject(p.id, p.name or "", p.county, p.level)
            for p in await service.known_projects(session)
            if not p.withdrawn
        ]
    if not projects:
        return "factors: no projects known from the registry; demo not loaded"
    plan = demo.build(projects)

    source_ids: dict[str, str] = {}
    for source in plan.sources:
        created = await service.create_source(
            runtime.uow(), DEMO_LOADER, SourceCreate.model_validate(source.body)
        )
        source_ids[source.name] = created.id
    allocations = 0
    for pool in plan.pools:
        created_pool = await service.create_pool(
            runtime.uow(), DEMO_LOADER, PoolCreate.model_validate(pool.body)
        )
        for draw in pool.draws:
            await service.allocate(
                runtime.uow(),
                DEMO_LOADER,
                AllocationCreate(
                    pool_id=created_pool.id,
                    project_id=draw.project_id,
                    amount=draw.amount,
                    advance=draw.advance,
                    source_id=source_ids[draw.source] if draw.source else None,
                ),
            )
            allocations += 1
    for line in plan.credit:
        demand = await service.register_credit_demand(
            runtime.uow(),
            DEMO_LOADER,
            CreditDemandCreate(project_id=line.project_id, amount=line.demand, year=2020),
        )
        for bank, amount, on in line.grants:
            await service.grant_credit(
                runtime.uow(), DEMO_LOADER, demand.id, GrantIn(bank=bank, amount=amount, date=on)
            )
        if line.disbursed:
            await service.disburse_credit(
                runtime.uow(),
                DEMO_LOADER,
                demand.id,
                DisbursementIn(amount=line.disbursed, date=line.disbursed_on),
            )
    return (
        f"factors: demo loaded ({len(plan.pools)} pools, {allocations} allocations, "
        f"{len(plan.credit)} credit demands)"
    )
