"""The closed loop over HTTP: every move answers the problem with its history, writes one
event keyed by the project, and deadlines follow the official calendar (National Day 2020:
Sunday 27 September and Saturday 10 October were working days)."""

from __future__ import annotations

import datetime as dt

from tests.api.issues.helpers import (
    BINCHENG,
    LAND_BUREAU,
    county_token,
    department_token,
    events,
    get,
    known_project,
    ok,
    report,
)
from tests.conftest import COMMANDER

D = dt.date


async def test_a_general_problem_from_report_to_close(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))  # a Monday
    iid = await report(issues, project, headers=county_token(BINCHENG))
    got = await get(issues, iid)
    assert got["status"] == "reported" and got["county"] == BINCHENG
    assert got["project_name"].startswith("测试项目-")

    body = await ok(issues, iid, "assign", {"unit": LAND_BUREAU, "co_units": ["市生态环境局"]})
    # Five working days from Monday 21 September 2020: Tue..Fri, then the make-up Sunday 27th.
    assert body["deadline"] == "2020-09-27"
    assert body["working_days"] == 5 and body["assigned_on"] == "2020-09-21"
    assert body["co_units"] == ["市生态环境局"]
    assert body["status"] == "assigned"

    issues.clock.set(D(2020, 9, 25))
    body = await ok(issues, iid, "resolve", {"resolution": "已调剂指标 50 亩"}, department_token())
    assert body["status"] == "resolved" and body["on_time"] is True
    assert body["resolved_on"] == "2020-09-25"

    issues.clock.set(D(2020, 9, 27))
    body = await ok(issues, iid, "feedback", {"accepted": True, "comment": "满意"}, county_token())
    assert body["status"] == "resolved" and body["feedback_accepted"] is True

    issues.clock.set(D(2020, 9, 28))
    body = await ok(issues, iid, "close", {"verdict": "agreed", "note": "同意销号"})
    assert body["status"] == "closed" and body["verdict"] == "agreed"
    assert body["closed_on"] == "2020-09-28" and body["colour"] is None

    history = body["history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("report", None, "reported"),
        ("assign", "reported", "assigned"),
        ("resolve", "assigned", "resolved"),
        ("accept", "resolved", "resolved"),
        ("close", "resolved", "closed"),
    ]
    assert history[0]["actor"] == "county:dev-county@371602"
    assert history[2]["actor"] == f"department:dev-department@{LAND_BUREAU}"
    assert history[1]["at"].startswith("2020-09-21T02:00:00")  # UTC

    sent = await events(issues, iid)
    assert [e.type for e in sent] == [
        "kuaiche.issue.reported.v1",
        "kuaiche.issue.assigned.v1",
        "kuaiche.issue.resolved.v1",
        "kuaiche.issue.accepted.v1",
        "kuaiche.issue.closed.v1",
    ]
    assert {e.partitionkey for e in sent} == {project}  # keyed by the project
    assert {e.county for e in sent} == {BINCHENG}
    assert [e.sequence for e in sent] == [1, 2, 3, 4, 5]
    assert sent[1].data["deadline"] == "2020-09-27" and sent[1].data["unit"] == LAND_BUREAU
    assert sent[4].actor == "commander:dev-commander"
    # What scoring counts per county and period, from the events alone: every event says
    # when the problem was collected, and the closing one what it closes.
    assert {e.data["reported_on"] for e in sent} == {"2020-09-21"}
    assert {e.data["category"] for e in sent} == {"land"}
    assert sent[2].data["resolved_on"] == "2020-09-25" and sent[2].data["on_time"] is True
    closed = sent[4].data
    assert (closed["resolved_on"], closed["on_time"], closed["deadline"]) == (
        "2020-09-25",
        True,
        "2020-09-27",
    )


