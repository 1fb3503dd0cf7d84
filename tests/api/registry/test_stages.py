"""The four-batch stage 四个一批 through POST /v1/projects/{id}/stage: forward moves only,
withdrawn 退出 from any stage but completed, nothing leaves withdrawn or completed."""

from __future__ import annotations

import pytest

from tests.api.registry.helpers import (
    BINCHENG,
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
)

STAGE_CHANGED = "kuaiche.project.stage_changed.v1"


async def _at(registry, stage: str) -> dict:
    """A fresh project at `stage`, reached by the API's own moves."""
    project = await create_project(registry)
    path = {
        "planning": [],
        "reserve": [("reserve", "2020-01-10")],
        "started": [("reserve", "2020-01-10"), ("started", "2020-03-15")],
        "completed": [
            ("reserve", "2020-01-10"),
            ("started", "2020-03-15"),
            ("completed", "2020-11-30"),
        ],
        "withdrawn": [("withdrawn", "2020-02-01")],
    }[stage]
    for to, date in path:
        r = await move(registry, project["id"], to, date)
        assert r.status_code == 200, r.text
    return await read_project(registry, project["id"])


# ---------------------------------------------------------------- allowed moves
async def test_planning_to_reserve_records_no_date_and_emits_stage_changed(registry):
    project = await create_project(registry)
    before = await outbox_count(registry)
    r = await move(registry, project["id"], "reserve", "2020-01-10", reason="可研批复")
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    body = r.json()
    assert (body["stage"], body["stage_label"], body["version"]) == ("reserve", "储备", 2)
    assert body["actual_start"] is None

    now = await read_project(registry, project["id"])
    event = await one_new_event(registry, before, STAGE_CHANGED, now)
    assert event["data"]["from_stage"] == "planning"
    assert event["data"]["to_stage"] == "reserve"
    assert event["data"]["date"] == "2020-01-10"
    assert event["data"]["reason"] == "可研批复"
    assert event["data"]["track"] == "implementation"
    assert event["data"]["level"] == "city_key"


@pytest.mark.parametrize("start_from", ["planning", "reserve"])
async def test_started_records_the_actual_start(registry, start_from):
    project = await _at(registry, start_from)
    before = await outbox_count(registry)
    r = await move(registry, project["id"], "started", "2020-03-15")
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "started"
    assert r.json()["actual_start"] == "2020-03-15"

    now = await read_project(registry, project["id"])
    assert now["actual_start"] == "2020-03-15"
    event = await one_new_event(registry, before, STAGE_CHANGED, now)
    assert event["data"]["from_stage"] == start_from
    assert event["data"]["actual_start"] == "2020-03-15"
    assert event["data"]["planned_start"] == "2020-03-01"


async def test_started_to_completed_records_the_completion(registry):
    project = await _at(registry, "started")
    before = await outbox_count(registry)
    r = await move(registry, project["id"], "completed", "2020-11-30")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["stage"], body["stage_label"]) == ("completed", "竣工")
    assert (body["actual_start"], body["actual_completion"]) == ("2020-03-15", "2020-11-30")
    event = await one_new_event(
        registry, before, STAGE_CHANGED, await read_project(registry, project["id"])
    )
    assert event["data"]["actual_completion"] == "2020-11-30"


async def test_completed_on_its_start_day_is_allowed(registry):
    project = await _at(registry, "started")
    r = await move(registry, project["id"], "completed", "2020-03-15")
    assert r.status_code == 200, r.text


async def test_a_move_dated_today_is_allowed(registry):
    project = await create_project(registry)
    r = await move(registry, project["id"], "started", today())
    assert r.status_code == 200, r.text
    assert r.json()["actual_start"] == today().isoformat()


async def test_a_county_moves_its_own_project(registry):
    project = await create_project(registry, county=BINCHENG)
    before = await outbox_count(registry)
    r = await move(registry, project["id"], "started", "2020-04-01", headers=county_token(BINCHENG))
    assert r.status_code == 200, r.text
    now = await read_project(registry, project["id"])
    await one_new_event(registry, before, STAGE_CHANGED, now, actor=county_actor(BINCHENG))
    assert now["stage_history"][-1]["actor"] == county_actor(BINCHENG)


# ---------------------------------------------------------------- refused moves
async def test_completed_before_the_start_date_is_409_on_date(registry):
    """The move's date against the project's start: 409."""
    project = await _at(registry, "started")
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], "completed", "2020-03-14")
    body = problem(r, 409)
    assert error_fields(body) == {"date"}
    assert "2020-03-15" in body["detail"]


@pytest.mark.parametrize("start_from", ["planning", "reserve"])
async def test_completed_without_a_start_is_409(registry, start_from):
    project = await _at(registry, start_from)
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], "completed", "2020-11-30")
    assert "started before it is completed" in problem(r, 409)["detail"]


