"""`kuaiche up --demo`: the factors demo is loaded after the registry's, from what the factors
projection learnt of the registry's demo events, with the article's figures."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from kuaiche.cli import load_demos
from services.factors.main import SERVICE as FACTORS
from services.factors.models import Allocation, CreditGrant, outbox
from services.registry.main import SERVICE as REGISTRY
from shared.bus.inprocess import InProcessBus
from shared.migrations import upgrade
from tests.api.factors.helpers import ok_json
from tests.conftest import COMMANDER, make_settings, start_service


async def test_the_demo_shows_the_article_figures(tmp_path: Path) -> None:
    definitions = [REGISTRY, FACTORS]
    settings = {
        d.name: make_settings(d.name, f"sqlite+aiosqlite:///{tmp_path / d.name}.db", tmp_path)
        for d in definitions
    }
    bus = InProcessBus(log_path=tmp_path / "bus.sqlite3")
    await bus.start()
    try:
        for d in definitions:
            await upgrade(d, settings[d.name].database_url)
        await load_demos(definitions, settings, bus)
        app, lifespan = await start_service(FACTORS, settings["factors"], bus, with_worker=False)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://factors"
            ) as client:
                await check_figures(client, app.state.runtime)
            # Loading again adds nothing.
            await load_demos([FACTORS], settings, bus)
            async with app.state.runtime.session_factory() as s:
                assert await s.scalar(select(func.count()).select_from(Allocation)) == 299
        finally:
            await lifespan.__aexit__(None, None, None)
    finally:
        await bus.stop()


async def check_figures(client: httpx.AsyncClient, runtime: object) -> None:
    pools = ok_json(
        await client.get("/v1/pools", params={"factor": "land", "limit": 10}, headers=COMMANDER)
    )["items"]
    by_key = {(p["year"], p["scope"]): p for p in pools}

    provincial = by_key[(2020, "provincial")]
    assert provincial["allocated"] == "1928" and provincial["utilisation"] == "100.0"
    allocations = ok_json(
        await client.get(
            "/v1/allocations", params={"pool_id": provincial["id"], "limit": 50}, headers=COMMANDER
        )
    )
    assert allocations["total"] == 10
    assert {a["level"] for a in allocations["items"]} == {"provincial_major_construction"}

    quota_2019 = by_key[(2019, "city")]
    assert quota_2019["amount"] == "4415"
    assert quota_2019["allocated"] == "3603" and quota_2019["advance"] == "3603"
    assert quota_2019["utilisation"] == "81.6"
    advances = ok_json(
        await client.get(
            "/v1/allocations", params={"pool_id": quota_2019["id"], "limit": 100}, headers=COMMANDER
        )
    )
    levels = [a["level"] for a in advances["items"]]
    assert advances["total"] == 71  # 13 other provincial + 52 city key + 6 city infrastructure
    assert levels.count("city_key") == 52 and levels.count("city_infrastructure") == 6
    assert all(a["advance"] for a in advances["items"])

    credit = ok_json(await client.get("/v1/credit/summary?year=2020", headers=COMMANDER))
    assert credit["projects"] == 44
    assert credit["granted"] == "174000"  # 17.4 亿元 in 万元
    assert credit["unit"] == "10k_yuan"

    summary = ok_json(await client.get("/v1/factors/summary?year=2020", headers=COMMANDER))
    rows = {(r["factor"], r["pollutant"]): r for r in summary["factors"]}
    assert {"land", "energy", "pollutant", "water"} == {f for f, _ in rows}
    so2 = rows[("pollutant", "SO2")]
    # 2:1 replacement for air pollutants: the pool bears twice the new emissions
    sources = ok_json(await client.get("/v1/replacement-sources?pollutant=SO2", headers=COMMANDER))[
        "items"
    ]
    assert sources[0]["ratio"] == "2" and sources[0]["used"] == so2["allocated"] == "840"

    async with runtime.session_factory() as s:  # type: ignore[attr-defined]
        events = await s.scalar(select(func.count()).select_from(outbox))
        grants = await s.scalar(select(func.count()).select_from(CreditGrant))
    # every source, pool, allocation, demand, grant and disbursement was a use case with its event
    assert events == 6 + 12 + 299 + 44 + grants + 44
