"""Who sees and moves what. A department sees and acts only on the problems it is the
responsible unit of (any other is 404, to read and to write); a county reports and follows its
own county's problems (another county's: 404 to read, 403 to write); only the command office
assigns, extends and closes; a viewer reads; no token is 401."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.auth import Role
from tests.api.issues.helpers import (
    BINCHENG,
    BOXING,
    LAND_BUREAU,
    WATER_BUREAU,
    assert_problem,
    county_token,
    department_token,
    get,
    issue_body,
    known_project,
    move,
    ok,
    ok_json,
    outbox_count,
    report,
)
from tests.conftest import COMMANDER, VIEWER, token

D = dt.date


async def _two_assigned(issues):  # type: ignore[no-untyped-def]
    """One problem for the land bureau in Bincheng, one for the water bureau in Boxing."""
    issues.clock.set(D(2020, 9, 21))
    land = await report(issues, await known_project(issues, BINCHENG))
    water = await report(issues, await known_project(issues, BOXING), category="water")
    await ok(issues, land, "assign", {"unit": LAND_BUREAU, "co_units": [WATER_BUREAU]})
    await ok(issues, water, "assign", {"unit": WATER_BUREAU})
    return land, water


async def test_a_department_sees_only_the_problems_assigned_to_it(issues) -> None:
    land, water = await _two_assigned(issues)
    unassigned = await report(issues, await known_project(issues))
    dept = department_token(LAND_BUREAU)

    r = await issues.client.get("/v1/issues", headers=dept)
    assert [i["id"] for i in r.json()["items"]] == [land] and r.json()["total"] == 1
    # Even when it asks for another unit's or county's problems by filter.
    r = await issues.client.get("/v1/issues", params={"unit": WATER_BUREAU}, headers=dept)
    assert r.json()["total"] == 0
    assert (await get(issues, land, dept))["unit"] == LAND_BUREAU
    for other in (water, unassigned):
        assert_problem(await issues.client.get(f"/v1/issues/{other}", headers=dept), 404)
        before = await outbox_count(issues)
        assert_problem(await move(issues, other, "resolve", {"resolution": "x"}, dept), 404)
        assert_problem(await move(issues, other, "object", {"reason": "x"}, dept), 404)
        assert await outbox_count(issues) == before
    # A co-unit is named on the problem, but the responsible unit is the one that sees it.
    assert_problem(
        await issues.client.get(f"/v1/issues/{land}", headers=department_token(WATER_BUREAU)),
        404,
    )
    stats = ok_json(await issues.client.get("/v1/issues/stats", headers=dept))
    assert stats["collected"] == 1


async def test_a_department_acts_on_its_own_problem_but_does_not_assign_extend_or_close(
    issues,
) -> None:
    land, _ = await _two_assigned(issues)
    dept = department_token(LAND_BUREAU)
    for action, body in (
        ("assign", {"unit": LAND_BUREAU}),
        ("extend", {"working_days": 1, "reason": "r"}),
        ("close", {"verdict": "agreed"}),
        ("feedback", {"accepted": True}),
    ):
        assert_problem(await move(issues, land, action, body, dept), 403)
    await ok(issues, land, "resolve", {"resolution": "done"}, dept)
    assert_problem(await move(issues, land, "close", {"verdict": "agreed"}, dept), 403)
    r = await issues.client.post(
        "/v1/issues", json=issue_body(await known_project(issues)), headers=dept
    )
    assert_problem(r, 403, "may not report")


async def test_a_county_reports_and_follows_its_own_county(issues) -> None:
    land, water = await _two_assigned(issues)
    own = county_token(BINCHENG)
    r = await issues.client.get("/v1/issues", headers=own)
    assert {i["county"] for i in r.json()["items"]} == {BINCHENG}
    r = await issues.client.get("/v1/issues", params={"county": BOXING}, headers=own)
    assert r.json()["total"] == 0
    assert_problem(await issues.client.get(f"/v1/issues/{water}", headers=own), 404)
    assert_problem(await move(issues, water, "feedback", {"accepted": True}, own), 403)
    # Reporting for another county's project is 403, for its own 201.
    r = await issues.client.post(
        "/v1/issues", json=issue_body(await known_project(issues, BOXING)), headers=own
    )
    assert_problem(r, 403, "its own county")
    await report(issues, await known_project(issues, BINCHENG), headers=own)
    # It gives feedback but does not assign, plan, resolve or close.
    for action, body in (
        ("assign", {"unit": LAND_BUREAU}),
        ("resolve", {"resolution": "x"}),
        ("close", {"verdict": "agreed"}),
    ):
        assert_problem(await move(issues, land, action, body, own), 403)


@pytest.mark.parametrize("action", ["assign", "extend", "close"])
async def test_only_the_command_office_assigns_extends_and_closes(issues, action: str) -> None:
    land, _ = await _two_assigned(issues)
    body = {
        "assign": {"unit": LAND_BUREAU},
        "extend": {"working_days": 1, "reason": "r"},
        "close": {"verdict": "agreed"},
    }[action]
    for who in (county_token(BINCHENG), department_token(LAND_BUREAU), VIEWER):
        assert_problem(await move(issues, land, action, body, who), 403)


async def test_a_viewer_reads_everything_and_changes_nothing(issues) -> None:
    land, water = await _two_assigned(issues)
    r = await issues.client.get("/v1/issues", headers=VIEWER)
    assert r.json()["total"] == 2
    assert (await get(issues, water, VIEWER))["id"] == water
    assert_problem(await move(issues, land, "resolve", {"resolution": "x"}, VIEWER), 403)
    r = await issues.client.post(
        "/v1/issues", json=issue_body(await known_project(issues)), headers=VIEWER
    )
    assert_problem(r, 403)
    r = await issues.client.post(
        "/v1/rounds",
        json={"number": 9, "name": "r", "started_on": "2020-09-01"},
        headers=VIEWER,
    )
    assert_problem(r, 403)


async def test_no_token_is_401(issues) -> None:
    for path in ("/v1/issues", "/v1/issues/stats", "/v1/rounds", "/v1/calendar/2020"):
        assert_problem(await issues.client.get(path), 401)
    assert_problem(await issues.client.post("/v1/issues", json={}), 401)


async def test_the_command_office_may_act_for_the_unit(issues) -> None:
    land, _ = await _two_assigned(issues)
    body = await ok(issues, land, "resolve", {"resolution": "协调办结"}, COMMANDER)
    assert body["history"][-1]["actor"] == "commander:dev-commander"
    assert token(Role.COMMANDER)  # the same role the fixture's commander has
