"""Helpers of the factors' HTTP tests: projects made through the registry (waiting until the
factors projection has them), pools, allocations, and a look at what was written."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from services.factors.models import Pool, ProjectView, outbox
from shared.auth import Role
from tests.api.registry.helpers import BINCHENG, project_body
from tests.conftest import COMMANDER, token, wait_until

__all__ = ["BINCHENG", "COMMANDER", "Suite", "county_token"]


def county_token(county: str) -> dict[str, str]:
    return token(Role.COUNTY, county=county)


@dataclass
class Suite:
    registry: httpx.AsyncClient
    factors: httpx.AsyncClient
    factors_runtime: Any

    async def project(self, **overrides: Any) -> str:
        """A project registered through the registry, once the factors projection knows it."""
        r = await self.registry.post(
            "/v1/projects", json=project_body(**overrides), headers=COMMANDER
        )
        assert r.status_code == 201, r.text
        project_id: str = r.json()["id"]
        await self.wait_for_project(project_id)
        return project_id

    async def view(self, project_id: str) -> ProjectView | None:
        async with self.factors_runtime.session_factory() as session:
            return await session.get(ProjectView, project_id)

    async def wait_for_project(self, project_id: str, stage: str | None = None) -> ProjectView:
        async def known() -> ProjectView | None:
            view = await self.view(project_id)
            if view is not None and (stage is None or view.stage == stage):
                return view
            return None

        result: ProjectView = await wait_until(known)
        return result

    async def pool(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        payload = {"factor": "land", "year": 2020, "scope": "city", "amount": "1000", **body}
        r = await self.factors.post("/v1/pools", json=payload, headers=headers or COMMANDER)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def allocate(
        self,
        pool_id: str,
        project_id: str,
        amount: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body = {"pool_id": pool_id, "project_id": project_id, "amount": amount, **extra}
        return await self.factors.post("/v1/allocations", json=body, headers=headers or COMMANDER)

    async def get_pool(self, pool_id: str) -> dict[str, Any]:
        r = await self.factors.get(f"/v1/pools/{pool_id}", headers=COMMANDER)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def outbox_count(self) -> int:
        async with self.factors_runtime.session_factory() as session:
            return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        async with self.factors_runtime.session_factory() as session:
            rows = (
                await session.execute(
                    select(outbox.c.payload)
                    .where(outbox.c.type == event_type)
                    .order_by(outbox.c.id)
                )
            ).all()
        return [json.loads(r.payload) for r in rows]

    async def pool_row(self, pool_id: str) -> Pool:
        async with self.factors_runtime.session_factory() as session:
            pool = await session.get(Pool, pool_id)
            assert pool is not None
            return pool


def dec(value: str) -> Decimal:
    return Decimal(value)


# ---------------------------------------------------------------- added for the factors suites
PROBLEM_JSON = "application/problem+json"


def ok_json(r: httpx.Response, status: int = 200) -> Any:
    """The body of an answer with `status` (200, or 201 for a create), after checking it is one."""
    assert r.status_code == status, r.text
    return r.json()


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in r.text
    return body  # type: ignore[no-any-return]


def error_fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


async def ledger_snapshot(suite: Suite) -> dict[str, Any]:
    """Everything a refused request must leave as it was: every pool, allocation, source and
    credit demand (with its grants and disbursements) as the API shows them, and the outbox."""
    c = suite.factors
    everything: dict[str, Any] = {"outbox": await suite.outbox_count()}
    for path in ("/v1/pools", "/v1/allocations", "/v1/replacement-sources", "/v1/credit-demands"):
        r = await c.get(path, params={"limit": 500}, headers=COMMANDER)
        assert r.status_code == 200, r.text
        everything[path] = r.json()
    return everything


class NothingWritten:
    """`async with nothing_written(suite): ...` — the block's requests change nothing."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.before: dict[str, Any] = {}

    async def __aenter__(self) -> None:
        self.before = await ledger_snapshot(self.suite)

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            after = await ledger_snapshot(self.suite)
            assert after["outbox"] == self.before["outbox"], "a refused request wrote an event"
            assert after == self.before, "a refused request changed the ledger"


