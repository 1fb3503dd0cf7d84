"""Quota pools over HTTP: one per (factor, pollutant, year, scope), units converted exactly
into the canonical stored unit, ring-fences within the pool, the pool's figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    allocation,
    error_fields,
    factors_alone,
    nothing_written,
    problem,
)
from tests.conftest import VIEWER


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """Factors without the registry or a worker (quick): for checks that need no project."""
    async with factors_alone(tmp_path) as suite:
        yield suite


async def test_a_pool_is_created_with_its_figures_and_location(alone: Suite) -> None:
    r = await alone.factors.post(
        "/v1/pools",
        json={"factor": "land", "year": 2019, "scope": "city", "amount": "4415", "name": "2019"},
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text
    pool = r.json()
    assert r.headers["location"] == f"/v1/pools/{pool['id']}"
    assert pool["factor"] == "land" and pool["factor_label"] == "用地计划指标"
    assert pool["scope"] == "city" and pool["scope_label"] == "市级"
    assert pool["unit"] == "mu" and pool["unit_label"] == "亩"
    assert pool["amount"] == "4415" and pool["allocated"] == "0" and pool["remaining"] == "4415"
    assert pool["advance"] == "0" and pool["released"] == "0" and pool["utilisation"] == "0.0"
    assert pool["pollutant"] is None and pool["ring_fences"] == [] and pool["version"] == 1
    assert await alone.get_pool(pool["id"]) == pool


async def test_an_unknown_pool_is_404(alone: Suite) -> None:
    problem(await alone.factors.get("/v1/pools/no-such-pool", headers=COMMANDER), 404)


# ---------------------------------------------------------------- one pool per key
async def test_one_pool_per_factor_year_and_scope(alone: Suite) -> None:
    await alone.pool(factor="land", year=2020, scope="city")
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={"factor": "land", "year": 2020, "scope": "city", "amount": "5"},
            headers=COMMANDER,
        )
        problem(r, 409)
    # any other year, scope or factor is another pool
    await alone.pool(factor="land", year=2021, scope="city")
    await alone.pool(factor="land", year=2020, scope="provincial")
    await alone.pool(factor="energy", year=2020, scope="city")


async def test_one_pool_per_pollutant(alone: Suite) -> None:
    await alone.pool(factor="pollutant", pollutant="SO2")
    await alone.pool(factor="pollutant", pollutant="NOx")
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={
                "factor": "pollutant",
                "pollutant": "SO2",
                "year": 2020,
                "scope": "city",
                "amount": "1",
            },
            headers=COMMANDER,
        )
        assert "SO2" in problem(r, 409)["detail"]


@pytest.mark.parametrize(
    ("factor", "pollutant"),
    [("pollutant", None), ("land", "SO2"), ("water", "COD"), ("energy", "VOCs")],
)
async def test_the_pollutant_is_named_exactly_for_pollutant_pools(
    alone: Suite, factor: str, pollutant: str | None
) -> None:
    body = {"factor": factor, "year": 2020, "scope": "city", "amount": "10"}
    if pollutant:
        body["pollutant"] = pollutant
    async with nothing_written(alone):
        r = await alone.factors.post("/v1/pools", json=body, headers=COMMANDER)
        assert "pollutant" in error_fields(problem(r, 422))


async def test_an_unknown_pollutant_is_422(alone: Suite) -> None:
    body = {"factor": "pollutant", "pollutant": "CO2", "year": 2020, "scope": "city", "amount": "1"}
    r = await alone.factors.post("/v1/pools", json=body, headers=COMMANDER)
    assert "pollutant" in error_fields(problem(r, 422))


# ---------------------------------------------------------------- units
CONVERSIONS = [
    ("land", "hectare", "128.6", "1929", "mu"),
    ("land", "mu", "1928", "1928", "mu"),
    ("land", None, "0.0001", "0.0001", "mu"),
    ("energy", "10k_tce", "1.25", "12500", "tce"),
    ("energy", "tce", "800", "800", "tce"),
    ("water", "m3", "1250000", "125", "10k_m3"),
    ("water", "10k_m3", "30.5", "30.5", "10k_m3"),
    ("pollutant", "kg", "2500", "2.5", "t"),
    ("pollutant", "t", "2500", "2500", "t"),
]


async def test_amounts_are_converted_exactly_and_stored_in_the_canonical_unit(
    alone: Suite,
) -> None:
    for year, (factor, unit, amount, stored, canonical) in enumerate(CONVERSIONS, start=2001):
        body: dict[str, object] = {"factor": factor, "amount": amount, "year": year}
        if unit:
            body["unit"] = unit
        if factor == "pollutant":
            body["pollutant"] = "COD"
        pool = await alone.pool(**body)
        assert pool["amount"] == stored and pool["remaining"] == stored, (unit, pool)
        assert pool["unit"] == canonical
        assert (await alone.get_pool(pool["id"]))["amount"] == stored
        assert (await alone.pool_row(pool["id"])).amount == Decimal(stored)
        event = (await alone.events("kuaiche.quota.issued.v1"))[-1]
        assert event["data"]["amount"] == stored and event["data"]["unit"] == canonical


@pytest.mark.parametrize(
    ("factor", "unit"),
    [("land", "yi_yuan"), ("land", "tce"), ("energy", "mu"), ("water", "liter")],
)
async def test_a_unit_the_factor_does_not_know_is_422(alone: Suite, factor: str, unit: str) -> None:
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={"factor": factor, "year": 2020, "scope": "city", "amount": "1", "unit": unit},
            headers=COMMANDER,
        )
        assert "unit" in error_fields(problem(r, 422))


async def test_an_amount_that_cannot_be_stored_exactly_is_422_not_rounded(alone: Suite) -> None:
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={"factor": "land", "year": 2020, "scope": "city", "amount": "0.00001"},
            headers=COMMANDER,
        )
        assert error_fields(problem(r, 422)) == {"amount"}
        r = await alone.factors.post(
            "/v1/pools",
            json={
                "factor": "land",
                "year": 2020,
                "scope": "city",
                "amount": "0.00001",
                "unit": "hectare",
            },
            headers=COMMANDER,
        )
        assert error_fields(problem(r, 422)) == {"amount"}


# ---------------------------------------------------------------- ring-fences
async def test_ring_fences_are_converted_with_the_pool_and_say_what_is_left_below(
    alone: Suite,
) -> None:
    pool = await alone.pool(
        amount="100",
        unit="hectare",
        ring_fences=[
            {"min_level": "provincial_major_construction", "amount": "20"},
            {"min_level": "city_key", "amount": "40"},
        ],
    )
    assert pool["amount"] == "1500"
    assert pool["ring_fences"] == [
        {"min_level": "provincial_major_construction", "amount": "300", "available_below": "1200"},
        {"min_level": "city_key", "amount": "600", "available_below": "600"},
    ]
    [event] = await alone.events("kuaiche.quota.issued.v1")
    assert event["data"]["ring_fences"] == [
        {"min_level": "provincial_major_construction", "amount": "300"},
        {"min_level": "city_key", "amount": "600"},
    ]


async def test_ring_fences_may_keep_the_whole_pool(alone: Suite) -> None:
    pool = await alone.pool(amount="100", ring_fences=[{"min_level": "city_key", "amount": "100"}])
    assert pool["ring_fences"][0]["available_below"] == "0"


@pytest.mark.parametrize(
    "fences",
    [
        [{"min_level": "city_key", "amount": "100.0001"}],
        [
            {"min_level": "provincial_major_construction", "amount": "60"},
            {"min_level": "city_key", "amount": "40.5"},
        ],
        [{"min_level": "city_key", "amount": "10"}, {"min_level": "city_key", "amount": "10"}],
    ],
)
async def test_ring_fences_beyond_the_pool_or_twice_for_a_level_are_409(
    alone: Suite, fences: list[dict[str, str]]
) -> None:
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={
                "factor": "land",
                "year": 2020,
                "scope": "city",
                "amount": "100",
                "ring_fences": fences,
            },
            headers=COMMANDER,
        )
        assert error_fields(problem(r, 409)) == {"ring_fences"}


async def test_a_ring_fence_for_an_unknown_level_is_422(alone: Suite) -> None:
    r = await alone.factors.post(
        "/v1/pools",
        json={
            "factor": "land",
            "year": 2020,
            "scope": "city",
            "amount": "100",
            "ring_fences": [{"min_level": "national", "amount": "1"}],
        },
        headers=COMMANDER,
    )
    assert "ring_fences.0.min_level" in error_fields(problem(r, 422))


@pytest.mark.parametrize(
    ("factor", "unit", "fence"),
    [("water", None, "0.000007"), ("water", "m3", "0.5"), ("land", "hectare", "0.00001")],
)
async def test_a_ring_fence_finer_than_its_pools_unit_converts_exactly_is_422(
    alone: Suite, factor: str, unit: str | None, fence: str
) -> None:
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={
                "factor": factor,
                "year": 2020,
                "scope": "city",
                "amount": "100",
                "unit": unit,
                "ring_fences": [
                    {"min_level": "city_key", "amount": "1"},
                    {"min_level": "provincial_preferred", "amount": fence},
                ],
            },
            headers=COMMANDER,
        )
        body = problem(r, 422)
        assert error_fields(body) == {"ring_fences"} and "ring_fences[1].amount" in str(body)


# ---------------------------------------------------------------- utilisation
UTILISATION = [
    ("2000", "1", "0.1"),  # 0.05% rounds half up, not to even
    ("2000", "0.9999", "0.0"),  # 0.049995%
    ("3", "1", "33.3"),
    ("3", "2", "66.7"),
    ("4415", "3603", "81.6"),
    ("8", "1", "12.5"),
    ("1000", "1000", "100.0"),
]


async def test_utilisation_is_a_percentage_with_one_decimal_rounded_half_up(
    suite: Suite,
) -> None:
    project = await suite.project(level="city_key")
    for year, (amount, drawn, utilisation) in enumerate(UTILISATION, start=2001):
        pool = await suite.pool(amount=amount, year=year)
        await allocation(suite, pool["id"], project, drawn)
        assert (await suite.get_pool(pool["id"]))["utilisation"] == utilisation, (amount, drawn)


# ---------------------------------------------------------------- lists
async def test_pools_are_listed_with_filters(alone: Suite) -> None:
    land_2020 = await alone.pool(factor="land", year=2020, scope="city")
    land_2020_p = await alone.pool(factor="land", year=2020, scope="provincial")
    energy = await alone.pool(factor="energy", year=2020, scope="city")
    so2 = await alone.pool(factor="pollutant", pollutant="SO2", year=2021, scope="city")
    cod = await alone.pool(factor="pollutant", pollutant="COD", year=2021, scope="city")

    async def ids(**params: object) -> tuple[set[str], int]:
        r = await alone.factors.get("/v1/pools", params=params, headers=VIEWER)
        assert r.status_code == 200, r.text
        return {p["id"] for p in r.json()["items"]}, r.json()["total"]

    assert await ids() == (
        {land_2020["id"], land_2020_p["id"], energy["id"], so2["id"], cod["id"]},
        5,
    )
    assert await ids(factor="land") == ({land_2020["id"], land_2020_p["id"]}, 2)
    assert await ids(year=2021) == ({so2["id"], cod["id"]}, 2)
    assert await ids(scope="provincial") == ({land_2020_p["id"]}, 1)
    assert await ids(factor="land", scope="city", year=2020) == ({land_2020["id"]}, 1)
    assert await ids(pollutant="SO2") == ({so2["id"]}, 1)
    assert await ids(year=2019) == (set(), 0)
    page, total = await ids(limit=2, offset=4)
    assert len(page) == 1 and total == 5


@pytest.mark.parametrize(
    ("param", "value"),
    [("factor", "funds"), ("scope", "county"), ("year", "1800"), ("limit", "0"), ("limit", "501")],
)
async def test_a_bad_pool_filter_is_422(alone: Suite, param: str, value: str) -> None:
    r = await alone.factors.get("/v1/pools", params={param: value}, headers=COMMANDER)
    assert error_fields(problem(r, 422)) == {param}


async def test_the_largest_pool_is_held_exactly_and_a_larger_one_refused(alone: Suite) -> None:
    pool = await alone.pool(amount="99999999999.9999")
    assert (await alone.get_pool(pool["id"]))["amount"] == "99999999999.9999"
    assert (await alone.pool_row(pool["id"])).amount == Decimal("99999999999.9999")
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            json={"factor": "land", "year": 2021, "scope": "city", "amount": "9999999999999.9999"},
            headers=COMMANDER,
        )
        assert error_fields(problem(r, 422)) == {"amount"}
