"""Projects: create, read, list with filters, and PATCH with If-Match."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.registry.helpers import (
    BINCHENG,
    BOXING,
    ZHANHUA,
    ZOUPING,
    create_project,
    error_fields,
    events_since,
    future_date,
    has_error,
    nothing_written,
    one_new_event,
    outbox_count,
    problem,
    project_body,
    read_project,
    unique_code,
    unique_name,
)
from tests.conftest import COMMANDER

REGISTERED = "kuaiche.project.registered.v1"
UPDATED = "kuaiche.project.updated.v1"


def _floats(value: Any, path: str = "$") -> list[str]:
    """Paths of every JSON float in a decoded body."""
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _floats(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _floats(v, f"{path}[{i}]")]
    return []


# ---------------------------------------------------------------- create
async def test_create_answers_201_with_the_project_its_location_and_etag(registry):
    before = await outbox_count(registry)
    body = project_body(
        code=unique_code(),
        service_officer="李明",
        content="新建厂房3万平方米",
        location={"lng": "117.9708", "lat": "37.3817"},
    )
    r = await registry.client.post("/v1/projects", json=body, headers=COMMANDER)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["version"] == 1
    assert r.headers["location"] == f"/v1/projects/{created['id']}"
    assert r.headers["etag"] == '"1"'

    project = await read_project(registry, created["id"])
    assert created == project  # the answer is the project as GET shows it
    assert [h["reason"] for h in project["stage_history"]] == ["registered"]
    for field in ("name", "county", "level", "track", "code", "owner", "leader", "industry"):
        assert project[field] == body[field], field
    assert project["stage"] == "planning"
    assert project["stage_label"] == "谋划"
    assert project["level_label"] == "市重点"
    assert project["key"] is True
    assert project["county_name"] == "滨城区"
    assert project["tags"] == ["新基建"]
    assert project["service_officer"] == "李明"
    assert project["content"] == "新建厂房3万平方米"
    assert project["location"] == {"lng": "117.9708", "lat": "37.3817"}
    assert project["version"] == 1

    event = await one_new_event(registry, before, REGISTERED, project)
    assert event["sequence"] == 1
    assert event["data"]["name"] == body["name"]
    assert event["data"]["total_investment"] == "12000.5"
    assert event["data"]["stage"] == "planning"


async def test_a_project_without_level_is_in_the_library_but_not_key(registry):
    project = await create_project(registry, level=None)
    assert project["level"] is None
    assert project["level_label"] is None
    assert project["key"] is False


async def test_amounts_travel_as_decimal_strings_never_floats(registry):
    project = await create_project(
        registry, total_investment="12000.50", location={"lng": "117.5", "lat": "37.25"}
    )
    assert project["total_investment"] == "12000.5"
    assert _floats(project) == []

    whole = await create_project(registry, total_investment="3603.0000")
    assert whole["total_investment"] == "3603"

    r = await registry.client.get("/v1/projects", headers=COMMANDER)
    assert _floats(r.json()) == []


@pytest.mark.parametrize(
    ("amount", "why"),
    [("-1", "negative"), ("1.23456", "more than 4 decimal places"), ("abc", "not a number")],
)
async def test_a_bad_amount_is_422_on_total_investment(registry, amount, why):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(total_investment=amount), headers=COMMANDER
        )
    body = problem(r, 422)
    assert "total_investment" in error_fields(body), why


async def test_an_old_county_code_resolves_to_the_current_division(registry):
    project = await create_project(registry, county="371624")
    assert project["county"] == ZHANHUA
    assert project["county_name"] == "沾化区"
    zouping = await create_project(registry, county="371626")
    assert zouping["county"] == ZOUPING


async def test_an_unknown_county_is_409_on_county(registry):
    """The region table is configuration, which no schema states: 409."""
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(county="371699"), headers=COMMANDER
        )
    body = problem(r, 409)
    assert has_error(body, "county", "371699")


async def test_a_county_that_is_not_six_digits_is_422(registry):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(county="滨城"), headers=COMMANDER
        )
    assert "county" in error_fields(problem(r, 422))


@pytest.mark.parametrize(
    "code",
    [
        "2104-37160-04-01-52874K",  # region of five digits
        "2104-371602-04-01-52874",  # serial too short
        "2104-371602-4-01-52874K",  # industry of one digit
        "21043716020401528740",  # no dashes
        "2015-371602-04-01-000001",  # 2015: not an old-format year, and month 15 does not exist
        "2010-371602-04-01-52874K",  # Oct 2020: before the new format began (Nov 2020)
        "2113-371602-04-01-52874K",  # month 13
        "2104-371602-04-01-5287_K",  # a character outside 0-9A-Z
    ],
)
async def test_an_invalid_national_code_is_422_on_code(registry, code):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(code=code), headers=COMMANDER
        )
    body = problem(r, 422)
    assert error_fields(body) == {"code"}
    assert code[:4] in body["detail"] or "shape" in body["detail"]


async def test_a_new_format_code_is_parsed(registry):
    code = unique_code("new", region="371681")
    project = await create_project(registry, county=ZOUPING, code=code)
    assert project["code"] == code
    assert project["code_info"] == {
        "format": "new",
        "year": 2021,
        "month": 4,
        "region": "371681",
    }


async def test_an_old_format_code_is_parsed_and_keeps_its_old_region(registry):
    code = unique_code("old", region="371624")
    project = await create_project(registry, county="371624", code=code)
    assert project["county"] == ZHANHUA
    assert project["code_info"] == {
        "format": "old",
        "year": 2019,
        "month": None,
        "region": "371624",
    }


async def test_a_code_is_stored_trimmed_and_upper_case(registry):
    code = unique_code()
    project = await create_project(registry, code=f"  {code.lower()} ")
    assert project["code"] == code


async def test_a_project_without_code_has_no_code_info(registry):
    project = await create_project(registry)
    assert project["code"] is None
    assert project["code_info"] is None


async def test_a_duplicate_code_is_409_and_writes_nothing(registry):
    code = unique_code()
    first = await create_project(registry, code=code)
    async with nothing_written(registry, first["id"]):
        r = await registry.client.post(
            "/v1/projects", json=project_body(code=code.lower()), headers=COMMANDER
        )
    body = problem(r, 409)
    assert code in body["detail"]


async def test_planned_completion_before_planned_start_is_409(registry):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects",
            json=project_body(planned_start="2020-06-01", planned_completion="2020-05-31"),
            headers=COMMANDER,
        )
    assert has_error(problem(r, 409), "planned_completion", "planned_start")


async def test_created_as_started_needs_its_actual_start(registry):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(stage="started"), headers=COMMANDER
        )
    body = problem(r, 409)  # a rule across fields: 409
    assert has_error(body, "actual_start", "start date")

    project = await create_project(registry, stage="started", actual_start="2020-03-15")
    assert project["stage"] == "started"
    assert project["actual_start"] == "2020-03-15"
    assert [h["to_stage"] for h in project["stage_history"]] == ["started"]
    assert project["stage_history"][0]["from_stage"] is None
    assert project["stage_history"][0]["date"] == "2020-03-15"
    # the answer's history (the registration's own entry) is the history as GET reads it
    assert project == await read_project(registry, project["id"])


async def test_created_as_completed_needs_both_dates_in_order(registry):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects",
            json=project_body(stage="completed", actual_start="2020-03-15"),
            headers=COMMANDER,
        )
    assert has_error(problem(r, 409), "actual_completion", "completion date")

    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects",
            json=project_body(
                stage="completed", actual_start="2020-03-15", actual_completion="2020-03-14"
            ),
            headers=COMMANDER,
        )
    assert has_error(problem(r, 409), "actual_completion", "before")

    project = await create_project(
        registry, stage="completed", actual_start="2019-03-15", actual_completion="2020-10-01"
    )
    assert (project["actual_start"], project["actual_completion"]) == ("2019-03-15", "2020-10-01")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"stage": "planning", "actual_start": "2020-03-15"}, "actual_start", "not started"),
        ({"stage": "reserve", "actual_completion": "2020-03-15"}, "actual_completion", "not"),
        ({"stage": "started", "actual_start": "FUTURE"}, "actual_start", "in the future"),
    ],
)
async def test_a_created_stage_must_match_its_dates(registry, overrides, field, words):
    """The dates a stage implies, a rule across fields and against today: 409."""
    if overrides.get("actual_start") == "FUTURE":
        overrides = {**overrides, "actual_start": str(future_date())}
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(**overrides), headers=COMMANDER
        )
    assert has_error(problem(r, 409), field, words)


async def test_a_project_is_not_created_withdrawn(registry):
    """The schema's enum of initial stages leaves withdrawn out: 422."""
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(stage="withdrawn"), headers=COMMANDER
        )
    assert has_error(problem(r, 422), "stage", "cannot be created as withdrawn")


