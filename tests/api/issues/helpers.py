"""Helpers of the issues HTTP tests: a settable clock, projects fed through registry events,
problems walked to a status, problem+json and outbox checks."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from services.issues.models import ProjectView, outbox
from shared.auth import Role
from shared.bus.base import OutgoingMessage
from shared.bus.inprocess import InProcessBus
from shared.calendar import SHANGHAI
from shared.events.catalogue import registry as reg
from shared.events.envelope import CloudEvent
from shared.events.topics import REGISTRY
from tests.conftest import COMMANDER, token, wait_until

PROBLEM_JSON = "application/problem+json"
BINCHENG = "371602"
BOXING = "371625"
LAND_BUREAU = "市自然资源和规划局"
WATER_BUREAU = "市水利局"


class Clock:
    """The instant the API takes as now; tests move it."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def set(self, day: dt.date, hour: int = 10) -> None:
        """`day` at `hour` o'clock in Shanghai."""
        self.current = dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class IssuesApp:
    app: Any
    client: httpx.AsyncClient
    bus: InProcessBus
    clock: Clock

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


def county_token(county: str = BINCHENG) -> dict[str, str]:
    return token(Role.COUNTY, county=county)


def department_token(department: str = LAND_BUREAU) -> dict[str, str]:
    return token(Role.DEPARTMENT, department=department)


def registry_event(payload: Any, sequence: int, county: str) -> bytes:
    return CloudEvent(
        source="kuaiche/registry",
        type=payload.TYPE,
        subject=payload.project_id,
        data=payload.model_dump(mode="json"),
        county=county,
        actor="commander:registry-test",
        sequence=sequence,
        partitionkey=payload.project_id,
    ).to_json()


async def publish_registry(
    svc: IssuesApp, payload: Any, sequence: int, county: str, key: str | None = None
) -> None:
    """Publish as the registry does (keyed by the project, unless `key` says otherwise)."""
    await svc.bus.publish(
        [
            OutgoingMessage(
                REGISTRY, key or payload.project_id, registry_event(payload, sequence, county)
            )
        ]
    )


def registered(project_id: str, county: str = BINCHENG, stage: str = "started") -> Any:
    return reg.ProjectRegistered(
        project_id=project_id,
        name=f"测试项目-{project_id[:8]}",
        county=county,
        level="city_key",
        track="implementation",
        stage=stage,
        code=None,
        total_investment="50000",
        planned_start=None,
        planned_completion=None,
        actual_start=None,
        actual_completion=None,
        leader="张副市长",
        responsible_unit=None,
        industry=None,
        tags=[],
        version=1,
    )


async def projected(svc: IssuesApp, project_id: str, version: int = 1) -> ProjectView:
    async def seen() -> ProjectView | None:
        async with svc.runtime.session_factory() as s:
            p = await s.get(ProjectView, project_id)
            return p if p is not None and p.version >= version else None

    return await wait_until(seen)


async def known_project(svc: IssuesApp, county: str = BINCHENG) -> str:
    """A project the registry announced and the projection applied."""
    project_id = str(uuid.uuid4())
    await publish_registry(svc, registered(project_id, county), 1, county)
    await projected(svc, project_id)
    return project_id


def issue_body(project_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_id": project_id,
        "category": "land",
        "title": "用地指标不足",
        "description": "项目二期用地指标缺口 50 亩",
        "source": "enterprise",
        "complexity": "general",
    }
    body.update(overrides)
    return body


async def report(svc: IssuesApp, project_id: str, headers: dict | None = None, **kw: Any) -> str:
    r = await svc.client.post(
        "/v1/issues", json=issue_body(project_id, **kw), headers=headers or COMMANDER
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def move(
    svc: IssuesApp, issue_id: str, action: str, body: dict[str, Any], headers: dict | None = None
) -> httpx.Response:
    return await svc.client.post(
        f"/v1/issues/{issue_id}/{action}", json=body, headers=headers or COMMANDER
    )


async def ok(
    svc: IssuesApp, issue_id: str, action: str, body: dict[str, Any], headers: dict | None = None
) -> dict[str, Any]:
    r = await move(svc, issue_id, action, body, headers)
    assert r.status_code == 200, r.text
    return r.json()


def assert_problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    body = r.json()
    for word in words:
        assert word in body["detail"], body
    return body


async def events(svc: IssuesApp, issue_id: str | None = None) -> list[CloudEvent]:
    async with svc.runtime.session_factory() as s:
        rows = (await s.execute(select(outbox.c.payload).order_by(outbox.c.id))).scalars().all()
    found = [CloudEvent.from_json(p) for p in rows]
    return [e for e in found if issue_id is None or e.subject == issue_id]


async def outbox_count(svc: IssuesApp) -> int:
    async with svc.runtime.session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(outbox)) or 0)


async def get(svc: IssuesApp, issue_id: str, headers: dict | None = None) -> dict[str, Any]:
    r = await svc.client.get(f"/v1/issues/{issue_id}", headers=headers or COMMANDER)
    assert r.status_code == 200, r.text
    return r.json()


def ok_json(r: httpx.Response) -> Any:
    """The body of a 200 answer, after checking that it is one."""
    assert r.status_code == 200, r.text
    return r.json()
