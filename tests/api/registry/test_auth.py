"""The auth matrix: no or bad token 401; a county reads and writes only its own division
(others' projects 404 on read, 403 on write); viewers and departments only read; the command
office does everything. Plus the ops endpoints and the region table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.api.registry.helpers import (
    BINCHENG,
    ZHANHUA,
    ZOUPING,
    county_token,
    create_project,
    department_token,
    nothing_written,
    problem,
    project_body,
    read_project,
)
from tests.conftest import COMMANDER, VIEWER
from tests.support.tokens import BAD_TOKENS

WHO: dict[str, Callable[[], dict[str, str]]] = {
    "commander": lambda: COMMANDER,
    "own county": lambda: county_token(BINCHENG),
    "other county": lambda: county_token(ZOUPING),
    "viewer": lambda: VIEWER,
    "department": lambda: department_token(),
}


async def _setup(registry) -> tuple[dict[str, Any], str]:
    """A 滨城区 project with one milestone."""
    project = await create_project(registry, county=BINCHENG)
    r = await registry.client.post(
        f"/v1/projects/{project['id']}/milestones",
        json={"name": "土地摘牌", "planned_date": "2020-04-30"},
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text
    return await read_project(registry, project["id"]), r.json()["id"]


# ---------------------------------------------------------------- 401
PROTECTED = [
    ("GET", "/v1/projects"),
    ("POST", "/v1/projects"),
    ("GET", "/v1/projects/some-id"),
    ("PATCH", "/v1/projects/some-id"),
    ("POST", "/v1/projects/some-id/stage"),
    ("GET", "/v1/regions"),
    ("GET", "/v1/list-changes"),
    ("GET", "/v1/projects/import/template"),
]


def _www_authenticate(r: httpx.Response) -> None:
    body = problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert body["title"] == "Unauthenticated"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_no_token_is_401_with_www_authenticate(registry, method, path):
    async with nothing_written(registry):
        r = await registry.client.request(method, path, json={})
    _www_authenticate(r)


@pytest.mark.parametrize("scheme", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc"])
async def test_another_scheme_or_an_empty_bearer_is_401(registry, scheme):
    r = await registry.client.get("/v1/projects", headers={"Authorization": scheme})
    _www_authenticate(r)


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_a_bad_token_is_401(registry, kind):
    headers = {"Authorization": f"Bearer {BAD_TOKENS[kind]}"}
    r = await registry.client.get("/v1/projects", headers=headers)
    _www_authenticate(r)
    async with nothing_written(registry):
        r = await registry.client.post("/v1/projects", json=project_body(), headers=headers)
    _www_authenticate(r)


async def test_an_expired_token_says_so(registry):
    r = await registry.client.get(
        "/v1/projects", headers={"Authorization": f"Bearer {BAD_TOKENS['expired']}"}
    )
    assert "expired" in problem(r, 401)["detail"]


async def test_a_bad_token_on_a_bad_body_is_still_401_first(registry):
    r = await registry.client.post(
        "/v1/projects",
        json={"nonsense": True},
        headers={"Authorization": f"Bearer {BAD_TOKENS['garbage']}"},
    )
    # a caller who is not authenticated learns nothing about the body's shape either
    _www_authenticate(r)


# ---------------------------------------------------------------- reads
READS = {
    "project": lambda pid: f"/v1/projects/{pid}",
    "progress": lambda pid: f"/v1/projects/{pid}/progress?year=2020",
    "milestones": lambda pid: f"/v1/projects/{pid}/milestones",
    "list changes": lambda pid: f"/v1/projects/{pid}/list-changes",
}


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("commander", 200),
        ("own county", 200),
        ("other county", 404),
        ("viewer", 200),
        ("department", 200),
    ],
)
async def test_read_matrix(registry, read, who, status):
    project, _ = await _setup(registry)
    r = await registry.client.get(READS[read](project["id"]), headers=WHO[who]())
    if status == 404:
        body = problem(r, 404)
        assert project["id"] in body["detail"]
        assert BINCHENG not in body["detail"]  # nothing about whose it is
    else:
        assert r.status_code == status, r.text


async def test_a_county_lists_only_its_own_division(registry):
    own = await create_project(registry, county=BINCHENG)
    other = await create_project(registry, county=ZOUPING)
    headers = county_token(BINCHENG)

    r = await registry.client.get("/v1/projects", headers=headers)
    ids = [p["id"] for p in r.json()["items"]]
    assert own["id"] in ids
    assert other["id"] not in ids
    assert {p["county"] for p in r.json()["items"]} == {BINCHENG}
    assert r.json()["total"] == len(ids)

    r = await registry.client.get("/v1/projects", params={"county": ZOUPING}, headers=headers)
    assert r.status_code == 200
    assert r.json() == {"items": [], "total": 0}
    r = await registry.client.get("/v1/projects", params={"q": other["name"]}, headers=headers)
    assert r.json() == {"items": [], "total": 0}
    r = await registry.client.get("/v1/projects", params={"county": BINCHENG}, headers=headers)
    assert [p["id"] for p in r.json()["items"]] == ids

    r = await registry.client.get("/v1/projects", headers=COMMANDER)
    assert {own["id"], other["id"]} <= {p["id"] for p in r.json()["items"]}


async def test_a_county_under_its_old_code_is_its_division(registry):
    own = await create_project(registry, county=ZHANHUA)
    headers = county_token(ZHANHUA)
    r = await registry.client.get("/v1/projects", params={"county": "371624"}, headers=headers)
    assert [p["id"] for p in r.json()["items"]] == [own["id"]]
    r = await registry.client.post(
        "/v1/projects", json=project_body(county="371624"), headers=headers
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("who", ["viewer", "department"])
async def test_readers_see_every_county(registry, who):
    a = await create_project(registry, county=BINCHENG)
    b = await create_project(registry, county=ZOUPING)
    r = await registry.client.get("/v1/projects", headers=WHO[who]())
    assert {a["id"], b["id"]} <= {p["id"] for p in r.json()["items"]}


# ---------------------------------------------------------------- writes
Write = Callable[
    [httpx.AsyncClient, dict[str, Any], str, dict[str, str]], Awaitable[httpx.Response]
]


def _patch(c, p, _m, h):
    return c.patch(
        f"/v1/projects/{p['id']}",
        json={"owner": "新项目单位"},
        headers={**h, "If-Match": str(p["version"])},
    )


def _stage(c, p, _m, h):
    return c.post(
        f"/v1/projects/{p['id']}/stage", json={"stage": "reserve", "date": "2020-01-10"}, headers=h
    )


def _report(c, p, _m, h):
    body = {"period": "2020-04", "ytd_investment": "300", "month_investment": "100"}
    return c.post(f"/v1/projects/{p['id']}/reports", json=body, headers=h)


def _plan(c, p, _m, h):
    body = {"annual_investment": "1200", "monthly_targets": {"12": "1200"}}
    return c.put(f"/v1/projects/{p['id']}/plans/2020", json=body, headers=h)


def _milestone(c, p, _m, h):
    body = {"name": "施工许可", "planned_date": "2020-05-31"}
    return c.post(f"/v1/projects/{p['id']}/milestones", json=body, headers=h)


def _milestone_update(c, p, m, h):
    return c.patch(
        f"/v1/projects/{p['id']}/milestones/{m}", json={"actual_date": "2020-04-28"}, headers=h
    )


WRITES: dict[str, tuple[Write, int]] = {
    "patch": (_patch, 200),
    "stage": (_stage, 200),
    "report": (_report, 201),
    "plan": (_plan, 200),
    "milestone": (_milestone, 201),
    "milestone update": (_milestone_update, 200),
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("who", ["commander", "own county", "other county", "viewer", "department"])
async def test_write_matrix(registry, write, who):
    project, milestone = await _setup(registry)
    call, ok = WRITES[write]
    if who in ("commander", "own county"):
        r = await call(registry.client, project, milestone, WHO[who]())
        assert r.status_code == ok, r.text
        assert (await read_project(registry, project["id"]))["version"] == project["version"] + 1
    else:
        async with nothing_written(registry, project["id"]):
            r = await call(registry.client, project, milestone, WHO[who]())
        body = problem(r, 403)
        assert body["title"] == "Forbidden"


async def test_a_write_to_a_project_that_does_not_exist_is_404_for_everyone(registry):
    for who in ("commander", "own county"):
        r = await registry.client.post(
            "/v1/projects/nope/stage",
            json={"stage": "reserve", "date": "2020-01-10"},
            headers=WHO[who](),
        )
        problem(r, 404)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("commander", 201),
        ("own county", 201),
        ("other county", 403),
        ("viewer", 403),
        ("department", 403),
    ],
)
async def test_create_matrix(registry, who, status):
    body = project_body(county=BINCHENG)
    if status == 201:
        r = await registry.client.post("/v1/projects", json=body, headers=WHO[who]())
        assert r.status_code == 201, r.text
    else:
        async with nothing_written(registry):
            r = await registry.client.post("/v1/projects", json=body, headers=WHO[who]())
        problem(r, 403)


async def test_a_county_creating_in_another_county_is_told_why(registry):
    async with nothing_written(registry):
        r = await registry.client.post(
            "/v1/projects", json=project_body(county=ZOUPING), headers=county_token(BINCHENG)
        )
    detail = problem(r, 403)["detail"]
    assert BINCHENG in detail and ZOUPING in detail


# ---------------------------------------------------------------- ops and regions
async def test_livez(registry):
    r = await registry.client.get("/livez")
    assert r.status_code == 200
    assert r.json()["status"] == "alive"


async def test_readyz_reports_its_checks(registry):
    r = await registry.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"database": "ok", "bus": "ok", "worker": "ok"},
    }


async def test_metrics_count_http_requests(registry):
    await registry.client.get("/v1/projects", headers=COMMANDER)
    await registry.client.get("/v1/projects")
    r = await registry.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "kuaiche_http_requests" in text
    assert 'route="/v1/projects"' in text
    assert 'status="401"' in text and 'status="200"' in text


async def test_openapi_is_served(registry):
    r = await registry.client.get("/openapi.json")
    assert r.status_code == 200
    assert "/v1/projects/{project_id}/stage" in r.json()["paths"]


async def test_regions_list_the_ten_divisions(registry):
    r = await registry.client.get("/v1/regions", headers=VIEWER)
    assert r.status_code == 200, r.text
    table = r.json()
    assert (table["code"], table["name"]) == ("371600", "滨州市")
    divisions = {d["code"]: d for d in table["divisions"]}
    assert len(divisions) == 10
    assert divisions["371603"]["name"] == "沾化区"
    assert divisions["371603"]["old_codes"] == ["371624"]
    assert divisions["371681"]["old_codes"] == ["371626"]
    assert all(d["official"] for c, d in divisions.items() if d["kind"] != "zone")
    zones = [d for d in divisions.values() if d["kind"] == "zone"]
    assert len(zones) == 3
    assert not any(z["official"] for z in zones)


async def test_an_old_division_code_resolves(registry):
    r = await registry.client.get("/v1/regions/371624", headers=county_token(BINCHENG))
    assert r.status_code == 200, r.text
    assert (r.json()["code"], r.json()["name"]) == ("371603", "沾化区")
    problem(await registry.client.get("/v1/regions/371699", headers=COMMANDER), 404)