async def test_missing_required_fields_and_unknown_fields_are_422(registry):
    async with nothing_written(registry):
        r = await registry.client.post("/v1/projects", json={"county": BINCHENG}, headers=COMMANDER)
    body = problem(r, 422)
    assert {"name", "track", "total_investment"} <= error_fields(body)

    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(colour="red"), headers=COMMANDER
        )
    assert "colour" in error_fields(problem(r, 422))

    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(level="national"), headers=COMMANDER
        )
    assert "level" in error_fields(problem(r, 422))


async def test_a_body_that_is_not_json_is_422_problem(registry):
    r = await registry.client.post(
        "/v1/projects",
        content=b"{not json",
        headers={**COMMANDER, "content-type": "application/json"},
    )
    problem(r, 422)


# ---------------------------------------------------------------- read one
async def test_get_one_has_etag_and_stage_history(registry):
    project = await create_project(registry)
    r = await registry.client.get(f"/v1/projects/{project['id']}", headers=COMMANDER)
    assert r.headers["etag"] == '"1"'
    history = r.json()["stage_history"]
    assert len(history) == 1
    assert history[0]["to_stage"] == "planning"
    assert history[0]["actor"] == "commander:dev-commander"


async def test_an_unknown_project_is_404_problem(registry):
    r = await registry.client.get("/v1/projects/does-not-exist", headers=COMMANDER)
    body = problem(r, 404)
    assert "does-not-exist" in body["detail"]