@pytest.mark.parametrize(
    ("start_from", "to"),
    [
        ("reserve", "planning"),
        ("started", "reserve"),
        ("started", "planning"),
        ("completed", "started"),
        ("completed", "reserve"),
        ("completed", "planning"),
    ],
)
async def test_a_backward_move_is_409_with_the_reason(registry, start_from, to):
    project = await _at(registry, start_from)
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], to, "2020-12-01")
    detail = problem(r, 409)["detail"]
    if start_from == "completed":
        assert "completed is final" in detail
    else:
        assert "only move forward" in detail
        assert to in detail


@pytest.mark.parametrize("stage", ["planning", "reserve", "started", "completed"])
async def test_moving_to_the_current_stage_is_409(registry, stage):
    project = await _at(registry, stage)
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], stage, "2020-12-01")
    assert "already" in problem(r, 409)["detail"]


@pytest.mark.parametrize("start_from", ["planning", "reserve", "started"])
async def test_withdrawn_is_allowed_from_any_stage_but_completed(registry, start_from):
    project = await _at(registry, start_from)
    before = await outbox_count(registry)
    r = await move(registry, project["id"], "withdrawn", "2020-06-30", reason="企业投资意向变化")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["stage"], body["stage_label"]) == ("withdrawn", "退出")
    assert body["withdrawn_on"] == "2020-06-30"
    # a started project keeps the start it had
    assert body["actual_start"] == ("2020-03-15" if start_from == "started" else None)
    now = await read_project(registry, project["id"])
    event = await one_new_event(registry, before, STAGE_CHANGED, now)
    assert (event["data"]["from_stage"], event["data"]["to_stage"]) == (start_from, "withdrawn")
    assert event["data"]["reason"] == "企业投资意向变化"


async def test_a_completed_project_cannot_be_withdrawn(registry):
    project = await _at(registry, "completed")
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], "withdrawn", "2020-12-01")
    assert "completed is final" in problem(r, 409)["detail"]


@pytest.mark.parametrize("to", ["planning", "reserve", "started", "completed", "withdrawn"])
async def test_nothing_leaves_withdrawn(registry, to):
    project = await _at(registry, "withdrawn")
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], to, "2020-12-01")
    detail = problem(r, 409)["detail"]
    assert "withdrawn" in detail


@pytest.mark.parametrize(
    ("start_from", "to"),
    [
        ("planning", "reserve"),
        ("planning", "started"),
        ("reserve", "started"),
        ("started", "completed"),
        ("started", "withdrawn"),
    ],
)
async def test_a_future_date_is_409_on_date(registry, start_from, to):
    """A rule against today, which no schema states: 409."""
    project = await _at(registry, start_from)
    async with nothing_written(registry, project["id"]):
        r = await move(registry, project["id"], to, future_date())
    body = problem(r, 409)
    assert error_fields(body) == {"date"}
    assert "future" in body["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": "started"}, "date"),
        ({"date": "2020-03-01"}, "stage"),
        ({"stage": "building", "date": "2020-03-01"}, "stage"),
        ({"stage": "started", "date": "2020-02-30"}, "date"),
        ({"stage": "started", "date": "2020-03-01", "actual_start": "2020-03-01"}, "actual_start"),
    ],
)
async def test_a_malformed_move_is_422_on_the_field(registry, body, field):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await registry.client.post(
            f"/v1/projects/{project['id']}/stage", json=body, headers=county_token(BINCHENG)
        )
    assert field in error_fields(problem(r, 422))


async def test_a_move_of_an_unknown_project_is_404(registry):
    problem(await move(registry, "no-such-project", "reserve", "2020-01-01"), 404)


# ---------------------------------------------------------------- history
async def test_the_stage_history_is_visible_on_the_project(registry):
    project = await create_project(registry)
    await move(registry, project["id"], "reserve", "2020-01-10", reason="入库")
    await move(registry, project["id"], "started", "2020-03-15", reason="开工仪式")
    r = await move(registry, project["id"], "reserve", "2020-04-01")  # refused: not in history
    assert r.status_code == 409
    await move(registry, project["id"], "completed", "2020-11-30")

    history = (await read_project(registry, project["id"]))["stage_history"]
    assert [(h["from_stage"], h["to_stage"], h["date"], h["reason"]) for h in history] == [
        (None, "planning", today().isoformat(), "registered"),
        ("planning", "reserve", "2020-01-10", "入库"),
        ("reserve", "started", "2020-03-15", "开工仪式"),
        ("started", "completed", "2020-11-30", None),
    ]
    assert all(h["actor"] == "commander:dev-commander" and h["at"] for h in history)
    assert (await read_project(registry, project["id"]))["version"] == 4


async def test_the_stage_filter_follows_moves(registry):
    project = await create_project(registry, tags=["阶段筛选"])
    await move(registry, project["id"], "started", "2020-03-15")
    r = await registry.client.get(
        "/v1/projects",
        params={"tag": "阶段筛选", "stage": "started"},
        headers=county_token(BINCHENG),
    )
    assert [p["id"] for p in r.json()["items"]] == [project["id"]]
