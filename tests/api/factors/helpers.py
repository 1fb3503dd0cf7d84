"""Helpers of the factors' HTTP tests: projects made through the registry (waiting until the
factors projection has them), pools, allocations, and a look at what was written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
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
