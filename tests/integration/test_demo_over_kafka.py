"""`kuaiche up --demo` against a real broker: the demo loaders run before any worker, so
publishing the registry's demo events must create the topics itself, and the next service's
loader must catch up on them over Kafka."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.factors import main as factors_main
from services.factors.models import ProjectView
from services.registry import service as registry_service
from services.registry.demo import DEMO_LOADER
from services.registry.main import SERVICE as REGISTRY
from services.registry.schemas import ProjectCreate
from shared.migrations import upgrade
from shared.regions import load_region_table
from shared.runtime import open_runtime
from tests.conftest import create_database, make_settings

pytestmark = pytest.mark.integration


async def test_published_before_any_worker_and_caught_up_over_kafka(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str
) -> None:
    topic = f"kuaiche.it.demo.{uuid.uuid4().hex[:8]}"  # not created by anyone beforehand
    registry = dataclasses.replace(REGISTRY, topic=topic)
    factors = dataclasses.replace(
        factors_main.SERVICE, subscribes={topic: factors_main.project_handlers}
    )
    settings = {}
    for d in (registry, factors):
        settings[d.name] = make_settings(
            d.name, await create_database(postgres_server), tmp_path, kafka=kafka_bootstrap
        )
        await upgrade(d, settings[d.name].database_url)

    runtime = await open_runtime(registry, settings["registry"])
    try:
        regions = load_region_table(runtime.settings.regions_file)
        for n in range(5):
            await registry_service.register_project(
                runtime.uow(),
                DEMO_LOADER,
                ProjectCreate(
                    name=f"演示项目{n}", county="371602", track="implementation", total_investment="1"
                ),
                regions,
            )
        await runtime.publish_all()  # the loader's hand-off, as kuaiche.cli.load_demos does
    finally:
        await runtime.close()

    runtime = await open_runtime(factors, settings["factors"])
    try:
        await runtime.catch_up()
        async with runtime.session_factory() as session:
            known = await session.scalar(select(func.count()).select_from(ProjectView))
        assert known == 5
    finally:
        await runtime.close()