# ---------------------------------------------------------------- list
async def test_list_filters(registry):
    tag = unique_name("标签")
    code = unique_code()
    name_word = unique_name("智慧物流")
    a = await create_project(
        registry,
        name=f"{name_word}园",
        county=BINCHENG,
        level="city_key",
        track="implementation",
        tags=[tag, "新基建"],
        code=code,
    )
    b = await create_project(
        registry,
        county="371624",
        level=None,
        track="preparation",
        stage="reserve",
        tags=[tag],
    )
    c = await create_project(
        registry,
        county=ZOUPING,
        level="provincial_major_construction",
        stage="started",
        actual_start="2020-03-01",
        tags=[tag, "补短板"],
    )
    await create_project(registry, county=BOXING)  # no tag: never in these answers

    async def ids(**params: Any) -> list[str]:
        r = await registry.client.get(
            "/v1/projects", params={"tag": tag, **params}, headers=COMMANDER
        )
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "total"}
        assert page["total"] == len(page["items"])
        return [p["id"] for p in page["items"]]

    assert await ids() == [a["id"], b["id"], c["id"]]
    assert await ids(county=BINCHENG) == [a["id"]]
    assert await ids(county=ZHANHUA) == [b["id"]]
    assert await ids(county="371624") == [b["id"]]  # an old code filters its division
    assert await ids(level="provincial_major_construction") == [c["id"]]
    assert await ids(key="true") == [a["id"], c["id"]]
    assert await ids(key="false") == [b["id"]]
    assert await ids(stage="reserve") == [b["id"]]
    assert await ids(stage="started") == [c["id"]]
    assert await ids(stage="completed") == []
    assert await ids(track="preparation") == [b["id"]]
    assert await ids(track="implementation") == [a["id"], c["id"]]
    assert await ids(q=name_word) == [a["id"]]
    assert await ids(q=code[-6:].lower()) == [a["id"]]  # q matches the code too
    assert await ids(key="true", county=ZOUPING, track="implementation") == [c["id"]]

    r = await registry.client.get("/v1/projects", params={"tag": "补短板"}, headers=COMMANDER)
    assert [p["id"] for p in r.json()["items"]] == [c["id"]]


async def test_list_pages_with_limit_and_offset(registry):
    tag = unique_name("分页")
    created = [(await create_project(registry, tags=[tag]))["id"] for _ in range(5)]
    # the same answers with and without the tag filter (two query paths in the service)
    for params in ({"tag": tag}, {}):
        seen: list[str] = []
        for offset in (0, 2, 4):
            r = await registry.client.get(
                "/v1/projects", params={**params, "limit": 2, "offset": offset}, headers=COMMANDER
            )
            page = r.json()
            assert page["total"] == 5
            assert len(page["items"]) == (2 if offset < 4 else 1)
            seen += [p["id"] for p in page["items"]]
        assert seen == created
        r = await registry.client.get(
            "/v1/projects", params={**params, "limit": 2, "offset": 10}, headers=COMMANDER
        )
        assert r.json() == {"items": [], "total": 5}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"stage": "building"}, "stage"),
        ({"level": "national"}, "level"),
        ({"track": "fast"}, "track"),
        ({"key": "maybe"}, "key"),
    ],
)
async def test_a_bad_list_parameter_is_422_on_it(registry, params, field):
    r = await registry.client.get("/v1/projects", params=params, headers=COMMANDER)
    assert field in error_fields(problem(r, 422))


async def test_listing_an_unknown_county_is_409(registry):
    """The region table is configuration, which no schema states: 409."""
    r = await registry.client.get("/v1/projects", params={"county": "371699"}, headers=COMMANDER)
    assert has_error(problem(r, 409), "county", "371699")


