"""The calendar over HTTP: add-workdays for frontends, a year the package does not cover
refused loudly (also for an assignment), then working after the schedule is uploaded."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.issues.helpers import (
    LAND_BUREAU,
    assert_problem,
    county_token,
    get,
    known_project,
    move,
    ok,
    ok_json,
    outbox_count,
    report,
)
from tests.conftest import COMMANDER, VIEWER

D = dt.date
SCHEDULE_2027 = {
    "holidays": ["2027-01-01"],  # a stand-in: the real notice comes out late in 2026
    "workdays": ["2027-01-03"],
    "note": "国办发明电〔2026〕测试号",
}


async def add(issues, start: str, days: int):  # type: ignore[no-untyped-def]
    return await issues.client.get(
        "/v1/calendar/add-workdays", params={"from": start, "days": days}, headers=VIEWER
    )


async def test_add_workdays_follows_the_official_calendar(issues) -> None:
    assert ok_json(await add(issues, "2020-09-30", 1)) == {"date": "2020-10-09"}
    assert ok_json(await add(issues, "2020-09-25", 1)) == {"date": "2020-09-27"}
    assert ok_json(await add(issues, "2025-01-27", 1)) == {"date": "2025-02-05"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2020-09-30", "days": 0}, "days"),
        ({"from": "2020-09-30", "days": 367}, "days"),
        ({"from": "2020-13-01", "days": 1}, "from"),
        ({"from": "0001-01-01", "days": 1}, "from"),
        ({"days": 1}, "from"),
        ({"from": "2020-09-30"}, "days"),
    ],
)
async def test_add_workdays_refuses_bad_input(issues, params: dict, field: str) -> None:
    r = await issues.client.get("/v1/calendar/add-workdays", params=params, headers=VIEWER)
    body = assert_problem(r, 422)
    assert field in {e["field"] for e in body["errors"]}


async def test_a_year_nobody_covers_is_refused_until_its_schedule_is_uploaded(issues) -> None:
    body = assert_problem(await add(issues, "2026-12-28", 5), 409, "PUT /v1/calendar/2027")
    assert body["missing_year"] == 2027
    assert_problem(await issues.client.get("/v1/calendar/2027", headers=VIEWER), 409)

    # An assignment whose deadline would fall in 2027 is refused too, and writes nothing.
    issues.clock.set(D(2026, 12, 28))
    iid = await report(issues, await known_project(issues))
    before = (await get(issues, iid), await outbox_count(issues))
    assert_problem(await move(issues, iid, "assign", {"unit": LAND_BUREAU}), 409, "2027")
    assert (await get(issues, iid), await outbox_count(issues)) == before

    # Only the command office uploads. A schedule that cannot be right is 409 naming the list
    # where the schema cannot say so (the path's year, weekdays), 422 where it does (repeats).
    r = await issues.client.put("/v1/calendar/2027", json=SCHEDULE_2027, headers=county_token())
    assert_problem(r, 403)
    bad = {**SCHEDULE_2027, "workdays": ["2027-01-04"]}  # a Monday is no make-up day
    r = await issues.client.put("/v1/calendar/2027", json=bad, headers=COMMANDER)
    body = assert_problem(r, 409, "Saturday or Sunday")
    assert [e["field"] for e in body["errors"]] == ["workdays"]
    r = await issues.client.put(
        "/v1/calendar/2027", json=SCHEDULE_2027 | {"holidays": ["2028-01-03"]}, headers=COMMANDER
    )
    body = assert_problem(r, 409, "outside 2027: 2028-01-03")
    assert [e["field"] for e in body["errors"]] == ["holidays"]
    both = {"holidays": ["2027-01-01", "2027-01-03"], "workdays": ["2027-01-03"]}
    r = await issues.client.put("/v1/calendar/2027", json=both, headers=COMMANDER)
    body = assert_problem(r, 409, "both a holiday and a make-up")
    assert [e["field"] for e in body["errors"]] == ["workdays"]
    r = await issues.client.put(
        "/v1/calendar/2027",
        json=SCHEDULE_2027 | {"holidays": ["2027-01-01", "2027-01-01"]},  # the 2nd one mistyped?
        headers=COMMANDER,
    )
    body = assert_problem(r, 422, "more than once: 2027-01-01")
    assert [e["field"] for e in body["errors"]] == ["holidays"]
    assert_problem(await issues.client.get("/v1/calendar/2027", headers=VIEWER), 409)
    r = await issues.client.put("/v1/calendar/2027", json=SCHEDULE_2027, headers=COMMANDER)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "uploaded" and r.json()["workdays"] == ["2027-01-03"]

    assert ok_json(await add(issues, "2026-12-28", 5)) == {"date": "2027-01-04"}
    body = await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    assert body["deadline"] == "2027-01-04"
    got = ok_json(await issues.client.get("/v1/calendar/2027", headers=VIEWER))
    assert got["source"] == "uploaded" and got["note"] == SCHEDULE_2027["note"]
    assert got["uploaded_by"] == "commander:dev-commander"

    # Uploading again replaces the schedule.
    r = await issues.client.put(
        "/v1/calendar/2027", json={"holidays": ["2027-01-01", "2027-01-04"]}, headers=COMMANDER
    )
    assert r.status_code == 200
    # 29, 30, 31 December, then no make-up Sunday and the 4th off: 5 and 6 January.
    assert ok_json(await add(issues, "2026-12-28", 5)) == {"date": "2027-01-06"}


async def test_a_covered_year_reads_from_the_package(issues) -> None:
    got = ok_json(await issues.client.get("/v1/calendar/2020", headers=VIEWER))
    assert got["source"] == "package"
    assert got["workdays"] == [
        "2020-01-19",
        "2020-04-26",
        "2020-05-09",
        "2020-06-28",
        "2020-09-27",
        "2020-10-10",
    ]
    assert "2020-01-31" in got["holidays"]
    assert_problem(await issues.client.get("/v1/calendar/1800", headers=VIEWER), 422)
