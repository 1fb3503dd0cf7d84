"""Rebuilds racing each other on PostgreSQL: of two started at once exactly one runs (the other
is told one is running), and the read model that takes over is whole."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.scoring import readmodel
from services.scoring.main import SERVICE
from services.scoring.models import ProjectRow
from shared.bus.inprocess import InProcessBus
from shared.errors import RuleViolation
from tests.api.scoring.upstream import BINCHENG, BOXING, Upstream
from tests.conftest import create_database, make_settings, start_service, wait_until

pytestmark = pytest.mark.integration


async def test_of_two_rebuilds_started_together_one_runs(
    tmp_path: Path, postgres_server: str
) -> None:
    bus = InProcessBus()
    settings = make_settings("scoring", await create_database(postgres_server), tmp_path)
    app, lifespan = await start_service(SERVICE, settings, bus)
    runtime = app.state.runtime
    try:
        up = Upstream(bus)
        for n in range(30):
            pid = await up.register(BINCHENG if n % 2 else BOXING)
            await up.start(pid, dt.date(2020, 4, 1 + n % 20))

        async def projects(epoch: int) -> int:
            async with runtime.session_factory() as s:
                return await s.scalar(
                    select(func.count()).select_from(ProjectRow).where(ProjectRow.epoch == epoch)
                )

        await wait_until(lambda: _equals(projects(1), 30))
        for _ in range(3):
            results = await asyncio.gather(
                readmodel.rebuild(runtime, "commander:a"),
                readmodel.rebuild(runtime, "commander:b"),
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


async def _equals(count: object, wanted: int) -> bool:
    return await count == wanted  # type: ignore[misc]
