"""The allocation ledger over HTTP: who a draw is refused to and why (unknown or withdrawn
project, unknown pool, over-draw, ring-fences, the provincial pool, the advance cap), what a
refusal says and leaves, releases, and the lists."""

from __future__ import annotations

import datetime as dt

from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    allocation,
    error_fields,
    get_allocation,
    nothing_written,
    problem,
    release,
    withdraw,
)
from tests.api.registry.helpers import BINCHENG, ZHANHUA, ZOUPING
from tests.conftest import VIEWER

NEXT_YEAR = dt.date.today().year + 2  # surely a year still to come in Shanghai too


async def test_an_allocation_answers_with_its_terms(suite: Suite) -> None:
    project = await suite.project(level="city_key", county=ZOUPING)
    pool = await suite.pool(amount="500", year=2020)
    r = await suite.allocate(pool["id"], project, "1.5", unit="hectare", note="一期")
    assert r.status_code == 201, r.text
    a = r.json()
    assert r.headers["location"] == f"/v1/allocations/{a['id']}"
    assert a["pool_id"] == pool["id"] and a["project_id"] == project
    assert a["county"] == ZOUPING and a["level"] == "city_key"
    assert a["factor"] == "land" and a["year"] == 2020 and a["unit"] == "mu"
    assert a["amount"] == "22.5" and a["charged"] == "22.5"  # 1.5 公顷 = 22.5 亩
    assert a["ratio"] is None and a["source_id"] is None and a["advance"] is False
    assert a["status"] == "active" and a["note"] == "一期"
    assert a["allocated_by"] == "commander:dev-commander" and a["released_on"] is None
    assert await get_allocation(suite, a["id"]) == a
    assert (await suite.get_pool(pool["id"]))["remaining"] == "477.5"


async def test_an_unknown_allocation_is_404(suite: Suite) -> None:
    problem(await suite.factors.get("/v1/allocations/nope", headers=COMMANDER), 404)
    problem(await release(suite, "nope"), 404)


# ---------------------------------------------------------------- refused draws
async def test_a_project_factors_has_not_heard_of_is_409(suite: Suite) -> None:
    """What the projection knows is its current state (one registered just now may not have
    arrived), not something the input breaks: 409, as in issues."""
    pool = await suite.pool()
    async with nothing_written(suite):
        r = await suite.allocate(pool["id"], "00000000-0000-0000-0000-000000000000", "1")
        body = problem(r, 409)
        assert error_fields(body) == {"project_id"}
        assert "not known" in body["detail"]


async def test_an_unknown_pool_is_409(suite: Suite) -> None:
    project = await suite.project()
    async with nothing_written(suite):
        r = await suite.allocate("00000000-0000-0000-0000-000000000000", project, "1")
        assert error_fields(problem(r, 409)) == {"pool_id"}


async def test_a_withdrawn_project_receives_nothing(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool()
    await withdraw(suite, project)
    async with nothing_written(suite):
        r = await suite.allocate(pool["id"], project, "1")
        assert "withdrawn" in problem(r, 409)["detail"]


async def test_a_draw_of_exactly_what_remains_passes_and_one_unit_more_is_409(
    suite: Suite,
) -> None:
    project = await suite.project(level="city_key")
    pool = await suite.pool(amount="100")
    await allocation(suite, pool["id"], project, "60.5")
    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], project, "39.5001"), 409)
        assert body["remaining"] == "39.5" and body["pool_remaining"] == "39.5"
        assert "39.5" in body["detail"]
    await allocation(suite, pool["id"], project, "39.5")
    after = await suite.get_pool(pool["id"])
    assert after["remaining"] == "0" and after["allocated"] == "100"
    assert after["utilisation"] == "100.0"
    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], project, "0.0001"), 409)
        assert body["remaining"] == "0" and body["pool_remaining"] == "0"


async def test_an_over_draw_in_another_unit_is_judged_once_converted(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="30")
    async with nothing_written(suite):
        problem(await suite.allocate(pool["id"], project, "2.0001", unit="hectare"), 409)
    await allocation(suite, pool["id"], project, "2", unit="hectare")
    assert (await suite.get_pool(pool["id"]))["remaining"] == "0"


async def test_a_unit_of_another_factor_than_the_pools_is_409_naming_the_unit(
    suite: Suite,
) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="30")  # land
    async with nothing_written(suite):
        # "tce" is a unit the schema accepts; only the pool says it is energy's, not land's
        body = problem(await suite.allocate(pool["id"], project, "1", unit="tce"), 409)
        assert error_fields(body) == {"unit"} and "mu, hectare" in body["detail"]


