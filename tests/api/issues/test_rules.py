"""Rules over HTTP: forbidden moves are 409 with the reason and write nothing; refused
reports (unknown or withdrawn project); input that breaks its schema is 422 naming the field,
input that meets it but breaks a rule (one field against another, the calendar, today's date,
the configuration) is 409 naming the field."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from shared.events.catalogue import registry as reg
from tests.api.issues.helpers import (
    BINCHENG,
    LAND_BUREAU,
    assert_problem,
    department_token,
    get,
    issue_body,
    known_project,
    move,
    ok,
    ok_json,
    outbox_count,
    projected,
    publish_registry,
    registered,
    report,
)
from tests.conftest import COMMANDER

D = dt.date


async def _unchanged(issues, iid: str, action: str, body: dict, status: int, *words: str) -> dict:  # type: ignore[no-untyped-def]
    before, events_before = await get(issues, iid), await outbox_count(issues)
    r = await move(issues, iid, action, body)
    problem = assert_problem(r, status, *words)
    after = await get(issues, iid)
    assert after == before, "a refused move must leave the problem as it was"
    assert await outbox_count(issues) == events_before
    return problem


def _fields(problem: dict) -> set[str]:
    return {e["field"] for e in problem.get("errors", [])}


async def test_forbidden_moves_are_409_with_the_reason_and_change_nothing(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))
    iid = await report(issues, project)
    await _unchanged(issues, iid, "resolve", {"resolution": "x"}, 409, "the problem is reported")
    await _unchanged(issues, iid, "close", {"verdict": "agreed"}, 409, "only a resolved problem")
    await _unchanged(issues, iid, "feedback", {"accepted": True}, 409, "resolved problem")
    await _unchanged(
        issues, iid, "plan", {"plan": "p", "deadline": "2020-10-09"}, 409, "the problem is reported"
    )
    await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    await _unchanged(issues, iid, "assign", {"unit": LAND_BUREAU}, 409, "the problem is assigned")
    await _unchanged(
        issues, iid, "plan", {"plan": "p", "deadline": "2020-10-09"}, 409, "general problem"
    )
    await ok(issues, iid, "resolve", {"resolution": "done"})
    await ok(issues, iid, "close", {"verdict": "agreed"})
    for action, body in (
        ("assign", {"unit": LAND_BUREAU}),
        ("resolve", {"resolution": "again"}),
        ("feedback", {"accepted": False, "comment": "no"}),
        ("extend", {"working_days": 1, "reason": "r"}),
        ("object", {"reason": "r"}),
        ("close", {"verdict": "agreed"}),
    ):
        await _unchanged(issues, iid, action, body, 409, "closed is final")


async def test_a_complex_problem_is_not_resolved_before_its_plan(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 21))
    iid = await report(issues, project, complexity="complex")
    await ok(issues, iid, "assign", {"unit": LAND_BUREAU})
    await _unchanged(issues, iid, "resolve", {"resolution": "x"}, 409, "submit the plan first")
    await _unchanged(
        issues, iid, "extend", {"working_days": 2, "reason": "r"}, 409, "submit the plan first"
    )
    # The plan's deadline must lie ahead and be a working day: rules against today and the
    # calendar, which the schema cannot state (409, naming the field).
    for deadline, words in (("2020-09-21", "must lie ahead"), ("2020-10-04", "not a working day")):
        problem = await _unchanged(
            issues, iid, "plan", {"plan": "p", "deadline": deadline}, 409, words
        )
        assert _fields(problem) == {"deadline"}


async def test_the_window_rules_of_objection_and_extension(issues) -> None:
    project = await known_project(issues)
    issues.clock.set(D(2020, 9, 30))
    iid = await report(issues, project)
    await ok(issues, iid, "assign", {"unit": LAND_BUREAU, "working_days": 3})
    issues.clock.set(D(2020, 10, 10))  # two working days later (9th, 10th)
    await _unchanged(
        issues, iid, "object", {"reason": "r"}, 409, "within 1 working day", "2020-10-09"
    )
    issues.clock.set(D(2020, 10, 13))  # the deadline was the 12th
    await _unchanged(
        issues, iid, "extend", {"working_days": 2, "reason": "r"}, 409, "before the deadline"
    )
    # The configured maximum (10) is not in the schema: 409.
    problem = await _unchanged(
        issues,
        iid,
        "extend",
        {"working_days": 11, "reason": "r", "requested_on": "2020-10-12"},
        409,
        "at most 10",
    )
    assert _fields(problem) == {"working_days"}
    # A request dated before the problem was even assigned (a mistyped date), or in the future.
    for requested_on, words in (("2020-09-29", "before the assignment"), ("2020-10-14", "future")):
        problem = await _unchanged(
            issues,
            iid,
            "extend",
            {"working_days": 2, "reason": "r", "requested_on": requested_on},
            409,
            words,
        )
        assert _fields(problem) == {"requested_on"}
    body = await ok(
        issues, iid, "extend", {"working_days": 2, "reason": "r", "requested_on": "2020-10-12"}
    )
    assert body["deadline"] == "2020-10-14"


async def test_a_general_assignment_outside_three_to_five_days_is_refused(issues) -> None:
    project = await known_project(issues)
    iid = await report(issues, project)
    # 3–5 is configuration, not schema: 409 naming the field.
    for days in (6, 2):
        problem = await _unchanged(
            issues, iid, "assign", {"unit": LAND_BUREAU, "working_days": days}, 409, "3–5"
        )
        assert _fields(problem) == {"working_days"}


async def test_a_complex_assignment_takes_no_working_days(issues) -> None:
    project = await known_project(issues)
    iid = await report(issues, project, complexity="complex")
    problem = await _unchanged(
        issues, iid, "assign", {"unit": LAND_BUREAU, "working_days": 5}, 409, "set by its plan"
    )
    assert _fields(problem) == {"working_days"}


async def test_a_problem_for_an_unknown_project_is_refused(issues) -> None:
    before = await outbox_count(issues)
    r = await issues.client.post(
        "/v1/issues", json=issue_body("no-such-project"), headers=COMMANDER
    )
    body = assert_problem(r, 409, "is not known")
    assert body["errors"][0]["field"] == "project_id"
    assert await outbox_count(issues) == before


async def test_a_problem_for_a_withdrawn_project_is_refused(issues) -> None:
    project = await known_project(issues)
    await publish_registry(
        issues,
        reg.ProjectStageChanged(
            project_id=project,
            from_stage="started",
            to_stage="withdrawn",
            date=D(2020, 9, 1),
            reason="企业放弃",
            track="implementation",
            level="city_key",
            planned_start=None,
            actual_start=D(2020, 3, 1),
            actual_completion=None,
        ),
        2,
        BINCHENG,
    )
    known = await projected(issues, project, version=2)
    assert known.withdrawn and known.stage == "withdrawn"
    before = await outbox_count(issues)
    r = await issues.client.post("/v1/issues", json=issue_body(project), headers=COMMANDER)
    assert_problem(r, 409, "is withdrawn")
    assert await outbox_count(issues) == before
    r = await issues.client.get("/v1/issues", params={"project_id": project}, headers=COMMANDER)
    assert r.json()["total"] == 0


async def test_a_replayed_older_registry_event_does_not_undo_a_newer_one(issues) -> None:
    project = await known_project(issues)
    await publish_registry(
        issues,
        reg.ProjectStageChanged(
            project_id=project,
            from_stage="started",
            to_stage="withdrawn",
            date=D(2020, 9, 1),
            reason=None,
            track="implementation",
            level=None,
            planned_start=None,
            actual_start=None,
            actual_completion=None,
        ),
        2,
        BINCHENG,
    )
    await projected(issues, project, version=2)
    await publish_registry(issues, registered(project), 1, BINCHENG)  # an old snapshot again
    # A later event on the same key (same partition): once it is applied, so was the replay.
    marker = str(uuid.uuid4())
    await publish_registry(issues, registered(marker), 1, BINCHENG, key=project)
    await projected(issues, marker)
    assert (await projected(issues, project, version=2)).withdrawn


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "weather"}, "category"),
        ({"complexity": "epic"}, "complexity"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "a\x00b"}, "description"),
        ({"source": "supervision_round"}, "round_id"),  # without its round
        ({"round_id": "r1"}, "round_id"),  # a round with another source
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_reports_are_422_naming_the_field(issues, body: dict, field: str) -> None:
    project = await known_project(issues)
    before = await outbox_count(issues)
    r = await issues.client.post("/v1/issues", json=issue_body(project, **body), headers=COMMANDER)
    problem = assert_problem(r, 422)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert await outbox_count(issues) == before


async def test_a_round_that_does_not_exist_is_refused(issues) -> None:
    project = await known_project(issues)
    r = await issues.client.post(
        "/v1/issues",
        json=issue_body(project, source="supervision_round", round_id="nope"),
        headers=COMMANDER,
    )
    assert_problem(r, 409, "does not exist")


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("assign", {"unit": ""}, "unit"),
        ("assign", {"unit": "A", "co_units": ["B", "B"]}, "co_units"),  # uniqueItems
        ("assign", {"unit": "A", "working_days": "five"}, "working_days"),
        ("assign", {"unit": "A", "working_days": 0}, "working_days"),
        ("assign", {"unit": "A", "working_days": 367}, "working_days"),
        ("feedback", {"accepted": False}, "comment"),  # a rejection says why
        ("feedback", {"accepted": False, "comment": "  "}, "comment"),
        ("feedback", {}, "accepted"),
        ("close", {"verdict": "maybe"}, "verdict"),
        ("close", {"verdict": "deferred"}, "note"),  # a deferral says why
        ("extend", {"working_days": 0, "reason": "r"}, "working_days"),
        ("extend", {"working_days": 367, "reason": "r"}, "working_days"),
        ("extend", {"working_days": 2}, "reason"),
        ("plan", {"plan": "p", "deadline": "9999-01-01"}, "deadline"),
    ],
)
async def test_bad_move_bodies_are_422_naming_the_field(
    issues, action: str, body: dict, field: str
) -> None:
    project = await known_project(issues)
    iid = await report(issues, project)
    before = await outbox_count(issues)
    problem = assert_problem(await move(issues, iid, action, body), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert await outbox_count(issues) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"unit": "A", "co_units": ["A"]}, "the responsible unit is not also a co-unit"),
        ({"unit": "A", "co_units": ["B", " B "]}, "the same unit twice once trimmed"),
        ({"unit": " A ", "co_units": ["A"]}, "the responsible unit is not also a co-unit"),
    ],
)
async def test_an_assignment_that_names_a_unit_twice_is_409_naming_co_units(
    issues, body: dict, message: str
) -> None:
    # Distinct texts, as the schema asks, that name one unit: a rule across fields.
    project = await known_project(issues)
    iid = await report(issues, project)
    problem = await _unchanged(issues, iid, "assign", body, 409, message)
    assert [e["field"] for e in problem["errors"]] == ["co_units"]
    assert message in problem["errors"][0]["message"]


async def test_a_round_ending_before_it_starts_is_409_naming_ended_on(issues) -> None:
    before = ok_json(await issues.client.get("/v1/rounds", headers=COMMANDER))["total"]
    r = await issues.client.post(
        "/v1/rounds",
        json={"number": 9, "name": "第九轮", "started_on": "2020-09-21", "ended_on": "2020-09-20"},
        headers=COMMANDER,
    )
    problem = assert_problem(r, 409, "ended_on must not be before started_on")
    assert problem["errors"] == [
        {"field": "ended_on", "message": "ended_on must not be before started_on"}
    ]
    assert ok_json(await issues.client.get("/v1/rounds", headers=COMMANDER))["total"] == before


async def test_an_unknown_problem_is_404(issues) -> None:
    assert_problem(await issues.client.get("/v1/issues/nope", headers=COMMANDER), 404)
    assert_problem(await move(issues, "nope", "assign", {"unit": LAND_BUREAU}), 404)
    assert_problem(
        await move(issues, "nope", "resolve", {"resolution": "r"}, department_token()), 404
    )


async def test_a_retried_report_with_an_idempotency_key_creates_one_problem(issues) -> None:
    project = await known_project(issues)
    before = await outbox_count(issues)
    headers = {**COMMANDER, "Idempotency-Key": f"report-{uuid.uuid4()}"}
    first = await issues.client.post("/v1/issues", json=issue_body(project), headers=headers)
    again = await issues.client.post("/v1/issues", json=issue_body(project), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await outbox_count(issues) == before + 1