# ---------------------------------------------------------------- patch
async def test_patch_with_if_match_bumps_version_and_emits_updated(registry):
    project = await create_project(registry)
    before = await outbox_count(registry)
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}",
        json={"total_investment": "15000", "leader": "张副市长", "tags": ["补短板", "新基建"]},
        headers={**COMMANDER, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    body = r.json()
    assert body["version"] == 2
    assert body["total_investment"] == "15000"
    assert body["leader"] == "张副市长"
    assert body["tags"] == ["补短板", "新基建"]
    assert body["name"] == project["name"]  # untouched fields stay

    now = await read_project(registry, project["id"])
    assert now["version"] == 2
    event = await one_new_event(registry, before, UPDATED, now)
    assert event["data"]["changed"] == ["leader", "tags", "total_investment"]
    assert event["data"]["total_investment"] == "15000"


async def test_patch_accepts_a_bare_or_weak_version(registry):
    project = await create_project(registry)
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}",
        json={"owner": "甲公司"},
        headers={**COMMANDER, "If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}",
        json={"owner": "乙公司"},
        headers={**COMMANDER, "If-Match": 'W/"2"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3


async def test_patch_changing_the_code_reparses_it(registry):
    project = await create_project(registry)
    code = unique_code("old", region="371602")
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}", json={"code": code}, headers={**COMMANDER, "If-Match": "1"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["code_info"] == {
        "format": "old",
        "year": 2019,
        "month": None,
        "region": BINCHENG,
    }


async def test_patch_with_a_stale_version_is_412_and_writes_nothing(registry):
    project = await create_project(registry)
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}",
        json={"owner": "甲"},
        headers={**COMMANDER, "If-Match": "1"},
    )
    assert r.status_code == 200
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}",
            json={"owner": "乙"},
            headers={**COMMANDER, "If-Match": '"1"'},
        )
    body = problem(r, 412)
    assert body["current_version"] == 2
    assert "version 2" in body["detail"]


async def test_patch_without_if_match_is_428(registry):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}", json={"owner": "甲"}, headers=COMMANDER
        )
    assert "If-Match" in problem(r, 428)["detail"]


async def test_patch_with_a_malformed_if_match_is_422(registry):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}",
            json={"owner": "甲"},
            headers={**COMMANDER, "If-Match": "*"},
        )
    assert "If-Match" in error_fields(problem(r, 422))


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"level": "county_key"}, "level"),  # only through list changes
        ({"stage": "started"}, "stage"),  # only through stage moves
        ({"county": ZOUPING}, "county"),  # a project stays in its county
        ({"actual_start": "2020-01-01"}, "actual_start"),
        ({"version": 7}, "version"),
        ({"total_investment": "-5"}, "total_investment"),
        ({"track": "fast"}, "track"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"track": None}, "track"),
        ({"total_investment": None}, "total_investment"),
        ({"code": "2104-1"}, "code"),
        ({"code": "2104-371602-04-01-52874ı"}, "code"),  # no ASCII letter, though it upper-cases
        ({"tags": [" "]}, "tags.0"),
    ],
)
async def test_a_bad_patch_is_422_on_the_field_and_writes_nothing(registry, patch, field):
    project = await create_project(registry, planned_start="2020-03-01")
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}", json=patch, headers={**COMMANDER, "If-Match": "1"}
        )
    assert field in error_fields(problem(r, 422))


async def test_a_patch_that_breaks_the_planned_dates_is_409(registry):
    """The change against the dates the project has: a rule across fields, 409."""
    project = await create_project(registry, planned_start="2020-03-01")
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}",
            json={"planned_completion": "2020-02-01"},
            headers={**COMMANDER, "If-Match": "1"},
        )
    assert has_error(problem(r, 409), "planned_completion", "planned_start")


async def test_patch_to_a_code_another_project_has_is_409(registry):
    code = unique_code()
    await create_project(registry, code=code)
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await registry.client.patch(
            f"/v1/projects/{project['id']}",
            json={"code": code},
            headers={**COMMANDER, "If-Match": "1"},
        )
    assert code in problem(r, 409)["detail"]


async def test_patch_that_changes_nothing_keeps_the_version_and_emits_nothing(registry):
    project = await create_project(registry)
    before = await outbox_count(registry)
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}",
        json={"name": project["name"], "leader": project["leader"]},
        headers={**COMMANDER, "If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert r.headers["etag"] == '"1"'
    assert await events_since(registry, before) == []


async def test_patch_can_clear_an_optional_field(registry):
    project = await create_project(registry, location={"lng": "117.1", "lat": "37.1"})
    r = await registry.client.patch(
        f"/v1/projects/{project['id']}",
        json={"leader": None, "location": None, "tags": None},
        headers={**COMMANDER, "If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["leader"], body["location"], body["tags"]) == (None, None, [])


async def test_patch_of_an_unknown_project_is_404(registry):
    r = await registry.client.patch(
        "/v1/projects/nope", json={"owner": "甲"}, headers={**COMMANDER, "If-Match": "1"}
    )
    problem(r, 404)