async def test_an_amount_finer_than_its_unit_converts_exactly_is_422_as_the_schema_says(
    suite: Suite,
) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="30")
    async with nothing_written(suite):
        for amount, unit in (("0.00001", None), ("0.00001", "hectare"), ("1.00000", "mu")):
            r = await suite.allocate(pool["id"], project, amount, unit=unit)
            assert error_fields(problem(r, 422)) == {"amount"}, (amount, unit)


# ---------------------------------------------------------------- ring-fences and priority
async def test_a_ring_fenced_share_is_drawn_only_by_the_levels_it_is_kept_for(
    suite: Suite,
) -> None:
    county_key = await suite.project(level="county_key")
    off_list = await suite.project(level=None)
    city_key = await suite.project(level="city_key")
    provincial = await suite.project(level="provincial_preferred")
    pool = await suite.pool(amount="1000", ring_fences=[{"min_level": "city_key", "amount": "600"}])
    # the county-key and off-list projects may only draw the 400 the fence leaves
    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], county_key, "400.0001"), 409)
        assert body["remaining"] == "400" and body["pool_remaining"] == "1000"
        assert "ring-fenced" in body["detail"]
        problem(await suite.allocate(pool["id"], off_list, "400.0001"), 409)
    await allocation(suite, pool["id"], county_key, "300")
    await allocation(suite, pool["id"], off_list, "100")
    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], county_key, "0.0001"), 409)
        assert body["remaining"] == "0" and body["pool_remaining"] == "600"
    # the fenced 600 goes to city key and above
    await allocation(suite, pool["id"], city_key, "250")
    await allocation(suite, pool["id"], provincial, "350")
    assert (await suite.get_pool(pool["id"]))["remaining"] == "0"


async def test_nested_fences_keep_the_higher_share_from_city_key_projects(suite: Suite) -> None:
    city_key = await suite.project(level="city_key")
    major = await suite.project(level="provincial_major_construction")
    pool = await suite.pool(
        amount="1000",
        ring_fences=[
            {"min_level": "provincial_major_construction", "amount": "300"},
            {"min_level": "city_key", "amount": "500"},
        ],
    )
    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], city_key, "700.0001"), 409)
        assert body["remaining"] == "700"
    await allocation(suite, pool["id"], city_key, "700")
    got = await suite.get_pool(pool["id"])
    assert [f["available_below"] for f in got["ring_fences"]] == ["0", "0"]
    await allocation(suite, pool["id"], major, "300")


async def test_a_provincial_pool_serves_provincial_major_construction_projects_only(
    suite: Suite,
) -> None:
    major = await suite.project(level="provincial_major_construction")
    city_key = await suite.project(level="city_key")
    preparation = await suite.project(level="provincial_major_preparation")
    pool = await suite.pool(scope="provincial", amount="1928")
    async with nothing_written(suite):
        assert "省级统筹" in problem(await suite.allocate(pool["id"], city_key, "1"), 409)["detail"]
        problem(await suite.allocate(pool["id"], preparation, "1"), 409)
    await allocation(suite, pool["id"], major, "1928")


# ---------------------------------------------------------------- advances
async def test_advances_are_capped_at_their_share_of_the_pool(suite: Suite) -> None:
    project = await suite.project(level="city_key")
    pool = await suite.pool(amount="1000", advance_share="30")
    assert pool["advance_share"] == "30"
    await allocation(suite, pool["id"], project, "200", advance=True)
    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], project, "100.0001", advance=True), 409)
        assert body["remaining"] == "100" and body["pool_remaining"] == "800"
        assert "30" in body["detail"]
    await allocation(suite, pool["id"], project, "100", advance=True)
    # an ordinary draw is not an advance and is not held by the cap
    await allocation(suite, pool["id"], project, "700")
    after = await suite.get_pool(pool["id"])
    assert after["advance"] == "300" and after["allocated"] == "1000"


