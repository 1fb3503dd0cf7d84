"""The factors service beside the registry on one in-process bus, as `kuaiche up` runs them:
projects are created through the registry's API and reach factors only as events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.bus.inprocess import InProcessBus
from tests.api.factors.helpers import Suite
from tests.conftest import make_settings, start_service


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[Suite]:
    from services.factors.main import SERVICE as FACTORS
    from services.registry.main import SERVICE as REGISTRY

    bus = InProcessBus()
    apps = []
    clients = []
    for definition in (REGISTRY, FACTORS):
        url = f"sqlite+aiosqlite:///{tmp_path / definition.name}.sqlite3"
        app, lifespan = await start_service(
            definition, make_settings(definition.name, url, tmp_path), bus
        )
        apps.append((app, lifespan))
        clients.append(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{definition.name}"
            )
        )
    try:
        yield Suite(
            registry=clients[0], factors=clients[1], factors_runtime=apps[1][0].state.runtime
        )
    finally:
        for client in clients:
            await client.aclose()
        for _, lifespan in reversed(apps):
            await lifespan.__aexit__(None, None, None)
