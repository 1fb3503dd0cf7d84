"""GET /v1/factors/summary?year=: per factor (and pollutant) the year's pools summed —
pool, allocated, advance, released, remaining, utilisation — and per county what its
projects drew (as the pools bear it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.factors.helpers import (
    Suite,
    allocation,
    error_fields,
    factors_alone,
    problem,
    release,
    source,
)
from tests.api.registry.helpers import BINCHENG, ZHANHUA
from tests.conftest import VIEWER


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """Factors without the registry or a worker (quick): for checks that need no project."""
    async with factors_alone(tmp_path) as suite:
        yield suite


async def test_the_summary_of_a_year_per_factor_and_county(suite: Suite) -> None:
    major = await suite.project(county=ZHANHUA, level="provincial_major_construction")
    b = await suite.project(county=BINCHENG, level="city_key")
    z = await suite.project(county=ZHANHUA, level="city_key")
    provincial = await suite.pool(factor="land", scope="provincial", amount="1928")
    city = await suite.pool(factor="land", scope="city", amount="4415")
    energy = await suite.pool(factor="energy", amount="3", unit="10k_tce")
    so2 = await suite.pool(factor="pollutant", pollutant="SO2", amount="100")
    await suite.pool(factor="water", amount="50")
    await suite.pool(factor="land", year=2021, amount="999")  # another year
    plant = await source(suite, "SO2", amount="100")

    await allocation(suite, provincial["id"], major, "1928")
    await allocation(suite, city["id"], b, "3000", advance=True)
    await allocation(suite, city["id"], z, "603", advance=True)
    gone = await allocation(suite, city["id"], z, "100")
    await release(suite, gone["id"])
    await allocation(suite, energy["id"], b, "7500")
    await allocation(suite, so2["id"], z, "12.5", source_id=plant["id"])

    r = await suite.factors.get("/v1/factors/summary", params={"year": 2020}, headers=VIEWER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["year"] == 2020
    rows = {(f["factor"], f["pollutant"]): f for f in body["factors"]}
    assert list(rows) == [("land", None), ("energy", None), ("pollutant", "SO2"), ("water", None)]

    land = rows[("land", None)]
    assert land["factor_label"] == "用地计划指标" and land["unit"] == "mu"
    assert land["pool"] == "6343" and land["allocated"] == "5531"
    assert land["advance"] == "3603" and land["released"] == "100"
    assert land["remaining"] == "812" and land["utilisation"] == "87.2"  # 5531/6343 = 87.198%
    assert land["counties"] == [
        {
            "county": BINCHENG,
            "allocated": "3000",
            "advance": "3000",
            "released": "0",
            "allocations": 1,
        },
        {
            "county": ZHANHUA,
            "allocated": "2531",
            "advance": "603",
            "released": "100",
            "allocations": 3,
        },
    ]
    e = rows[("energy", None)]
    assert e["unit"] == "tce" and e["pool"] == "30000" and e["allocated"] == "7500"
    assert e["utilisation"] == "25.0" and e["advance"] == "0"
    p = rows[("pollutant", "SO2")]
    assert p["unit"] == "t" and p["allocated"] == "25" and p["utilisation"] == "25.0"
    assert p["counties"] == [
        {"county": ZHANHUA, "allocated": "25", "advance": "0", "released": "0", "allocations": 1}
    ]
    w = rows[("water", None)]
    assert w["allocated"] == "0" and w["utilisation"] == "0.0" and w["counties"] == []


async def test_a_year_without_pools_has_an_empty_summary(alone: Suite) -> None:
    r = await alone.factors.get("/v1/factors/summary", params={"year": 2019}, headers=VIEWER)
    assert r.json() == {"year": 2019, "factors": []}


@pytest.mark.parametrize("params", [{}, {"year": "1989"}, {"year": "2101"}])
async def test_the_summary_needs_a_year_in_range(alone: Suite, params: dict) -> None:
    r = await alone.factors.get("/v1/factors/summary", params=params, headers=VIEWER)
    assert error_fields(problem(r, 422)) == {"year"}