async def test_a_released_advance_frees_room_under_the_cap(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100", advance_share="10")
    first = await allocation(suite, pool["id"], project, "10", advance=True)
    problem(await suite.allocate(pool["id"], project, "1", advance=True), 409)
    assert (await release(suite, first["id"])).status_code == 200
    assert (await suite.get_pool(pool["id"]))["advance"] == "0"
    await allocation(suite, pool["id"], project, "10", advance=True)


async def test_drawing_on_a_pool_of_a_year_to_come_is_an_advance(suite: Suite) -> None:
    project = await suite.project()
    future = await suite.pool(year=NEXT_YEAR, amount="100", advance_share="50")
    past = await suite.pool(year=2020, amount="100")
    a = await allocation(suite, future["id"], project, "20", advance=False)
    assert a["advance"] is True
    assert (await suite.get_pool(future["id"]))["advance"] == "20"
    # and it counts toward the cap
    body = problem(await suite.allocate(future["id"], project, "30.0001"), 409)
    assert body["remaining"] == "30"
    assert (await allocation(suite, past["id"], project, "20"))["advance"] is False
    [event, _] = await suite.events("kuaiche.factor.allocated.v1")
    assert event["data"]["advance"] is True


# ---------------------------------------------------------------- releases
async def test_release_returns_the_charge_and_the_room(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    a = await allocation(suite, pool["id"], project, "100", advance=True)
    problem(await suite.allocate(pool["id"], project, "1"), 409)
    r = await release(suite, a["id"], reason="逾期未使用")
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["status"] == "released" and released["release_cause"] == "manual"
    assert released["release_reason"] == "逾期未使用"
    assert released["released_by"] == "commander:dev-commander"
    assert released["released_on"] is not None
    after = await suite.get_pool(pool["id"])
    assert after["allocated"] == "0" and after["advance"] == "0" and after["released"] == "100"
    assert after["remaining"] == "100" and after["utilisation"] == "0.0"
    await allocation(suite, pool["id"], project, "100")


async def test_an_allocation_is_released_once(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    a = await allocation(suite, pool["id"], project, "40")
    assert (await release(suite, a["id"])).status_code == 200
    async with nothing_written(suite):
        assert "already released" in problem(await release(suite, a["id"]), 409)["detail"]
    after = await suite.get_pool(pool["id"])
    assert after["released"] == "40" and after["allocated"] == "0"


# ---------------------------------------------------------------- lists
async def test_allocations_are_listed_with_filters(suite: Suite) -> None:
    bincheng = await suite.project(county=BINCHENG)
    zhanhua = await suite.project(county=ZHANHUA)
    land = await suite.pool(factor="land", amount="100")
    energy = await suite.pool(factor="energy", amount="100", year=2021)
    a1 = await allocation(suite, land["id"], bincheng, "10", advance=True)
    a2 = await allocation(suite, energy["id"], bincheng, "10")
    a3 = await allocation(suite, land["id"], zhanhua, "10")
    await release(suite, a3["id"])

    async def ids(**params: object) -> list[str]:
        r = await suite.factors.get("/v1/allocations", params=params, headers=VIEWER)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [a["id"] for a in r.json()["items"]]

    assert await ids() == [a1["id"], a2["id"], a3["id"]]
    assert await ids(project_id=bincheng) == [a1["id"], a2["id"]]
    assert await ids(pool_id=land["id"]) == [a1["id"], a3["id"]]
    assert await ids(county=ZHANHUA) == [a3["id"]]
    assert await ids(county=ZOUPING) == []
    assert await ids(status="released") == [a3["id"]]
    assert await ids(status="active") == [a1["id"], a2["id"]]
    assert await ids(advance="true") == [a1["id"]]
    assert await ids(advance="false") == [a2["id"], a3["id"]]
    assert await ids(factor="energy") == [a2["id"]]
    assert await ids(year=2021) == [a2["id"]]
    assert await ids(pool_id=land["id"], status="active", project_id=bincheng) == [a1["id"]]
    r = await suite.factors.get("/v1/allocations", params={"limit": 1, "offset": 1}, headers=VIEWER)
    assert [a["id"] for a in r.json()["items"]] == [a2["id"]] and r.json()["total"] == 3


async def test_a_bad_allocation_filter_is_422(suite: Suite) -> None:
    for param, value in (
        ("county", "37160"),
        ("status", "cancelled"),
        ("advance", "perhaps"),
        ("project_id", "x" * 37),
    ):
        r = await suite.factors.get("/v1/allocations", params={param: value}, headers=COMMANDER)
        assert error_fields(problem(r, 422)) == {param}


async def test_a_retried_allocation_with_its_idempotency_key_draws_once(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    body = {"pool_id": pool["id"], "project_id": project, "amount": "60"}
    headers = {**COMMANDER, "Idempotency-Key": "alloc-1"}
    first = await suite.factors.post("/v1/allocations", json=body, headers=headers)
    again = await suite.factors.post("/v1/allocations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert (await suite.get_pool(pool["id"]))["allocated"] == "60"
    assert len(await suite.events("kuaiche.factor.allocated.v1")) == 1
    other = await suite.factors.post(
        "/v1/allocations", json={**body, "amount": "1"}, headers=headers
    )
    problem(other, 422)
