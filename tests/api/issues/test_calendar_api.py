"""The calendar over HTTP: add-workdays for frontends, a year the package does not cover
refused loudly (also for an assignment), then working after the schedule is uploaded; each
upload published as one `kuaiche.calendar.schedule_set.v1` with the year's version."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.events.catalogue import payload_model
from shared.events.catalogue.issues import CalendarScheduleSet
from shared.events.envelope import CloudEvent
from shared.events.topics import ISSUES
from tests.api.issues.helpers import (
    LAND_BUREAU,
    IssuesApp,
    assert_problem,
    county_token,
    events,
    get,
    known_project,
    move,
    ok,
    ok_json,
    outbox_count,
    report,
)
from tests.conftest import COMMANDER, VIEWER, wait_until

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


async def schedule_events(issues: IssuesApp) -> list[CloudEvent]:
    return [e for e in await events(issues) if e.type == CalendarScheduleSet.TYPE]


async def test_each_upload_publishes_the_schedule_with_the_years_version(issues) -> None:
    # Listed out of order: the event, like the stored schedule, has them sorted.
    first = {"holidays": ["2027-01-04", "2027-01-01"], "workdays": ["2027-01-03"], "note": "一"}
    r = await issues.client.put("/v1/calendar/2027", json=first, headers=COMMANDER)
    assert r.status_code == 200, r.text
    [event] = await schedule_events(issues)
    assert event.data == {
        "year": 2027,
        "holidays": ["2027-01-01", "2027-01-04"],
        "workdays": ["2027-01-03"],
        "note": "一",
        "version": 1,
    }
    assert (event.subject, event.partitionkey) == ("calendar/2027", "calendar-2027")
    assert (event.sequence, event.county, event.actor) == (1, None, "commander:dev-commander")
    assert isinstance(payload_model(event.type).model_validate(event.data), CalendarScheduleSet)

    # Refused uploads (not the commander, a rule broken, a date repeated) publish nothing and
    # leave the version where it was.
    before = await outbox_count(issues)
    refused = [
        (county_token(), first, 403),
        (COMMANDER, first | {"workdays": ["2027-01-05"]}, 409),  # a Tuesday is no make-up day
        (COMMANDER, first | {"holidays": ["2027-01-01", "2027-01-01"]}, 422),
    ]
    for headers, body, status in refused:
        assert_problem(
            await issues.client.put("/v1/calendar/2027", json=body, headers=headers), status
        )
    assert await outbox_count(issues) == before

    # Uploading again is one more version; another year counts its own from 1.
    second = {"holidays": ["2027-01-01"], "note": None}
    assert (await issues.client.put("/v1/calendar/2027", json=second, headers=COMMANDER)).is_success
    other = {"holidays": ["2028-01-03"]}
    assert (await issues.client.put("/v1/calendar/2028", json=other, headers=COMMANDER)).is_success
    published = await schedule_events(issues)
    assert [(e.subject, e.sequence, e.data["version"]) for e in published] == [
        ("calendar/2027", 1, 1),
        ("calendar/2027", 2, 2),
        ("calendar/2028", 1, 1),
    ]
    assert published[1].data == {
        "year": 2027,
        "holidays": ["2027-01-01"],
        "workdays": [],
        "note": None,
        "version": 2,
    }

    # The relay publishes them on the issues topic, keyed by year: one partition, in order.
    reader = issues.bus.consumer("test-calendar-reader", [ISSUES])
    await reader.start()
    seen: list[tuple[str, int]] = []

    async def all_published() -> bool:
        for m in await reader.fetch(timeout=0.1):
            e = CloudEvent.from_json(m.value)
            if e.type == CalendarScheduleSet.TYPE:
                assert m.key == e.partitionkey
                seen.append((m.key, e.data["version"]))
        return len(seen) == 3

    await wait_until(all_published, what="the three schedules on kuaiche.issues")
    assert [v for key, v in seen if key == "calendar-2027"] == [1, 2]
    assert [v for key, v in seen if key == "calendar-2028"] == [1]
