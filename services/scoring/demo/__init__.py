"""The demo: scoring has no data of its own; it reads the other services' demo events into its
read model and publishes the period in `publication.json` (April 2020), so `kuaiche up --demo`
shows a frozen 通报 beside the live figures. A second load publishes nothing."""

from __future__ import annotations

import json
from importlib import resources

from services.scoring import queries, readmodel, service
from services.scoring.domain.periods import Period
from shared.auth import Principal, Role
from shared.regions import load_region_table
from shared.runtime import Runtime

DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)


def _publication() -> tuple[Period, str | None]:
    data = json.loads(resources.files(__package__).joinpath("publication.json").read_text("utf-8"))
    return Period(data["year"], data["month"]), data.get("note")


async def load_demo(runtime: Runtime) -> str:
    period, note = _publication()
    read = await readmodel.catch_up(runtime)
    async with runtime.session_factory() as session:
        published = await queries.published_as(session, period)
    if published is not None:
        return f"scoring: demo already present ({read} new events read; {period} published)"
    regions = load_region_table(runtime.settings.regions_file)
    publication = await service.publish(
        runtime.uow(), DEMO_LOADER, period, None, note, runtime.config.thresholds, regions
    )
    top, last = publication.ranking[0], publication.ranking[-1]
    exposed = ", ".join(f"{len(v)} {k}" for k, v in publication.exposure.items())
    return (
        f"scoring: demo loaded ({read} events read; {period} published: first {top.name} "
        f"{top.score}, last {last.name} {last.score}; exposed {exposed})"
    )
