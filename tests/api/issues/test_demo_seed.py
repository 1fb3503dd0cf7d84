"""`kuaiche up --demo` for issues: the registry's demo library is published on the bus, the
issues service learns the projects from those events (never from the registry's code), then
plays 222 problems through its use cases: 196 resolved or closed (88.3%), four rounds, a
handful overdue."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import httpx
from sqlalchemy import func, select

from services.issues import api
from services.issues.main import SERVICE as ISSUES
from services.issues.models import Issue, ProjectView
from services.registry.main import SERVICE as REGISTRY
from shared.bus.inprocess import InProcessBus
from tests.api.issues.helpers import ok_json
from tests.conftest import COMMANDER, make_settings, start_service


async def test_the_demo_learns_projects_from_events_and_reads_88_3_percent(
    tmp_path: Path,
) -> None:
    bus = InProcessBus()
    reg_app, reg_life = await start_service(
        REGISTRY,
        make_settings("registry", f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}", tmp_path),
        bus,
        with_worker=False,
    )
    iss_app, iss_life = await start_service(
        dataclasses.replace(ISSUES, jobs=lambda rt: {}),
        make_settings("issues", f"sqlite+aiosqlite:///{tmp_path / 'i.sqlite3'}", tmp_path),
        bus,
        with_worker=False,
    )
    try:
        issues_rt = iss_app.state.runtime
        # Before the registry published anything the issues demo has no projects to use.
        assert "no projects known" in await ISSUES.load_demo(issues_rt)

        registry_rt = reg_app.state.runtime
        await REGISTRY.load_demo(registry_rt)
        while await registry_rt.relay.publish_pending():  # what `kuaiche up --demo` does
            pass
        message = await ISSUES.load_demo(issues_rt)
        assert "222 problems" in message and "4 supervision rounds" in message
        assert "6 flagged overdue on 2020-04-30" in message
        assert "already present" in await ISSUES.load_demo(issues_rt)

        async with issues_rt.session_factory() as s:
            known = await s.scalar(select(func.count()).select_from(ProjectView))
            counties = (await s.scalars(select(Issue.county).distinct())).all()
            units = (await s.scalars(select(Issue.unit).distinct())).all()
        assert known == 1191  # every project of the registry's demo library
        assert len(counties) >= 8 and len([u for u in units if u]) >= 6

        iss_app.dependency_overrides[api.now_utc] = lambda: dt.datetime(
            2020, 4, 30, 12, tzinfo=dt.UTC
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=iss_app), base_url="http://issues"
        ) as client:
            stats = ok_json(await client.get("/v1/issues/stats", headers=COMMANDER))
            assert stats["collected"] == 222 and stats["resolved"] == 196
            assert stats["resolution_rate"] == "88.3"
            assert stats["overdue"] == 6
            assert len(stats["by_category"]) == 10
            assert sum(c["collected"] for c in stats["by_category"]) == 222
            on_time = stats["on_time_rate"]
            assert on_time is not None and 80 < float(on_time) < 100

            rounds = ok_json(await client.get("/v1/rounds", headers=COMMANDER))
            assert [r["number"] for r in rounds["items"]] == [1, 2, 3, 4]
            assert sum(r["issues"] for r in rounds["items"]) > 0

            async def total(**params: str) -> int:
                r = await client.get(
                    "/v1/issues", params={**params, "limit": "1"}, headers=COMMANDER
                )
                assert r.status_code == 200, r.text
                return int(r.json()["total"])

            assert await total(overdue="true") == 6
            assert await total(colour="red") == 6
            assert await total(colour="yellow") == 2
            assert await total(status="reported") == 18
            assert await total(status="closed") == 160
            assert await total(status="resolved") == 36
    finally:
        await iss_life.__aexit__(None, None, None)
        await reg_life.__aexit__(None, None, None)
