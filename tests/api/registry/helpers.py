"""Helpers of the registry's HTTP tests: unique data, problem+json checks, the outbox.

Every test creates its own projects (unique names and codes), so tests run in any order. A
refused write must leave nothing behind: `nothing_written` re-reads the project and counts the
outbox rows around the request. An accepted write adds exactly one event: `one_new_event`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import string
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import func, select

from services.registry.models import outbox
from shared.auth import Role
from tests.conftest import COMMANDER, token

PROBLEM_JSON = "application/problem+json"

# A city zone, a district and a county of Binzhou, used as "own" and "other" divisions.
BINCHENG = "371602"
ZHANHUA = "371603"  # old code 371624
ZOUPING = "371681"  # old code 371626
BOXING = "371625"

COMMANDER_ACTOR = "commander:dev-commander"


def county_token(county: str) -> dict[str, str]:
    return token(Role.COUNTY, county=county)


def department_token(department: str = "市自然资源和规划局") -> dict[str, str]:
    return token(Role.DEPARTMENT, department=department)


def county_actor(county: str) -> str:
    return f"county:dev-county@{county}"


def unique_name(prefix: str = "测试项目") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_code(fmt: str = "new", region: str = BINCHENG) -> str:
    """A national project code nobody else in this run uses (old or new format)."""
    tail = "".join(random.choices(string.digits + string.ascii_uppercase, k=6))
    prefix = "2104" if fmt == "new" else "2019"
    return f"{prefix}-{region}-04-01-{tail}"


def today() -> dt.date:
    """Today in Shanghai, as the service reckons it."""
    from shared.clock import today_in_shanghai

    return today_in_shanghai()


def future_date(days: int = 10) -> dt.date:
    return today() + dt.timedelta(days=days)


def future_period() -> str:
    """A month that is surely after the current one."""
    d = today().replace(day=1) + dt.timedelta(days=40)
    return f"{d.year:04d}-{d.month:02d}"


def project_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": unique_name(),
        "county": BINCHENG,
        "track": "implementation",
        "total_investment": "12000.5",
        "level": "city_key",
        "planned_start": "2020-03-01",
        "planned_completion": "2021-12-31",
        "owner": "滨州某某科技有限公司",
        "leader": "王副市长",
        "responsible_unit": "滨城区发改局",
        "industry": "高端装备",
        "tags": ["新基建"],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


async def create_project(
    registry: Any, headers: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Create a project (as the commander unless told) and return it as GET shows it."""
    r = await registry.client.post(
        "/v1/projects", json=project_body(**overrides), headers=headers or COMMANDER
    )
    assert r.status_code == 201, r.text
    return await read_project(registry, r.json()["id"])


async def read_project(registry: Any, project_id: str) -> dict[str, Any]:
    r = await registry.client.get(f"/v1/projects/{project_id}", headers=COMMANDER)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def move(
    registry: Any,
    project_id: str,
    stage: str,
    date: str | dt.date,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"stage": stage, "date": str(date)}
    if reason is not None:
        body["reason"] = reason
    return await registry.client.post(
        f"/v1/projects/{project_id}/stage", json=body, headers=headers or COMMANDER
    )


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in r.text
    return body  # type: ignore[no-any-return]


def error_fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def has_error(body: dict[str, Any], field: str, *words: str) -> bool:
    """Whether `errors` names `field` with a message containing every word."""
    return any(
        e.get("field") == field and all(w in e["message"] for w in words)
        for e in body.get("errors", [])
    )


# ---------------------------------------------------------------- the outbox
async def outbox_count(registry: Any) -> int:
    async with registry.runtime.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)


async def outbox_events(registry: Any) -> list[dict[str, Any]]:
    """Every event written to the outbox, oldest first, as CloudEvents JSON."""
    async with registry.runtime.session_factory() as session:
        rows = (await session.execute(select(outbox.c.payload).order_by(outbox.c.id))).all()
    return [json.loads(r.payload) for r in rows]


async def events_since(registry: Any, count: int) -> list[dict[str, Any]]:
    return (await outbox_events(registry))[count:]


async def one_new_event(
    registry: Any,
    before: int,
    type_: str,
    project: dict[str, Any],
    actor: str = COMMANDER_ACTOR,
) -> dict[str, Any]:
    """Exactly one event since `before`, of `type_`, for `project` (as it is now)."""
    new = await events_since(registry, before)
    assert [e["type"] for e in new] == [type_], new
    event = new[0]
    assert event["source"] == "kuaiche/registry"
    assert event["subject"] == project["id"]
    assert event["county"] == project["county"]
    assert event["actor"] == actor
    assert event["sequence"] == project["version"]
    assert event["data"]["project_id"] == project["id"]
    return event


async def project_total(registry: Any) -> int:
    r = await registry.client.get("/v1/projects", params={"limit": 1}, headers=COMMANDER)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


@contextlib.asynccontextmanager
async def nothing_written(registry: Any, project_id: str | None = None) -> AsyncIterator[None]:
    """The block's request is refused: no outbox row, no project, and `project_id` unchanged
    (its body, version, stage history, milestones, plans, reports and list changes)."""
    events = await outbox_count(registry)
    total = await project_total(registry)
    before = await _everything(registry, project_id) if project_id else None
    yield
    assert await outbox_count(registry) == events, "a refused request wrote an outbox row"
    assert await project_total(registry) == total, "a refused request created a project"
    if project_id:
        assert await _everything(registry, project_id) == before


async def _everything(registry: Any, project_id: str) -> dict[str, Any]:
    c = registry.client
    base = f"/v1/projects/{project_id}"
    return {
        "project": await read_project(registry, project_id),
        "milestones": (await c.get(f"{base}/milestones", headers=COMMANDER)).json(),
        "list_changes": (await c.get(f"{base}/list-changes", headers=COMMANDER)).json(),
        "progress_2020": (
            await c.get(f"{base}/progress", params={"year": 2020}, headers=COMMANDER)
        ).json(),
    }