def nothing_written(suite: Suite) -> NothingWritten:
    return NothingWritten(suite)


async def source(suite: Suite, pollutant: str = "SO2", **body: Any) -> dict[str, Any]:
    """A replacement source (a closed plant) freeing `amount` t/yr of `pollutant`."""
    payload = {
        "pollutant": pollutant,
        "name": f"关停电厂-{pollutant}",
        "kind": "closed",
        "amount": "100",
        **body,
    }
    r = await suite.factors.post("/v1/replacement-sources", json=payload, headers=COMMANDER)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def get_source(suite: Suite, source_id: str) -> dict[str, Any]:
    r = await suite.factors.get(f"/v1/replacement-sources/{source_id}", headers=COMMANDER)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def allocation(suite: Suite, pool_id: str, project_id: str, amount: str, **extra: Any):
    """An allocation that must succeed; its body."""
    r = await suite.allocate(pool_id, project_id, amount, **extra)
    assert r.status_code == 201, r.text
    return r.json()


async def release(
    suite: Suite,
    allocation_id: str,
    reason: str = "逾期未使用",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await suite.factors.post(
        f"/v1/allocations/{allocation_id}/release",
        json={"reason": reason},
        headers=headers or COMMANDER,
    )


async def get_allocation(suite: Suite, allocation_id: str) -> dict[str, Any]:
    r = await suite.factors.get(f"/v1/allocations/{allocation_id}", headers=COMMANDER)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def withdraw(suite: Suite, project_id: str, on: str = "2020-06-30") -> None:
    """Withdraw (退出) a project in the registry and wait until factors has heard of it."""
    r = await suite.registry.post(
        f"/v1/projects/{project_id}/stage",
        json={"stage": "withdrawn", "date": on, "reason": "企业放弃投资"},
        headers=COMMANDER,
    )
    assert r.status_code == 200, r.text
    await suite.wait_for_project(project_id, stage="withdrawn")


async def demand(
    suite: Suite,
    project_id: str,
    amount: str = "1000",
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    payload = {"project_id": project_id, "amount": amount, **body}
    return await suite.factors.post(
        "/v1/credit-demands", json=payload, headers=headers or COMMANDER
    )


async def grant(suite: Suite, demand_id: str, amount: str, **body: Any) -> httpx.Response:
    payload = {"bank": "中国农业银行滨州分行", "amount": amount, **body}
    return await suite.factors.post(
        f"/v1/credit-demands/{demand_id}/grants", json=payload, headers=COMMANDER
    )


async def disburse(suite: Suite, demand_id: str, amount: str, **body: Any) -> httpx.Response:
    payload = {"amount": amount, **body}
    return await suite.factors.post(
        f"/v1/credit-demands/{demand_id}/disbursements", json=payload, headers=COMMANDER
    )


async def get_demand(suite: Suite, demand_id: str) -> dict[str, Any]:
    r = await suite.factors.get(f"/v1/credit-demands/{demand_id}", headers=COMMANDER)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def all_events(suite: Suite) -> list[dict[str, Any]]:
    """Every event in the factors outbox, oldest first."""
    async with suite.factors_runtime.session_factory() as session:
        rows = (await session.execute(select(outbox.c.payload).order_by(outbox.c.id))).all()
    return [json.loads(r.payload) for r in rows]


@contextlib.asynccontextmanager
async def factors_alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """The factors service by itself, without its worker: for requests that need no project
    (tokens, input checks, pools), and quick to stop (no consumer to wait for)."""
    from services.factors.main import SERVICE as FACTORS
    from shared.bus.inprocess import InProcessBus
    from tests.conftest import make_settings, start_service

    url = f"sqlite+aiosqlite:///{tmp_path / 'factors-alone'}.sqlite3"
    app, lifespan = await start_service(
        FACTORS, make_settings("factors", url, tmp_path), InProcessBus(), with_worker=False
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://registry") as nobody,
            httpx.AsyncClient(transport=transport, base_url="http://factors") as client,
        ):
            yield Suite(registry=nobody, factors=client, factors_runtime=app.state.runtime)
    finally:
        await lifespan.__aexit__(None, None, None)
