"""The project list's plans on real PostgreSQL at a size where they matter: 50,000 projects loaded
in bulk (bench/registry_lists.py's generator) into a registry migrated to 0001, then migrated to
head (the list's indexes built over full tables) and analysed. For every filter's first page, a
county's own list, and deep keyset pages, every statement the route runs (the capped count and
the page) is explained: none reads `projects` by a sequential scan, and each reads it through an
index. Plans, not timings: bench/registry_lists.py measures those."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from bench.common import COUNTIES
from bench.registry_lists import RARE_TAG, cursor_at, load_projects, vacuum_analyze
from services.registry.main import SERVICE
from shared.bus.inprocess import InProcessBus
from shared.db import make_engine
from shared.migrations import upgrade
from tests.api.registry.helpers import county_token
from tests.conftest import COMMANDER, RunningService, create_database, make_settings, start_service

pytestmark = pytest.mark.integration

PROJECTS = 50_000
COUNTY = COUNTIES[0]  # one project in eight
INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


@pytest.fixture
async def loaded(tmp_path: Path, postgres_server: str) -> AsyncIterator[RunningService]:
    url = await create_database(postgres_server)
    await upgrade(SERVICE, url, "0001")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await load_projects(conn, PROJECTS)
    finally:
        await engine.dispose()
    await upgrade(SERVICE, url)
    await vacuum_analyze(url)
    app, lifespan = await start_service(
        SERVICE, make_settings("registry", url, tmp_path), InProcessBus(), with_worker=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)


def _nodes(plan: dict[str, Any], parent: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """The plan's nodes, each with its parent's type as "Parent Node" (None at the top)."""
    yield {**plan, "Parent Node": parent["Node Type"] if parent else None}
    for child in plan.get("Plans", []):
        yield from _nodes(child, plan)


async def _plans_of(
    registry: RunningService, params: dict[str, Any], headers: dict[str, str] = COMMANDER
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The route answers; then each statement it ran on `projects`, explained with the same
    parameters: (statement, its plan's nodes)."""
    ran: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM projects" in statement and not statement.startswith("EXPLAIN"):
            ran.append((statement, parameters))

    engine = registry.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = await registry.client.get("/v1/projects", params=params, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 200, r.text
    assert r.json()["items"], f"{params} answers an empty page: the plan would prove little"
    out = []
    async with registry.runtime.engine.connect() as conn:
        for statement, parameters in ran:
            answer = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            plan = answer.scalar_one()[0]["Plan"]
            out.append((statement, list(_nodes(plan))))
    assert len(out) == 2, f"expected the count and the page, ran {[s for s, _ in ran]}"
    return out


def _bounded(node: dict[str, Any]) -> bool:
    """A sequential scan the count may use: right under its LIMIT of 10,001, for a filter the
    planner expects most projects to match (key=false), so it stops after about 10,001 / (its
    share) rows whatever the library's size. Reading them through an index would cost more."""
    return node["Parent Node"] == "Limit" and node["Plan Rows"] >= PROJECTS // 2


def _assert_indexed(plans: list[tuple[str, list[dict[str, Any]]]]) -> None:
    for number, (statement, nodes) in enumerate(plans):
        on_projects = [n for n in nodes if n.get("Relation Name") == "projects"]
        seq = [n for n in on_projects if n["Node Type"] == "Seq Scan"]
        counting = number == 0
        assert all(counting and _bounded(n) for n in seq), (
            f"sequential scan of projects:\n{statement}\n{nodes}"
        )
        kinds = {n["Node Type"] for n in on_projects}
        kinds |= {n["Node Type"] for n in nodes if n.get("Index Name", "").startswith("ix_proj")}
        assert seq or kinds & INDEX_SCANS, f"no index on projects:\n{statement}\n{nodes}"


FIRST_PAGES = {
    "no filter": {},
    "county": {"county": COUNTY},
    "key list": {"key": "true"},
    "off the key list": {"key": "false"},
    "level": {"level": "city_key"},
    "stage": {"stage": "withdrawn"},
    "track": {"track": "preparation"},
    "county and stage": {"county": COUNTY, "stage": "started"},
    "rare tag": {"tag": RARE_TAG},
    "common tag": {"tag": "新旧动能转换"},
    "q, a name's words": {"q": "数字经济项目"},
    "q, a code": {"q": "0012345"},
}


async def test_first_pages_a_countys_list_and_deep_keyset_pages_read_indexes(loaded) -> None:
    """One library for every case (loading it is the slow part): each filter's first page as the
    commander, a county's own list, and keyset pages 90% deep into all and into a county, whose
    position must be the index scan's condition, not a filter over the rows before it."""
    failures: list[str] = []

    async def check(what: str, params: dict[str, Any], headers: dict[str, str] = COMMANDER):
        try:
            plans = await _plans_of(loaded, params, headers)
            _assert_indexed(plans)
        except AssertionError as exc:
            failures.append(f"{what}: {exc}")
            return None
        return plans

    for what, params in FIRST_PAGES.items():
        await check(f"first page, {what}", params)
    await check("a county's own list", {"key": "false"}, county_token(COUNTY))

    url = loaded.runtime.engine.url.render_as_string(hide_password=False)
    for county in (None, COUNTY):
        matching = PROJECTS // len(COUNTIES) if county else PROJECTS
        cursor = await cursor_at(url, matching * 9 // 10, county)
        params = {"cursor": cursor, **({"county": county} if county else {})}
        plans = await check(f"deep keyset page, county {county}", params)
        if plans is not None:
            page = [n for n in plans[1][1] if n.get("Relation Name") == "projects"]
            if not all("Index Cond" in n for n in page):
                failures.append(f"deep page, county {county}: the position is no index condition")
    assert not failures, "\n\n".join(failures)
