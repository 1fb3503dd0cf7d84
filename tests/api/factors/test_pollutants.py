"""Pollutant replacement (污染物排放总量替代): an allocation names a replacement source of its
pollutant; the pool and the source are each charged ratio × amount, 2:1 for air pollutants
and 1:1 for water pollutants unless a stricter ratio applies; never below the source's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    allocation,
    error_fields,
    factors_alone,
    get_source,
    nothing_written,
    problem,
    release,
    source,
)
from tests.conftest import VIEWER

AIR = ["SO2", "NOx", "particulates", "VOCs"]
WATER = ["COD", "NH3N"]


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """Factors without the registry or a worker (quick): for checks that need no project."""
    async with factors_alone(tmp_path) as suite:
        yield suite


async def test_each_pollutant_is_replaced_at_the_citys_ratio(suite: Suite) -> None:
    project = await suite.project()
    for pollutant in AIR + WATER:
        expected = "2" if pollutant in AIR else "1"
        pool = await suite.pool(factor="pollutant", pollutant=pollutant, amount="100")
        plant = await source(suite, pollutant, amount="50")
        assert plant["ratio"] == expected and plant["unit"] == "t"
        a = await allocation(suite, pool["id"], project, "10", source_id=plant["id"])
        charged = str(10 * int(expected))
        assert a["ratio"] == expected and a["amount"] == "10" and a["charged"] == charged
        assert a["pollutant"] == pollutant and a["source_id"] == plant["id"]
        got = await suite.get_pool(pool["id"])
        assert got["allocated"] == charged and got["remaining"] == str(100 - int(charged))
        after = await get_source(suite, plant["id"])
        assert after["used"] == charged and after["remaining"] == str(50 - int(charged))


async def test_a_stricter_ratio_is_charged_as_asked(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="NOx", amount="100")
    plant = await source(suite, "NOx", amount="100", ratio="2.5")
    a = await allocation(suite, pool["id"], project, "4", source_id=plant["id"])
    assert a["ratio"] == "2.5" and a["charged"] == "10"
    a = await allocation(suite, pool["id"], project, "2", source_id=plant["id"], ratio="3")
    assert a["ratio"] == "3" and a["charged"] == "6"
    assert (await get_source(suite, plant["id"]))["used"] == "16"
    [_, event] = await suite.events("kuaiche.factor.allocated.v1")
    assert event["data"]["ratio"] == "3" and event["data"]["charged"] == "6"


async def test_a_ratio_below_the_sources_is_409(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="SO2", amount="100")
    plant = await source(suite, "SO2")
    async with nothing_written(suite):
        body = problem(
            await suite.allocate(pool["id"], project, "1", source_id=plant["id"], ratio="1.99"),
            409,
        )
        assert "2:1" in body["detail"]


@pytest.mark.parametrize(("pollutant", "ratio"), [("SO2", "1"), ("VOCs", "1.99"), ("NOx", "1.5")])
async def test_a_source_may_not_loosen_the_citys_ratio(
    alone: Suite, pollutant: str, ratio: str
) -> None:
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/replacement-sources",
            json={
                "pollutant": pollutant,
                "name": "改造",
                "kind": "retrofitted",
                "amount": "10",
                "ratio": ratio,
            },
            headers=COMMANDER,
        )
        assert error_fields(problem(r, 409)) == {"ratio"}
    # the city's ratio or a stricter one is fine; water pollutants go 1:1
    assert (await source(alone, pollutant, ratio="2"))["ratio"] == "2"
    assert (await source(alone, "COD", ratio="1"))["ratio"] == "1"


async def test_a_pollutant_allocation_needs_a_source_of_its_pollutant(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="SO2", amount="100")
    nox = await source(suite, "NOx")
    async with nothing_written(suite):
        r = await suite.allocate(pool["id"], project, "1")
        assert error_fields(problem(r, 409)) == {"source_id"}
        r = await suite.allocate(pool["id"], project, "1", source_id=nox["id"])
        body = problem(r, 409)
        assert error_fields(body) == {"source_id"} and "NOx" in body["detail"]
        r = await suite.allocate(pool["id"], project, "1", source_id="no-such-source")
        assert error_fields(problem(r, 409)) == {"source_id"}


async def test_other_factors_take_no_source_or_ratio(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="energy", amount="100")
    plant = await source(suite, "SO2")
    async with nothing_written(suite):
        problem(await suite.allocate(pool["id"], project, "1", source_id=plant["id"]), 409)
        problem(await suite.allocate(pool["id"], project, "1", ratio="2"), 409)


async def test_a_source_is_never_drawn_beyond_what_it_freed(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="SO2", amount="1000")
    plant = await source(suite, "SO2", amount="30")
    await allocation(suite, pool["id"], project, "10", source_id=plant["id"])  # charges 20
    async with nothing_written(suite):
        body = problem(
            await suite.allocate(pool["id"], project, "5.0001", source_id=plant["id"]), 409
        )
        assert body["remaining"] == "10"
    await allocation(suite, pool["id"], project, "5", source_id=plant["id"])
    assert (await get_source(suite, plant["id"]))["remaining"] == "0"


async def test_the_pool_bears_ratio_times_amount(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="VOCs", amount="10")
    plant = await source(suite, "VOCs", amount="1000")
    async with nothing_written(suite):
        body = problem(
            await suite.allocate(pool["id"], project, "5.0001", source_id=plant["id"]), 409
        )
        assert body["pool_remaining"] == "10"
    await allocation(suite, pool["id"], project, "5", source_id=plant["id"])
    assert (await suite.get_pool(pool["id"]))["remaining"] == "0"


async def test_amounts_in_kilograms_are_charged_in_tonnes(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="COD", amount="5", unit="t")
    plant = await source(suite, "COD", amount="3000", unit="kg")
    assert plant["amount"] == "3"
    a = await allocation(suite, pool["id"], project, "1500", unit="kg", source_id=plant["id"])
    assert a["amount"] == "1.5" and a["charged"] == "1.5"


async def test_an_exact_charge_that_cannot_be_stored_is_409(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="NOx", amount="10")
    plant = await source(suite, "NOx", amount="10", ratio="2.5")
    async with nothing_written(suite):
        # 2.5 × 0.0001 t = 0.00025 t: finer than what the ledger stores; the amount matches
        # its schema, the source's ratio makes the charge (a rule across them: 409)
        r = await suite.allocate(pool["id"], project, "0.0001", source_id=plant["id"])
        body = problem(r, 409)
        assert error_fields(body) == {"amount"} and "decimal places" in body["detail"]


async def test_release_returns_the_charge_to_pool_and_source(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="particulates", amount="100")
    plant = await source(suite, "particulates", amount="40")
    a = await allocation(suite, pool["id"], project, "20", source_id=plant["id"])
    assert (await get_source(suite, plant["id"]))["remaining"] == "0"
    assert (await release(suite, a["id"])).status_code == 200
    got = await suite.get_pool(pool["id"])
    assert got["allocated"] == "0" and got["released"] == "40"
    assert (await get_source(suite, plant["id"]))["used"] == "0"
    await allocation(suite, pool["id"], project, "20", source_id=plant["id"])


async def test_sources_are_listed_and_read(suite: Suite) -> None:
    so2 = await source(suite, "SO2", county="371602", note="2019年关停")
    cod = await source(suite, "COD")
    r = await suite.factors.get("/v1/replacement-sources", headers=VIEWER)
    assert r.status_code == 200 and r.json()["total"] == 2
    assert [s["id"] for s in r.json()["items"]] == [so2["id"], cod["id"]]
    r = await suite.factors.get(
        "/v1/replacement-sources", params={"pollutant": "COD"}, headers=VIEWER
    )
    assert [s["id"] for s in r.json()["items"]] == [cod["id"]]
    got = await get_source(suite, so2["id"])
    assert got["county"] == "371602" and got["kind"] == "closed" and got["note"] == "2019年关停"
    problem(await suite.factors.get("/v1/replacement-sources/nope", headers=VIEWER), 404)
