"""Rebuilds racing each other on PostgreSQL + Kafka: of two started at once exactly one runs (the
other is told one is running), and the read model that takes over is whole."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.scoring import readmodel
from services.scoring.main import SERVICE
from services.scoring.models import ProjectView
from shared.bus.kafka import KafkaBus
from shared.errors import RuleViolation
from shared.events.topics import FACTORS, ISSUES, REGISTRY, dead_letter_topic
from tests.conftest import create_database, make_settings, start_service, wait_until
from tests.support.upstream import BINCHENG, BOXING, Upstream

pytestmark = pytest.mark.integration


async def test_of_two_rebuilds_started_together_one_runs(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str
) -> None:
    run = uuid.uuid4().hex[:10]
    upstream_topics = {
        t: f"kuaiche.it.{run}.{t.removeprefix('kuaiche.')}" for t in SERVICE.subscribes
    }
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    await bus.ensure_topics(
        [x for t in upstream_topics.values() for x in (t, dead_letter_topic(t))]
    )
    definition = dataclasses.replace(
        SERVICE,
        topic=f"kuaiche.it.{run}.scoring",
        subscribes={upstream_topics[t]: f for t, f in SERVICE.subscribes.items()},
    )
    feed = readmodel.Feed.of(definition, group=f"scoring-{run}")
    definition = dataclasses.replace(
        definition, jobs=lambda rt: {"read-model": partial(readmodel.follow, rt, feed, 0.5)}
    )
    settings = make_settings(
        "scoring", await create_database(postgres_server), tmp_path, kafka_bootstrap
    )
    app, lifespan = await start_service(definition, settings, bus)
    runtime = app.state.runtime
    try:
        up = Upstream(
            bus, upstream_topics[REGISTRY], upstream_topics[FACTORS], upstream_topics[ISSUES]
        )
        for n in range(30):
            pid = await up.register(BINCHENG if n % 2 else BOXING)
            await up.start(pid, dt.date(2020, 4, 1 + n % 20))

        async def projects(epoch: int) -> int:
            async with runtime.session_factory() as s:
                return await s.scalar(
                    select(func.count()).select_from(ProjectView).where(ProjectView.epoch == epoch)
                )

        await wait_until(lambda: _equals(projects(1), 30), timeout=60)
        for _ in range(3):
            results = await asyncio.gather(
                readmodel.rebuild(runtime, "commander:a", feed),
                readmodel.rebuild(runtime, "commander:b", feed),
                return_exceptions=True,
            )
            built = [r for r in results if not isinstance(r, BaseException)]
            refused = [r for r in results if isinstance(r, RuleViolation)]
            assert len(built) == 1 and len(refused) == 1, results
            assert await projects(built[0].number) == 30
            async with runtime.session_factory() as s:
                states = [(e.number, e.state) for e in await readmodel.epochs(s)]
            assert [st for _, st in states].count("current") == 1
            assert "building" not in [st for _, st in states]
    finally:
        await lifespan.__aexit__(None, None, None)
        await bus.stop()


async def _equals(count: object, wanted: int) -> bool:
    return await count == wanted  # type: ignore[misc]
