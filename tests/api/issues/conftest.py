"""Fixtures of the issues HTTP tests: the service on the embedded default with a clock the
test sets (the API's `now_utc` dependency), and projects fed to its projection the way the
registry feeds them: as registry events on the bus, applied by the service's own consumer."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.issues import api
from services.issues.main import SERVICE
from shared.bus.inprocess import InProcessBus
from tests.api.issues.helpers import Clock, IssuesApp
from tests.conftest import make_settings, start_service


@pytest.fixture
async def issues(tmp_path: Path, sqlite_url: str) -> AsyncIterator[IssuesApp]:
    """The issues service (SQLite + in-process bus), relay and projection consumer running.
    The periodic overdue scan is left out: tests run it themselves at the instant they mean."""
    bus = InProcessBus()
    definition = dataclasses.replace(SERVICE, jobs=lambda runtime: {})
    app, lifespan = await start_service(
        definition, make_settings("issues", sqlite_url, tmp_path), bus
    )
    clock = Clock(dt.datetime(2020, 9, 21, 2, 0, tzinfo=dt.UTC))  # Mon 10:00 in Shanghai
    app.dependency_overrides[api.now_utc] = clock.now
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://issues") as client:
        yield IssuesApp(app, client, bus, clock)
    await lifespan.__aexit__(None, None, None)