async def test_today_is_the_date_in_shanghai_not_in_utc(issues) -> None:
    project = await known_project(issues)
    # 23:30 UTC on Sunday 20 September 2020 is 07:30 on Monday the 21st in Shanghai.
    issues.clock.current = dt.datetime(2020, 9, 20, 23, 30, tzinfo=dt.UTC)
    iid = await report(issues, project)
    body = await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    assert body["reported_on"] == body["assigned_on"] == "2020-09-21"
    assert body["deadline"] == "2020-09-27"  # not the 25th, as from Sunday the 20th
    # 16:30 UTC on the 27th is already the 28th in Shanghai: one day late.
    issues.clock.current = dt.datetime(2020, 9, 27, 16, 30, tzinfo=dt.UTC)
    body = await ok(issues, iid, "resolve", {"resolution": "已办结"}, department_token())
    assert body["resolved_on"] == "2020-09-28" and body["on_time"] is False


async def test_a_complex_problem_plans_then_resolves_by_the_plans_deadline(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))
    iid = await report(issues, project, complexity="complex")
    body = await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    assert body["plan_due"] == "2020-09-23" and body["deadline"] is None
    assert body["working_days"] is None

    issues.clock.set(D(2020, 9, 22))
    body = await ok(
        issues,
        iid,
        "plan",
        {"plan": "分三步：组卷、报批、供地", "deadline": "2020-10-10"},  # a make-up Saturday
        department_token(),
    )
    assert body["status"] == "planned" and body["deadline"] == "2020-10-10"

    issues.clock.set(D(2020, 10, 9))
    body = await ok(issues, iid, "resolve", {"resolution": "已供地"}, department_token())
    assert body["on_time"] is True
    sent = await events(issues, iid)
    assert [e.type.split(".")[2] for e in sent] == ["reported", "assigned", "planned", "resolved"]
    assert sent[2].data["on_time"] is True


async def test_a_rejected_resolution_reopens_with_a_new_deadline(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))
    iid = await report(issues, project)
    await ok(issues, iid, "assign", {"unit": LAND_BUREAU, "working_days": 3})
    issues.clock.set(D(2020, 9, 23))
    await ok(issues, iid, "resolve", {"resolution": "已协调"}, department_token())
    issues.clock.set(D(2020, 9, 30))
    body = await ok(
        issues, iid, "feedback", {"accepted": False, "comment": "企业仍未拿到指标"}, county_token()
    )
    # Three working days from 30 September 2020: National Day until the 8th, then 9, 10 (Sat), 12.
    assert body["status"] == "assigned" and body["deadline"] == "2020-10-12"
    assert body["resolution"] is None and body["on_time"] is None
    assert body["history"][-1]["note"] == "企业仍未拿到指标"
    assert (await events(issues, iid))[-1].type == "kuaiche.issue.reopened.v1"


async def test_an_extension_granted_before_the_deadline_moves_it(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))
    iid = await report(issues, project)
    await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    issues.clock.set(D(2020, 9, 28))  # the deadline (27th) has passed, the request had not
    body = await ok(
        issues,
        iid,
        "extend",
        {"working_days": 2, "reason": "需省厅批复", "requested_on": "2020-09-25"},
    )
    assert body["deadline"] == "2020-09-29"  # 27 (make-up Sunday) + 28, 29
    sent = (await events(issues, iid))[-1]
    assert sent.type == "kuaiche.issue.extended.v1"
    assert sent.data["previous_deadline"] == "2020-09-27"
    assert sent.data["requested_on"] == "2020-09-25"


async def test_an_objection_within_a_working_day_sends_it_back_for_reassignment(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 30))  # Wednesday before National Day
    iid = await report(issues, project)
    await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    # One working day after 30 September is 9 October: still in time on the 9th.
    issues.clock.set(D(2020, 10, 9))
    body = await ok(issues, iid, "object", {"reason": "不属于本单位职责"}, department_token())
    assert body["status"] == "reported" and body["unit"] is None and body["deadline"] is None
    assert body["history"][-1]["note"] == f"{LAND_BUREAU}: 不属于本单位职责"
    body = await ok(issues, iid, "assign", {"unit": "市水利局"})
    assert body["status"] == "assigned" and body["unit"] == "市水利局"
    types = [e.type.split(".")[2] for e in await events(issues, iid)]
    assert types == ["reported", "assigned", "objected", "assigned"]
    # The objecting unit no longer sees it.
    r = await issues.client.get(f"/v1/issues/{iid}", headers=department_token())
    assert r.status_code == 404
    assert (await get(issues, iid, COMMANDER))["unit"] == "市水利局"
