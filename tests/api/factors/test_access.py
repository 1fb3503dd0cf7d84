"""Who may do what with factors: no token is 401; only the command office sets pools,
sources, allocates and releases (403 for everyone else, nothing written); a county reads only
its own county's allocations (another county's is 404); viewers read everything."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    allocation,
    county_token,
    factors_alone,
    nothing_written,
    problem,
    source,
)
from tests.api.registry.helpers import BINCHENG, ZHANHUA, ZOUPING
from tests.conftest import VIEWER, token

NOT_COMMANDERS: dict[str, Callable[[], dict[str, str]]] = {
    "county": lambda: county_token(BINCHENG),
    "viewer": lambda: VIEWER,
    "department": lambda: token(Role.DEPARTMENT, department="市自然资源和规划局"),
}


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """Factors without the registry or a worker (quick): for checks that need no project."""
    async with factors_alone(tmp_path) as suite:
        yield suite


async def _setup(suite: Suite) -> dict[str, Any]:
    project = await suite.project(county=BINCHENG)
    pool = await suite.pool(amount="100")
    a = await allocation(suite, pool["id"], project, "10")
    return {"project": project, "pool": pool, "allocation": a}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/pools"),
        ("GET", "/v1/pools/x"),
        ("POST", "/v1/pools"),
        ("GET", "/v1/allocations"),
        ("GET", "/v1/allocations/x"),
        ("POST", "/v1/allocations"),
        ("POST", "/v1/allocations/x/release"),
        ("GET", "/v1/replacement-sources"),
        ("POST", "/v1/replacement-sources"),
        ("GET", "/v1/credit-demands"),
        ("POST", "/v1/credit-demands"),
        ("POST", "/v1/credit-demands/x/grants"),
        ("POST", "/v1/credit-demands/x/disbursements"),
        ("GET", "/v1/credit/summary?year=2020"),
        ("GET", "/v1/factors/summary?year=2020"),
    ],
)
async def test_no_token_is_401(alone: Suite, method: str, path: str) -> None:
    r = await alone.factors.request(method, path, json={} if method == "POST" else None)
    problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    bad = {"Authorization": "Bearer not-a-token"}
    problem(await alone.factors.request(method, path, headers=bad), 401)


async def test_only_the_command_office_writes_the_ledger(suite: Suite) -> None:
    s = await _setup(suite)
    plant = await source(suite, "SO2")
    for who, headers_of in NOT_COMMANDERS.items():
        headers = headers_of()
        async with nothing_written(suite):
            r = await suite.factors.post(
                "/v1/pools",
                json={"factor": "land", "year": 2030, "scope": "city", "amount": "1"},
                headers=headers,
            )
            assert problem(r, 403), who
            r = await suite.allocate(s["pool"]["id"], s["project"], "1", headers=headers)
            problem(r, 403)
            r = await suite.factors.post(
                f"/v1/allocations/{s['allocation']['id']}/release",
                json={"reason": "x"},
                headers=headers,
            )
            problem(r, 403)
            r = await suite.factors.post(
                "/v1/replacement-sources",
                json={"pollutant": "SO2", "name": "x", "kind": "closed", "amount": "1"},
                headers=headers,
            )
            problem(r, 403)
    assert (await suite.get_pool(s["pool"]["id"]))["allocated"] == "10"
    assert plant["used"] == "0"


async def test_a_county_reads_only_its_own_countys_allocations(suite: Suite) -> None:
    own = await suite.project(county=BINCHENG)
    other = await suite.project(county=ZHANHUA)
    pool = await suite.pool(amount="100")
    mine = await allocation(suite, pool["id"], own, "10")
    theirs = await allocation(suite, pool["id"], other, "20")
    bincheng = county_token(BINCHENG)

    r = await suite.factors.get("/v1/allocations", headers=bincheng)
    assert [a["id"] for a in r.json()["items"]] == [mine["id"]] and r.json()["total"] == 1
    for params in ({"county": ZHANHUA}, {"project_id": other}, {"pool_id": pool["id"]}):
        r = await suite.factors.get("/v1/allocations", params=params, headers=bincheng)
        assert [a["id"] for a in r.json()["items"]] == (
            [] if "pool_id" not in params else [mine["id"]]
        ), params
    assert (
        await suite.factors.get(f"/v1/allocations/{mine['id']}", headers=bincheng)
    ).status_code == 200
    problem(await suite.factors.get(f"/v1/allocations/{theirs['id']}", headers=bincheng), 404)
    # a county with nothing sees nothing
    r = await suite.factors.get("/v1/allocations", headers=county_token(ZOUPING))
    assert r.json() == {"items": [], "total": 0}


async def test_viewers_and_departments_read_everything(suite: Suite) -> None:
    s = await _setup(suite)
    other = await suite.project(county=ZHANHUA)
    theirs = await allocation(suite, s["pool"]["id"], other, "5")
    for who in ("viewer", "department"):
        headers = NOT_COMMANDERS[who]()
        r = await suite.factors.get("/v1/allocations", headers=headers)
        assert r.json()["total"] == 2, who
        r = await suite.factors.get(f"/v1/allocations/{theirs['id']}", headers=headers)
        assert r.status_code == 200
        r = await suite.factors.get(f"/v1/pools/{s['pool']['id']}", headers=headers)
        assert r.status_code == 200 and r.json()["allocated"] == "15"
        r = await suite.factors.get("/v1/factors/summary", params={"year": 2020}, headers=headers)
        [land] = r.json()["factors"]
        assert {c["county"] for c in land["counties"]} == {BINCHENG, ZHANHUA}


async def test_a_county_reads_pools_and_sources(suite: Suite) -> None:
    pool = await suite.pool()
    await source(suite, "COD")
    headers = county_token(ZOUPING)
    assert (await suite.factors.get(f"/v1/pools/{pool['id']}", headers=headers)).status_code == 200
    r = await suite.factors.get("/v1/replacement-sources", headers=headers)
    assert r.json()["total"] == 1


async def test_the_factors_summary_shows_a_county_only_its_own_rows(suite: Suite) -> None:
    own = await suite.project(county=BINCHENG)
    other = await suite.project(county=ZHANHUA)
    pool = await suite.pool(amount="100")
    await allocation(suite, pool["id"], own, "10")
    await allocation(suite, pool["id"], other, "20")
    r = await suite.factors.get(
        "/v1/factors/summary", params={"year": 2020}, headers=county_token(BINCHENG)
    )
    assert r.status_code == 200, r.text
    [land] = r.json()["factors"]
    assert [c["county"] for c in land["counties"]] == [BINCHENG]
    assert land["counties"][0]["allocated"] == "10"


async def test_the_commander_reads_every_county(suite: Suite) -> None:
    s = await _setup(suite)
    r = await suite.factors.get("/v1/allocations", params={"county": BINCHENG}, headers=COMMANDER)
    assert [a["id"] for a in r.json()["items"]] == [s["allocation"]["id"]]
