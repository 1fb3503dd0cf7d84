"""Lists with their filters and colours, the figures (rates to one decimal, half up), and the
supervision rounds."""

from __future__ import annotations

import datetime as dt

from tests.api.issues.helpers import (
    BINCHENG,
    BOXING,
    LAND_BUREAU,
    WATER_BUREAU,
    assert_problem,
    department_token,
    known_project,
    ok,
    ok_json,
    report,
)
from tests.conftest import COMMANDER, VIEWER

D = dt.date


async def ids(issues, **params) -> set[str]:  # type: ignore[no-untyped-def]
    r = await issues.client.get("/v1/issues", params=params, headers=COMMANDER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return {i["id"] for i in body["items"]}


async def test_colours_and_filters_agree_with_each_problem(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))
    blue = await report(issues, project)
    red = await report(issues, project, category="water")
    yellow = await report(issues, project, complexity="complex")
    reported = await report(issues, project)
    await ok(issues, blue, "assign", {"unit": LAND_BUREAU})  # due Sunday 27th (make-up)
    await ok(issues, red, "assign", {"unit": WATER_BUREAU, "working_days": 3})  # due 24th
    await ok(issues, yellow, "assign", {"unit": LAND_BUREAU})  # plan due 23rd

    issues.clock.set(D(2020, 9, 25))  # Friday: one working day (the 27th) left for `blue`
    assert await ids(issues, colour="blue") == {blue}
    assert await ids(issues, colour="red") == {red}
    assert await ids(issues, colour="yellow") == {yellow}
    assert await ids(issues, overdue="true") == {red}
    assert await ids(issues, overdue="false") == {blue, yellow, reported}
    r = await issues.client.get("/v1/issues", headers=COMMANDER)
    colours = {i["id"]: (i["colour"], i["overdue"]) for i in r.json()["items"]}
    assert colours == {
        blue: ("blue", False),
        red: ("red", True),
        yellow: ("yellow", False),
        reported: (None, False),
    }
    assert await ids(issues, status="reported") == {reported}
    assert await ids(issues, unit=WATER_BUREAU) == {red}
    assert await ids(issues, category="water") == {red}
    assert await ids(issues, project_id=project) == {blue, red, yellow, reported}
    assert await ids(issues, county=BOXING) == set()

    issues.clock.set(D(2020, 9, 24))  # two working days left: not blue yet
    assert await ids(issues, colour="blue") == {red}  # due today: blue, not yet red


async def test_resolution_rate_is_rounded_half_up_to_one_decimal(issues) -> None:
    issues.clock.set(D(2020, 9, 21))
    project = await known_project(issues)
    # 1 of 16 resolved is 6.25%: half up gives 6.3 (half even would give 6.2).
    first = await report(issues, project)
    for _ in range(15):
        await report(issues, project, category="funds")
    await ok(issues, first, "assign", {"unit": LAND_BUREAU})
    await ok(issues, first, "resolve", {"resolution": "done"})
    stats = ok_json(await issues.client.get("/v1/issues/stats", headers=COMMANDER))
    assert stats["collected"] == 16 and stats["resolved"] == 1
    assert stats["resolution_rate"] == "6.3"
    assert stats["on_time_rate"] == "100.0"
    land = next(c for c in stats["by_category"] if c["category"] == "land")
    assert (land["collected"], land["resolution_rate"], land["category_label"]) == (
        1,
        "100.0",
        "用地",
    )
    funds = next(c for c in stats["by_category"] if c["category"] == "funds")
    assert (funds["resolved"], funds["resolution_rate"], funds["on_time_rate"]) == (0, "0.0", None)
    assert stats["by_unit"] == [
        {
            "unit": LAND_BUREAU,
            "collected": 1,
            "resolved": 1,
            "resolution_rate": "100.0",
            "on_time_rate": "100.0",
            "overdue": 0,
        }
    ]


async def test_figures_count_late_resolutions_and_filter_by_county_unit_and_dates(issues) -> None:
    here, there = await known_project(issues, BINCHENG), await known_project(issues, BOXING)
    issues.clock.set(D(2020, 9, 21))
    on_time = await report(issues, here)
    late = await report(issues, here)
    open_ = await report(issues, there)
    for iid in (on_time, late, open_):
        await ok(issues, iid, "assign", {"unit": LAND_BUREAU, "working_days": 3})  # due 24th
    issues.clock.set(D(2020, 9, 24))
    await ok(issues, on_time, "resolve", {"resolution": "r"})
    issues.clock.set(D(2020, 9, 25))
    await ok(issues, late, "resolve", {"resolution": "r"})
    issues.clock.set(D(2020, 10, 9))
    await report(issues, there)  # a later report, outside the date filter below

    async def stats(**params: str) -> dict:
        r = await issues.client.get("/v1/issues/stats", params=params, headers=COMMANDER)
        assert r.status_code == 200, r.text
        return r.json()

    s = await stats()
    assert (s["collected"], s["resolved"], s["resolution_rate"]) == (4, 2, "50.0")
    assert s["on_time_rate"] == "50.0" and s["overdue"] == 1  # `open_` is past the 24th
    assert (await stats(county=BINCHENG))["collected"] == 2
    assert (await stats(county=BOXING))["overdue"] == 1
    assert (await stats(unit=LAND_BUREAU))["collected"] == 3
    window = await stats(**{"from": "2020-09-21", "to": "2020-09-30"})
    assert window["collected"] == 3
    assert [c["county"] for c in s["by_county"]] == [BINCHENG, BOXING]
    # Both dates meet the schema; one against the other is a rule: 409 naming `to`.
    backwards = assert_problem(
        await issues.client.get(
            "/v1/issues/stats", params={"from": "2020-10-01", "to": "2020-09-01"}, headers=COMMANDER
        ),
        409,
        "before from",
    )
    assert [e["field"] for e in backwards["errors"]] == ["to"]
    empty = (
        await issues.client.get("/v1/issues/stats", headers=department_token("无此单位"))
    ).json()
    assert empty["collected"] == 0 and empty["resolution_rate"] is None


async def test_supervision_rounds(issues) -> None:
    r = await issues.client.post(
        "/v1/rounds",
        json={
            "number": 1,
            "name": "第一轮巡回督导",
            "started_on": "2020-09-14",
            "ended_on": "2020-09-25",
        },
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    again = await issues.client.post(
        "/v1/rounds",
        json={"number": 1, "name": "重复", "started_on": "2020-09-14"},
        headers=COMMANDER,
    )
    assert_problem(again, 409, "already exists")
    backwards = await issues.client.post(
        "/v1/rounds",
        json={"number": 2, "name": "x", "started_on": "2020-09-14", "ended_on": "2020-09-01"},
        headers=COMMANDER,
    )
    assert [e["field"] for e in assert_problem(backwards, 409, "ended_on")["errors"]] == [
        "ended_on"
    ]

    project = await known_project(issues)
    iid = await report(issues, project, source="supervision_round", round_id=round_id)
    await report(issues, project)
    assert await ids(issues, round_id=round_id) == {iid}
    rounds = ok_json(await issues.client.get("/v1/rounds", headers=VIEWER))
    assert rounds["total"] == 1 and rounds["items"][0]["issues"] == 1
    assert rounds["items"][0]["name"] == "第一轮巡回督导"
