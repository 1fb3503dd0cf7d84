"""Milestones 配档表 (planned and actual dates, overdue flag) and key-list changes
增补 / 调整 / 退出 with their history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.registry.helpers import (
    BINCHENG,
    ZOUPING,
    county_actor,
    county_token,
    create_project,
    error_fields,
    future_date,
    move,
    nothing_written,
    one_new_event,
    outbox_count,
    problem,
    read_project,
    today,
    unique_name,
)
from tests.conftest import COMMANDER, VIEWER

MILESTONE_UPDATED = "kuaiche.project.milestone_updated.v1"
LIST_CHANGED = "kuaiche.project.list_changed.v1"


def _days_ago(days: int) -> str:
    return (today() - dt.timedelta(days=days)).isoformat()


async def _milestone(registry, pid: str, headers=COMMANDER, **body: Any):
    return await registry.client.post(f"/v1/projects/{pid}/milestones", json=body, headers=headers)


async def _milestones(registry, pid: str, **params: Any) -> dict[str, Any]:
    r = await registry.client.get(
        f"/v1/projects/{pid}/milestones", params=params, headers=COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _change(registry, pid: str, headers=COMMANDER, **body: Any):
    body.setdefault("reason", "市指挥部调度会议定")
    body.setdefault("effective_date", "2020-05-01")
    return await registry.client.post(
        f"/v1/projects/{pid}/list-changes", json=body, headers=headers
    )


# ---------------------------------------------------------------- milestones
async def test_add_a_milestone_emits_milestone_updated(registry):
    project = await create_project(registry, county=BINCHENG)
    before = await outbox_count(registry)
    r = await _milestone(
        registry,
        project["id"],
        headers=county_token(BINCHENG),
        name="土地摘牌",
        planned_date="2020-04-30",
        note="自然资源局配合",
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["project_id"] == project["id"]
    assert (m["name"], m["planned_date"], m["actual_date"], m["note"]) == (
        "土地摘牌",
        "2020-04-30",
        None,
        "自然资源局配合",
    )
    now = await read_project(registry, project["id"])
    assert now["version"] == 2
    event = await one_new_event(registry, before, MILESTONE_UPDATED, now, county_actor(BINCHENG))
    assert event["data"]["milestone_id"] == m["id"]
    assert event["data"]["planned_date"] == "2020-04-30"
    assert event["data"]["actual_date"] is None


async def test_a_past_planned_date_without_actual_date_is_overdue(registry):
    project = await create_project(registry)
    m = (
        await _milestone(registry, project["id"], name="施工许可", planned_date=_days_ago(5))
    ).json()
    assert m["overdue"] is True
    assert m["days_overdue"] == 5


@pytest.mark.parametrize(
    ("planned", "actual"),
    [
        ("PAST", "PAST"),  # reached: not overdue
        ("TODAY", None),  # due today: not yet overdue
        ("FUTURE", None),  # not due yet
    ],
)
async def test_a_milestone_that_is_reached_or_not_due_is_not_overdue(registry, planned, actual):
    dates = {"PAST": _days_ago(30), "TODAY": today().isoformat(), "FUTURE": str(future_date())}
    project = await create_project(registry)
    body: dict[str, Any] = {"name": "环评批复", "planned_date": dates[planned]}
    if actual:
        body["actual_date"] = _days_ago(31)
    r = await _milestone(registry, project["id"], **body)
    assert r.status_code == 201, r.text
    assert (r.json()["overdue"], r.json()["days_overdue"]) == (False, 0)


async def test_updating_the_actual_date_clears_overdue(registry):
    project = await create_project(registry)
    m = (
        await _milestone(registry, project["id"], name="主体封顶", planned_date="2020-06-30")
    ).json()
    assert m["overdue"] is True
    before = await outbox_count(registry)
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}/milestones/{m['id']}",
        json={"actual_date": "2020-07-05"},
        headers=COMMANDER,
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["actual_date"], updated["overdue"], updated["days_overdue"]) == (
        "2020-07-05",
        False,
        0,
    )
    assert updated["name"] == "主体封顶"
    assert updated["planned_date"] == "2020-06-30"
    event = await one_new_event(
        registry, before, MILESTONE_UPDATED, await read_project(registry, project["id"])
    )
    assert event["data"]["actual_date"] == "2020-07-05"

    # and clearing it again makes it overdue again
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}/milestones/{m['id']}",
        json={"actual_date": None},
        headers=COMMANDER,
    )
    assert r.json()["overdue"] is True


async def test_a_future_actual_date_is_409_on_actual_date(registry):
    """A rule against today, which no schema states: 409, naming the field."""
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _milestone(
            registry,
            project["id"],
            name="竣工验收",
            planned_date="2020-06-30",
            actual_date=str(future_date()),
        )
    body = problem(r, 409)
    assert body["errors"] == [{"field": "actual_date", "message": "in the future"}]

    m = (
        await _milestone(registry, project["id"], name="竣工验收", planned_date="2020-06-30")
    ).json()
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}/milestones/{m['id']}",
            json={"actual_date": str(future_date())},
            headers=COMMANDER,
        )
    body = problem(r, 409)
    assert body["errors"] == [{"field": "actual_date", "message": "in the future"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"planned_date": "2020-06-30"}, "name"),
        ({"name": "", "planned_date": "2020-06-30"}, "name"),
        ({"name": " \u3000\x1c", "planned_date": "2020-06-30"}, "name"),  # whitespace only
        ({"name": "开工"}, "planned_date"),
        ({"name": "开工", "planned_date": "2020-02-30"}, "planned_date"),
        ({"name": "开工", "planned_date": "2020-06-30", "owner": "x"}, "owner"),
    ],
)
async def test_a_malformed_milestone_is_422(registry, body, field):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _milestone(registry, project["id"], **body)
    assert field in error_fields(problem(r, 422))


async def test_a_milestone_update_cannot_clear_the_planned_date(registry):
    project = await create_project(registry)
    m = (await _milestone(registry, project["id"], name="开工", planned_date="2020-06-30")).json()
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}/milestones/{m['id']}",
            json={"planned_date": None},
            headers=COMMANDER,
        )
    assert error_fields(problem(r, 422)) == {"planned_date"}


async def test_a_milestone_of_another_project_is_404(registry):
    one = await create_project(registry)
    other = await create_project(registry)
    m = (await _milestone(registry, one["id"], name="开工", planned_date="2020-06-30")).json()
    async with nothing_written(registry, other["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{other['id']}/milestones/{m['id']}",
            json={"actual_date": "2020-07-01"},
            headers=COMMANDER,
        )
    problem(r, 404)
    r = await registry.client.patch(
        f"/v1/projects/{one['id']}/milestones/no-such-milestone",
        json={"actual_date": "2020-07-01"},
        headers=COMMANDER,
    )
    problem(r, 404)


async def test_a_withdrawn_project_takes_no_new_milestone(registry):
    project = await create_project(registry)
    assert (await move(registry, project["id"], "withdrawn", "2020-05-01")).status_code == 200
    async with nothing_written(registry, project["id"]):
        r = await _milestone(registry, project["id"], name="开工", planned_date="2020-06-30")
    assert "withdrawn" in problem(r, 409)["detail"]


async def test_list_milestones_in_planned_order_with_the_overdue_filter(registry):
    project = await create_project(registry)
    late = (
        await _milestone(registry, project["id"], name="规划许可", planned_date="2020-03-31")
    ).json()
    done = (
        await _milestone(
            registry,
            project["id"],
            name="土地摘牌",
            planned_date="2020-02-28",
            actual_date="2020-02-20",
        )
    ).json()
    ahead = (
        await _milestone(registry, project["id"], name="竣工", planned_date=str(future_date(400)))
    ).json()

    page = await _milestones(registry, project["id"])
    assert page["total"] == 3
    assert [m["id"] for m in page["items"]] == [done["id"], late["id"], ahead["id"]]
    assert [m["overdue"] for m in page["items"]] == [False, True, False]

    overdue = await _milestones(registry, project["id"], overdue="true")
    assert [m["id"] for m in overdue["items"]] == [late["id"]]
    assert overdue["total"] == 1
    on_time = await _milestones(registry, project["id"], overdue="false")
    assert [m["id"] for m in on_time["items"]] == [done["id"], ahead["id"]]

    other = await create_project(registry)
    assert await _milestones(registry, other["id"]) == {"items": [], "total": 0}


# ---------------------------------------------------------------- list changes
async def test_added_puts_a_project_on_the_key_list(registry):
    project = await create_project(registry, level=None)
    before = await outbox_count(registry)
    r = await _change(
        registry, project["id"], kind="added", level="city_key", reason="增补为市重点"
    )
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["project_id"] == project["id"]
    assert (change["kind"], change["from_level"], change["to_level"]) == ("added", None, "city_key")
    assert change["reason"] == "增补为市重点"
    assert change["effective_date"] == "2020-05-01"
    assert change["actor"] == "commander:dev-commander"

    now = await read_project(registry, project["id"])
    assert (now["level"], now["key"], now["version"]) == ("city_key", True, 2)
    event = await one_new_event(registry, before, LIST_CHANGED, now)
    assert event["data"]["kind"] == "added"
    assert (event["data"]["from_level"], event["data"]["to_level"]) == (None, "city_key")
    assert event["data"]["effective_date"] == "2020-05-01"


async def test_adjusted_moves_it_and_withdrawn_takes_it_off(registry):
    project = await create_project(registry, level="county_key")
    r = await _change(registry, project["id"], kind="adjusted", level="provincial_preferred")
    assert r.status_code == 201, r.text
    assert (r.json()["from_level"], r.json()["to_level"]) == ("county_key", "provincial_preferred")
    assert (await read_project(registry, project["id"]))["level"] == "provincial_preferred"

    before = await outbox_count(registry)
    r = await _change(registry, project["id"], kind="withdrawn", effective_date="2020-09-30")
    assert r.status_code == 201, r.text
    assert (r.json()["from_level"], r.json()["to_level"]) == ("provincial_preferred", None)
    now = await read_project(registry, project["id"])
    assert (now["level"], now["key"]) == (None, False)
    assert now["stage"] == "planning"  # leaving the key list is not leaving the library
    await one_new_event(registry, before, LIST_CHANGED, now)


@pytest.mark.parametrize(
    ("level", "body", "words"),
    [
        ("city_key", {"kind": "added", "level": "county_key"}, "use adjusted"),
        ("city_key", {"kind": "adjusted", "level": "city_key"}, "already at level"),
        (None, {"kind": "adjusted", "level": "city_key"}, "use added"),
        (None, {"kind": "withdrawn"}, "nothing to withdraw"),
    ],
)
async def test_a_list_change_that_does_not_fit_is_409(registry, level, body, words):
    project = await create_project(registry, level=level)
    async with nothing_written(registry, project["id"]):
        r = await _change(registry, project["id"], **body)
    assert words in problem(r, 409)["detail"]


@pytest.mark.parametrize(
    ("level", "body", "field"),
    [
        (None, {"kind": "added"}, "level"),  # added needs the new level
        ("city_key", {"kind": "added"}, "level"),  # the schema's if/then speaks before the state
        ("city_key", {"kind": "adjusted"}, "level"),
        ("city_key", {"kind": "withdrawn", "level": "county_key"}, "level"),
        (None, {"kind": "promoted", "level": "city_key"}, "kind"),
        (None, {"kind": "added", "level": "national"}, "level"),
        (None, {"kind": "added", "level": "city_key", "reason": ""}, "reason"),
        (None, {"kind": "added", "level": "city_key", "reason": " \n "}, "reason"),
        (None, {"kind": "added", "level": "city_key", "effective_date": "soon"}, "effective_date"),
    ],
)
async def test_a_malformed_list_change_is_422(registry, level, body, field):
    project = await create_project(registry, level=level)
    async with nothing_written(registry, project["id"]):
        r = await _change(registry, project["id"], **body)
    assert field in error_fields(problem(r, 422))


async def test_a_list_change_without_reason_is_422(registry):
    project = await create_project(registry, level=None)
    async with nothing_written(registry, project["id"]):
        r = await registry.client.post(
            f"/v1/projects/{project['id']}/list-changes",
            json={"kind": "added", "level": "city_key", "effective_date": "2020-05-01"},
            headers=COMMANDER,
        )
    assert "reason" in error_fields(problem(r, 422))


@pytest.mark.parametrize("who", ["own county", "viewer", "department"])
async def test_only_the_command_office_changes_the_list(registry, who):
    from tests.api.registry.helpers import department_token

    headers = {
        "own county": county_token(BINCHENG),
        "viewer": VIEWER,
        "department": department_token(),
    }[who]
    project = await create_project(registry, county=BINCHENG, level=None)
    async with nothing_written(registry, project["id"]):
        r = await _change(
            registry, project["id"], headers=headers, kind="added", level="county_key"
        )
    problem(r, 403)


async def test_a_withdrawn_project_takes_no_list_change(registry):
    project = await create_project(registry, level="city_key")
    assert (await move(registry, project["id"], "withdrawn", "2020-05-01")).status_code == 200
    async with nothing_written(registry, project["id"]):
        r = await _change(registry, project["id"], kind="withdrawn")
    assert "withdrawn" in problem(r, 409)["detail"]


async def test_a_list_change_of_an_unknown_project_is_404(registry):
    problem(await _change(registry, "nope", kind="added", level="city_key"), 404)


async def test_the_key_filter_follows_list_changes(registry):
    tag = unique_name("名单")
    project = await create_project(registry, level=None, tags=[tag])

    async def key_ids(key: str, **more: str) -> list[str]:
        r = await registry.client.get(
            "/v1/projects", params={"tag": tag, "key": key, **more}, headers=COMMANDER
        )
        return [p["id"] for p in r.json()["items"]]

    assert (await key_ids("true"), await key_ids("false")) == ([], [project["id"]])
    await _change(registry, project["id"], kind="added", level="investment_attraction")
    assert (await key_ids("true"), await key_ids("false")) == ([project["id"]], [])
    assert await key_ids("true", level="investment_attraction") == [project["id"]]
    await _change(registry, project["id"], kind="adjusted", level="city_infrastructure")
    assert await key_ids("true", level="investment_attraction") == []
    assert await key_ids("true", level="city_infrastructure") == [project["id"]]
    await _change(registry, project["id"], kind="withdrawn")
    assert (await key_ids("true"), await key_ids("false")) == ([], [project["id"]])


async def test_the_list_change_history(registry):
    project = await create_project(registry, county=BINCHENG, level=None)
    other = await create_project(registry, county=ZOUPING, level=None)
    await _change(
        registry, project["id"], kind="added", level="county_key", effective_date="2020-03-01"
    )
    await _change(
        registry, project["id"], kind="adjusted", level="city_key", effective_date="2020-06-01"
    )
    await _change(registry, project["id"], kind="withdrawn", effective_date="2021-01-15")
    await _change(
        registry, other["id"], kind="added", level="city_key", effective_date="2020-04-01"
    )

    r = await registry.client.get(f"/v1/projects/{project['id']}/list-changes", headers=COMMANDER)
    assert r.status_code == 200, r.text
    history = r.json()
    assert history["total"] == 3
    assert [
        (c["kind"], c["from_level"], c["to_level"], c["effective_date"]) for c in history["items"]
    ] == [
        ("added", None, "county_key", "2020-03-01"),
        ("adjusted", "county_key", "city_key", "2020-06-01"),
        ("withdrawn", "city_key", None, "2021-01-15"),
    ]

    # the county sees its own project's history, not another county's
    own = county_token(BINCHENG)
    r = await registry.client.get(f"/v1/projects/{project['id']}/list-changes", headers=own)
    assert r.json()["total"] == 3
    r = await registry.client.get(f"/v1/projects/{other['id']}/list-changes", headers=own)
    problem(r, 404)

    # across projects, by the year of the effective date
    r = await registry.client.get("/v1/list-changes", params={"year": 2020}, headers=COMMANDER)
    assert [(c["project_id"], c["effective_date"]) for c in r.json()["items"]] == [
        (project["id"], "2020-03-01"),
        (other["id"], "2020-04-01"),
        (project["id"], "2020-06-01"),
    ]
    r = await registry.client.get("/v1/list-changes", headers=COMMANDER)
    assert r.json()["total"] == 4
    r = await registry.client.get("/v1/list-changes", headers=own)
    assert {c["project_id"] for c in r.json()["items"]} == {project["id"]}
    assert r.json()["total"] == 3
