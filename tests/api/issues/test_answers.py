"""The answer shape the issues API shares with every service: a create answers 201 with the
created resource (what GETting it answers), where it lives (`Location`) and its version
(`ETag`); a problem's answers carry its version as the ETag; lists are `{items, total}`."""

from __future__ import annotations

from tests.api.issues.helpers import LAND_BUREAU, issue_body, known_project, move
from tests.conftest import COMMANDER


async def test_reporting_a_problem_answers_201_with_the_problem(issues) -> None:
    project = await known_project(issues)
    r = await issues.client.post("/v1/issues", json=issue_body(project), headers=COMMANDER)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "reported" and body["project_id"] == project
    assert [h["action"] for h in body["history"]] == ["report"]
    assert r.headers["Location"] == f"/v1/issues/{body['id']}"
    assert r.headers["ETag"] == f'"{body["version"]}"' == '"1"'

    got = await issues.client.get(r.headers["Location"], headers=COMMANDER)
    assert got.status_code == 200, got.text
    assert got.json() == body and got.headers["ETag"] == '"1"'


async def test_a_move_answers_the_problem_with_its_new_version_as_etag(issues) -> None:
    project = await known_project(issues)
    r = await issues.client.post("/v1/issues", json=issue_body(project), headers=COMMANDER)
    assert r.status_code == 201, r.text
    moved = await move(issues, r.json()["id"], "assign", {"unit": LAND_BUREAU})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 2 and moved.headers["ETag"] == '"2"'


async def test_opening_a_round_answers_201_with_the_round(issues) -> None:
    r = await issues.client.post(
        "/v1/rounds",
        json={"number": 7, "name": "第七轮巡回督导", "started_on": "2020-09-14"},
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["number"] == 7 and body["issues"] == 0
    assert r.headers["Location"] == f"/v1/rounds/{body['id']}"
    assert r.headers["ETag"] == '"1"'

    got = await issues.client.get(r.headers["Location"], headers=COMMANDER)
    assert got.status_code == 200, got.text
    assert got.json() == body
    missing = await issues.client.get("/v1/rounds/no-such-round", headers=COMMANDER)
    assert missing.status_code == 404, missing.text

    listed = await issues.client.get("/v1/rounds", params={"limit": 1}, headers=COMMANDER)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [body], "total": 1}
