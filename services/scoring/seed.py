"""The demo: scoring reads the other services' demo events into its read model (it has no data
of its own) and publishes the April 2020 ranking, so `kuaiche up --demo` shows a frozen 通报
beside the live figures."""

from __future__ import annotations

from sqlalchemy import select

from services.scoring import readmodel, service
from services.scoring.config import load_config
from services.scoring.domain.periods import Period
from services.scoring.models import Publication
from shared.auth import Principal, Role
from shared.regions import load_region_table
from shared.runtime import Runtime

DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)
DEMO_PERIOD = Period(2020, 4)


async def load_demo(runtime: Runtime) -> str:
    read = await readmodel.catch_up(runtime)
    async with runtime.session_factory() as session:
        published = await session.scalar(
            select(Publication.id).where(
                Publication.year == DEMO_PERIOD.year, Publication.month == DEMO_PERIOD.month
            )
        )
    if published is not None:
        return f"scoring: demo already present ({read} new events read; {DEMO_PERIOD} published)"
    regions = load_region_table(runtime.settings.regions_file)
    publication = await service.publish(
        runtime.uow(), DEMO_LOADER, DEMO_PERIOD, None, "演示数据", load_config(), regions
    )
    top = publication.ranking[0]
    exposed = ", ".join(f"{len(v)} {k}" for k, v in publication.exposure.items())
    return (
        f"scoring: demo loaded ({read} events read; {DEMO_PERIOD} published: first {top.name} "
        f"{top.score}, last {publication.ranking[-1].name} {publication.ranking[-1].score}; "
        f"exposed {exposed})"
    )
