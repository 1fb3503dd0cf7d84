"""What factors learns from the registry's events: a project withdrawn (退出) gives its active
allocations back (an event each, cause "withdrawn"), receives nothing more, and a key-list
change moves the project's level in the projection, and so what it may draw."""

from __future__ import annotations

from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    all_events,
    allocation,
    demand,
    get_allocation,
    get_source,
    problem,
    release,
    source,
    withdraw,
)
from tests.api.registry.helpers import ZHANHUA
from tests.conftest import wait_until

REGISTRY_ACTOR = "commander:dev-commander"


async def test_a_withdrawn_projects_active_allocations_return_to_their_pools(
    suite: Suite,
) -> None:
    project = await suite.project(county=ZHANHUA, level="city_key")
    bystander = await suite.project(county=ZHANHUA)
    land = await suite.pool(factor="land", amount="100")
    so2 = await suite.pool(factor="pollutant", pollutant="SO2", amount="100")
    plant = await source(suite, "SO2", amount="50")
    a_land = await allocation(suite, land["id"], project, "30", advance=True)
    a_so2 = await allocation(suite, so2["id"], project, "10", source_id=plant["id"])
    a_gone = await allocation(suite, land["id"], project, "5")
    other = await allocation(suite, land["id"], bystander, "7")
    assert (await release(suite, a_gone["id"], reason="逾期未使用")).status_code == 200
    before = await all_events(suite)

    await withdraw(suite, project)

    async def both_released() -> bool:
        statuses = [(await get_allocation(suite, a["id"]))["status"] for a in (a_land, a_so2)]
        return statuses == ["released", "released"]

    await wait_until(both_released)
    for a in (a_land, a_so2):
        got = await get_allocation(suite, a["id"])
        assert got["release_cause"] == "withdrawn" and got["released_by"] == REGISTRY_ACTOR
        assert got["release_reason"]
    # the one released before keeps its own release; the bystander keeps its allocation
    gone = await get_allocation(suite, a_gone["id"])
    assert gone["release_cause"] == "manual" and gone["release_reason"] == "逾期未使用"
    assert (await get_allocation(suite, other["id"]))["status"] == "active"

    land_after = await suite.get_pool(land["id"])
    assert land_after["allocated"] == "7" and land_after["advance"] == "0"
    assert land_after["released"] == "35"
    assert (await suite.get_pool(so2["id"]))["allocated"] == "0"
    assert (await get_source(suite, plant["id"]))["used"] == "0"

    new = (await all_events(suite))[len(before) :]
    assert [e["type"] for e in new] == ["kuaiche.factor.released.v1"] * 2
    assert {e["subject"] for e in new} == {a_land["id"], a_so2["id"]}
    for e in new:
        assert e["partitionkey"] == project and e["county"] == ZHANHUA
        assert e["actor"] == REGISTRY_ACTOR and e["sequence"] == 2
        assert e["data"]["cause"] == "withdrawn" and e["data"]["project_id"] == project
    by_id = {e["subject"]: e["data"] for e in new}
    assert by_id[a_land["id"]]["charged"] == "30" and by_id[a_land["id"]]["advance"] is True
    assert by_id[a_so2["id"]]["charged"] == "20" and by_id[a_so2["id"]]["amount"] == "10"


async def test_a_withdrawn_project_gets_no_new_allocation_or_credit(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    await withdraw(suite, project)
    before = await suite.outbox_count()
    assert "withdrawn" in problem(await suite.allocate(pool["id"], project, "1"), 409)["detail"]
    problem(await demand(suite, project), 409)
    assert await suite.outbox_count() == before
    assert (await suite.get_pool(pool["id"]))["allocated"] == "0"


async def test_a_withdrawal_without_allocations_releases_nothing(suite: Suite) -> None:
    project = await suite.project()
    await withdraw(suite, project)
    assert await suite.events("kuaiche.factor.released.v1") == []


async def test_a_released_withdrawn_allocation_cannot_be_released_again(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    a = await allocation(suite, pool["id"], project, "10")
    await withdraw(suite, project)

    async def released() -> bool:
        return (await get_allocation(suite, a["id"]))["status"] == "released"

    await wait_until(released)
    problem(await release(suite, a["id"]), 409)
    assert (await suite.get_pool(pool["id"]))["released"] == "10"


async def _change_list(suite: Suite, project: str, kind: str, level: str | None) -> None:
    body = {"kind": kind, "reason": "年度调整", "effective_date": "2020-06-01"}
    if level is not None:
        body["level"] = level
    r = await suite.registry.post(
        f"/v1/projects/{project}/list-changes", json=body, headers=COMMANDER
    )
    assert r.status_code == 201, r.text


async def _level_becomes(suite: Suite, project: str, level: str | None) -> None:
    async def arrived() -> bool:
        view = await suite.view(project)
        return view is not None and view.level == level

    await wait_until(arrived)


async def test_a_key_list_change_moves_the_projects_level_and_what_it_may_draw(
    suite: Suite,
) -> None:
    project = await suite.project(level="county_key")
    pool = await suite.pool(amount="100", ring_fences=[{"min_level": "city_key", "amount": "60"}])
    problem(await suite.allocate(pool["id"], project, "41"), 409)

    await _change_list(suite, project, "adjusted", "city_key")
    await _level_becomes(suite, project, "city_key")
    a = await allocation(suite, pool["id"], project, "41")
    assert a["level"] == "city_key"

    await _change_list(suite, project, "withdrawn", None)  # off the key list, not 退出 the project
    await _level_becomes(suite, project, None)
    view = await suite.view(project)
    assert view is not None and not view.withdrawn
    # its 41 drawn as city key still fill the fence; now it may draw only what is unfenced
    body = problem(await suite.allocate(pool["id"], project, "40.0001"), 409)
    assert body["remaining"] == "40" and body["pool_remaining"] == "59"
    assert (await allocation(suite, pool["id"], project, "40"))["level"] is None
    assert (await get_allocation(suite, a["id"]))["status"] == "active"


async def test_a_project_added_to_the_key_list_may_use_the_provincial_pool(suite: Suite) -> None:
    project = await suite.project(level=None)
    pool = await suite.pool(scope="provincial", amount="100")
    problem(await suite.allocate(pool["id"], project, "1"), 409)
    await _change_list(suite, project, "added", "provincial_major_construction")
    await _level_becomes(suite, project, "provincial_major_construction")
    await allocation(suite, pool["id"], project, "1")
