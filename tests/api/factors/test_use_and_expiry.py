"""An allocation is used (已使用) or released (收回), never both: a used one stays drawn when its
project is withdrawn; one left unused past its use-by date goes back to its pool, once."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from services.factors import service
from shared.clock import today_in_shanghai
from tests.api.factors.helpers import (
    BINCHENG,
    COMMANDER,
    Suite,
    allocation,
    get_allocation,
    nothing_written,
    problem,
    release,
    withdraw,
)
from tests.conftest import wait_until


async def use(suite: Suite, allocation_id: str, **body: object):  # type: ignore[no-untyped-def]
    return await suite.factors.post(
        f"/v1/allocations/{allocation_id}/use", json=body, headers=COMMANDER
    )


async def test_a_used_allocation_stays_drawn_and_cannot_be_released(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    a = await allocation(suite, pool["id"], project, "40")

    r = await use(suite, a["id"], note="土地已批复")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "used" and r.json()["used_on"] == str(today_in_shanghai())
    [event] = await suite.events("kuaiche.factor.used.v1")
    assert event["partitionkey"] == project and event["sequence"] == 2

    async with nothing_written(suite):
        assert "used" in problem(await release(suite, a["id"]), 409)["detail"]
        assert problem(await use(suite, a["id"]), 409)
    assert (await suite.get_pool(pool["id"]))["allocated"] == "40"


async def test_an_allocation_is_not_used_before_the_day_it_was_allocated(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    a = await allocation(suite, pool["id"], project, "10")
    before = str(dt.date.fromisoformat(a["allocated_on"]) - dt.timedelta(days=1))
    async with nothing_written(suite):
        # the request matches its schema; the allocation's state refuses it
        body = problem(await use(suite, a["id"], date=before), 409)
        assert body["errors"] == [{"field": "date", "message": body["detail"]}]
        assert a["allocated_on"] in body["detail"]
    assert (await get_allocation(suite, a["id"]))["status"] == "active"


async def test_withdrawal_releases_only_the_unused_allocations(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    used = await allocation(suite, pool["id"], project, "30")
    unused = await allocation(suite, pool["id"], project, "20")
    assert (await use(suite, used["id"])).status_code == 200

    await withdraw(suite, project)

    assert (await get_allocation(suite, unused["id"]))["release_cause"] == "withdrawn"
    assert (await get_allocation(suite, used["id"]))["status"] == "used"
    after = await suite.get_pool(pool["id"])
    assert after["allocated"] == "30" and after["released"] == "20"


async def test_a_use_by_date_in_the_past_is_refused(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    yesterday = today_in_shanghai() - dt.timedelta(days=1)
    async with nothing_written(suite):
        r = await suite.allocate(pool["id"], project, "10", use_by=str(yesterday))
        assert problem(r, 409)["errors"][0]["field"] == "use_by"


async def test_the_expiry_scan_releases_what_is_unused_past_its_date_once(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    today = today_in_shanghai()
    due = await allocation(suite, pool["id"], project, "10", use_by=str(today))
    used = await allocation(suite, pool["id"], project, "20", use_by=str(today))
    later = await allocation(
        suite, pool["id"], project, "30", use_by=str(today + dt.timedelta(days=30))
    )
    open_ended = await allocation(suite, pool["id"], project, "5")
    assert (await use(suite, used["id"])).status_code == 200
    uow = suite.factors_runtime.uow

    assert await service.release_expired(uow, today) == 0  # due today is not yet past
    assert await service.release_expired(uow, today + dt.timedelta(days=1)) == 1
    assert await service.release_expired(uow, today + dt.timedelta(days=1)) == 0  # a rerun

    released = await get_allocation(suite, due["id"])
    assert released["status"] == "released" and released["release_cause"] == "expired"
    for a in (used, later, open_ended):
        assert (await get_allocation(suite, a["id"]))["status"] != "released"
    [event] = await suite.events("kuaiche.factor.released.v1")
    assert event["data"]["cause"] == "expired"
    assert event["actor"] == service.EXPIRY_ACTOR
    assert (await suite.get_pool(pool["id"]))["allocated"] == "55"


async def test_a_used_allocation_still_takes_its_room_in_the_pool(suite: Suite) -> None:
    # What the pool refuses is reckoned from every drawn allocation, the used ones included:
    # otherwise the room a used allocation holds is offered again (and the database's CHECK,
    # not a 409 with what remains, is all that stops the overdraw).
    project = await suite.project(level="city_key")
    pool = await suite.pool(amount="100", ring_fences=[{"min_level": "city_key", "amount": "30"}])
    a = await allocation(suite, pool["id"], project, "40")
    assert (await use(suite, a["id"])).status_code == 200

    async with nothing_written(suite):
        body = problem(await suite.allocate(pool["id"], project, "70"), 409)
    assert body["remaining"] == "60" and body["pool_remaining"] == "60"
    [fence] = (await suite.get_pool(pool["id"]))["ring_fences"]
    assert fence["available_below"] == "60"  # the 40 drawn already covers the fenced 30
    assert (await allocation(suite, pool["id"], project, "60"))["charged"] == "60"


async def test_the_summary_counts_a_used_allocation_as_drawn_not_released(suite: Suite) -> None:
    project = await suite.project(county=BINCHENG)
    pool = await suite.pool(amount="100")
    used = await allocation(suite, pool["id"], project, "40", advance=True)
    gone = await allocation(suite, pool["id"], project, "10")
    assert (await use(suite, used["id"])).status_code == 200
    assert (await release(suite, gone["id"])).status_code == 200

    r = await suite.factors.get("/v1/factors/summary", params={"year": 2020}, headers=COMMANDER)
    [land] = r.json()["factors"]
    assert land["allocated"] == "40" and land["released"] == "10" and land["advance"] == "40"
    assert land["counties"] == [
        {"county": BINCHENG, "allocated": "40", "advance": "40", "released": "10", "allocations": 2}
    ]


async def test_the_workers_expiry_scan_job_runs_the_scan_and_counts_each_run(suite: Suite) -> None:
    """`jobs` in main.py: the expiry scan is a periodic job whose runs are counted in
    kuaiche_job_runs{job="expiry-scan"}; its first run releases what is already past due."""
    from services.factors.main import SERVICE
    from services.factors.models import Allocation

    project = await suite.project()
    pool = await suite.pool(amount="100")
    due = await allocation(suite, pool["id"], project, "10", use_by=str(today_in_shanghai()))
    runtime = suite.factors_runtime
    async with runtime.uow() as uow:  # past due since yesterday (the API refuses such a date)
        row = await uow.session.get(Allocation, due["id"])
        row.use_by = today_in_shanghai() - dt.timedelta(days=1)
    runs = runtime.metrics.job_runs.labels(job="expiry-scan")
    before = runs._value.get()

    stop = asyncio.Event()
    job = asyncio.create_task(SERVICE.jobs(runtime)["expiry-scan"](stop))
    try:
        await wait_until(lambda: _at_least(runs, before + 1), what="an expiry-scan run")
    finally:
        stop.set()
        await job
    released = await get_allocation(suite, due["id"])
    assert released["status"] == "released" and released["release_cause"] == "expired"


async def _at_least(counter: Any, value: float) -> bool:
    return bool(counter._value.get() >= value)
