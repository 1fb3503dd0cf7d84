"""Pools and the allocation ledger over HTTP: units, the pool's figures, draws and releases."""

from __future__ import annotations

from tests.api.factors.helpers import COMMANDER, Suite, ok_json


async def test_a_pool_reports_its_figures_and_an_allocation_draws_from_it(suite: Suite) -> None:
    project = await suite.project(level="city_key")
    pool = await suite.pool(amount="4415")
    assert pool["unit"] == "mu" and pool["amount"] == "4415" and pool["utilisation"] == "0.0"

    r = await suite.allocate(pool["id"], project, "3603", advance=True)
    assert r.status_code == 201, r.text
    allocation = r.json()
    assert allocation["charged"] == "3603" and allocation["advance"] is True
    assert allocation["status"] == "active" and allocation["county"] == "371602"

    after = await suite.get_pool(pool["id"])
    assert after["allocated"] == "3603"
    assert after["remaining"] == "812"
    assert after["advance"] == "3603"
    assert after["utilisation"] == "81.6"  # 3603 / 4415 = 81.608%

    [event] = await suite.events("kuaiche.factor.allocated.v1")
    assert event["subject"] == allocation["id"]
    assert event["partitionkey"] == project
    assert event["county"] == "371602" and event["sequence"] == 1
    assert event["data"]["amount"] == "3603" and event["data"]["advance"] is True


async def test_release_returns_the_amount_to_the_pool(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    allocation = ok_json(await suite.allocate(pool["id"], project, "60"), 201)
    r = await suite.factors.post(
        f"/v1/allocations/{allocation['id']}/release",
        json={"reason": "逾期未使用"},
        headers=COMMANDER,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "released" and r.json()["release_cause"] == "manual"
    after = await suite.get_pool(pool["id"])
    assert after["allocated"] == "0" and after["released"] == "60" and after["remaining"] == "100"
    [event] = await suite.events("kuaiche.factor.released.v1")
    assert event["data"]["reason"] == "逾期未使用" and event["sequence"] == 2

    again = await suite.factors.post(
        f"/v1/allocations/{allocation['id']}/release", json={"reason": "again"}, headers=COMMANDER
    )
    assert again.status_code == 409
    assert (await suite.get_pool(pool["id"]))["released"] == "60"
