"""The factors demo (`kuaiche up --demo`): the Binzhou 2020 figures (要素跟着项目走) loaded
through the same use cases an API call runs, once the factors projection has caught up on the
registry's demo events, so every pool, allocation and credit line has its event.

From the source article (DOMAIN.md's seed figures), in `binzhou_2020.json`:
- the province's coordinated land pool covers the 10 provincial major construction projects'
  1,928 亩 of new land quota;
- 13 other provincial projects (3 preparation, 6 preferred, 4 investment-attraction), 52 city key
  and 6 city infrastructure projects got 3,603 亩 in advance (预支) from the quota the province
  issued the city for 2019: 81.6% of it, so that quota is 4,415 亩;
- 44 projects with credit needs were granted 17.4 亿元 (174,000 万元) of credit.
The rest (the city's 2020 land, energy, pollutant and water pools, the replacement sources with
2:1 replacement for air pollutants, credit demanded and disbursed) is ours and only plausible.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from services.factors import queries, service
from services.factors.config import FactorsConfig
from services.factors.demo.plan import Candidate, build
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
DATA = "binzhou_2020.json"


def demo_data() -> dict[str, Any]:
    return json.loads(resources.files(__name__).joinpath(DATA).read_text(encoding="utf-8"))


async def load_demo(runtime: Runtime) -> str:
    await runtime.catch_up()
    async with runtime.session_factory() as session:
        if await queries.count_pools(session):
            return "factors: pools already present; demo not loaded again"
        projects = [
            Candidate(p.id, p.name or "", p.county, p.level)
            for p in await queries.known_projects(session)
            if not p.withdrawn
        ]
    if not projects:
        return "factors: no projects known from the registry; demo not loaded"
    plan = build(demo_data(), projects)
    config: FactorsConfig = runtime.config

    # Each pool with its draws, and each credit line with its grants, is one unit of work its
    # use cases join (shared/uow.py), not one transaction per use case.
    source_ids: dict[str, str] = {}
    async with runtime.uow() as uow:
        for source in plan.sources:
            created = await service.create_source(
                uow,
                DEMO_LOADER,
                SourceCreate.model_validate(source.body),
                air_ratio=config.air_replacement_ratio,
                water_ratio=config.water_replacement_ratio,
            )
            source_ids[source.key] = created.id
    allocations = 0
    for pool in plan.pools:
        async with runtime.uow() as uow:
            created_pool = await service.create_pool(
                uow, DEMO_LOADER, PoolCreate.model_validate(pool.body)
            )
            for draw in pool.draws:
                await service.allocate(
                    uow,
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
        async with runtime.uow() as uow:
            demand = await service.register_credit_demand(
                uow,
                DEMO_LOADER,
                CreditDemandCreate(project_id=line.project_id, amount=line.demand, year=line.year),
            )
            for bank, amount, on in line.grants:
                await service.grant_credit(
                    uow, DEMO_LOADER, demand.id, GrantIn(bank=bank, amount=amount, date=on)
                )
            if line.disbursed:
                await service.disburse_credit(
                    uow,
                    DEMO_LOADER,
                    demand.id,
                    DisbursementIn(amount=line.disbursed, date=line.disbursed_on),
                )
    return (
        f"factors: demo loaded ({len(plan.pools)} pools, {allocations} allocations, "
        f"{len(plan.credit)} credit demands)"
    )
