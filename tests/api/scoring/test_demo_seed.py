"""`kuaiche up --demo` for scoring: the registry's, factors' and issues' demos are published on
the bus (kuaiche.cli.load_demos, as `up` runs them), scoring reads them from the log alone and
ranks the ten divisions for April 2020 with a plausible spread, lists the exposures, and
publishes the month; loading the demo again publishes nothing more."""

from __future__ import annotations

from pathlib import Path

import httpx

from kuaiche.cli import load_demos
from kuaiche.services import SERVICES
from services.scoring.main import SERVICE as SCORING
from shared.bus.inprocess import InProcessBus
from shared.http.conventions import MAX_LIMIT
from shared.migrations import upgrade
from shared.runtime import open_runtime
from tests.api.scoring.helpers import body_of
from tests.conftest import COMMANDER, make_settings, start_service


async def test_the_demo_ranks_ten_divisions_for_april_2020(tmp_path: Path) -> None:
    bus = InProcessBus()
    settings = {
        name: make_settings(name, f"sqlite+aiosqlite:///{tmp_path / name}.sqlite3", tmp_path)
        for name in SERVICES
    }
    for name, definition in SERVICES.items():
        await upgrade(definition, settings[name].database_url)
    await load_demos(list(SERVICES.values()), settings, bus)

    app, lifespan = await start_service(SCORING, settings["scoring"], bus, with_worker=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scoring"
        ) as client:
            april = {"year": 2020, "month": 4}
            ranking = body_of(await client.get("/v1/rankings", params=april, headers=COMMANDER))
            items = ranking["items"]
            assert len(items) == 10 and len({i["county"] for i in items}) == 10
            assert [i["rank"] for i in items] == list(range(1, 11))
            scores = [float(i["score"]) for i in items]
            assert 10 < scores[0] - scores[-1] < 60  # a plausible spread, nobody near 0 or 100
            assert 20 < scores[-1] and scores[0] < 90
            assert [i["tier"] for i in items[:3]] == ["先进"] * 3 and items[3]["tier"] is None

            cards = body_of(await client.get("/v1/scorecards", params=april, headers=COMMANDER))
            figures = {c["county"]: c["figures"] for c in cards["items"]}
            assert sum(f["problems_collected"] for f in figures.values()) > 150
            assert sum(f["factor_allocations"] for f in figures.values()) > 100
            assert all(f["planned_starts"] > 0 for f in figures.values())

            listed = {}
            for kind in ("unstarted", "lagging", "overdue"):
                r = await client.get(
                    "/v1/exposure",
                    params={"kind": kind, "limit": MAX_LIMIT, **april},
                    headers=COMMANDER,
                )
                body = body_of(r)
                assert body["total"] == len(body["items"])  # the whole list on one page
                listed[kind] = body["items"]
            assert len(listed["overdue"]) == 6  # the issues demo's six flagged as of 2020-04-30
            assert {e["colour"] for e in listed["unstarted"]} == {"yellow", "red"}
            assert {e["colour"] for e in listed["lagging"]} == {"yellow", "red"}

            published = body_of(await client.get("/v1/publications", headers=COMMANDER))
            assert [(p["year"], p["month"]) for p in published["items"]] == [(2020, 4)]
            frozen = await client.get(
                f"/v1/publications/{published['items'][0]['id']}", headers=COMMANDER
            )
            assert body_of(frozen)["ranking"] == items
    finally:
        await lifespan.__aexit__(None, None, None)

    # `up --demo` on a data dir that has it already: nothing is published twice
    runtime = await open_runtime(SCORING, settings["scoring"], bus)
    try:
        assert "already present" in await SCORING.load_demo(runtime)  # type: ignore[misc]
    finally:
        await runtime.close()
