"""Fixtures of the notifications HTTP tests: the service on the embedded default (SQLite +
in-process bus) with its consumer following every topic, and an `Upstream` that publishes the
other services' events (catalogue payloads in CloudEvents, as their producers do) onto that
bus. The dispatcher and the reminder scan are left out of the worker: a test runs them itself,
at the instant it means (`dispatch`, `scan`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notifications import service
from services.notifications.config import Context
from services.notifications.delivery import Dispatcher
from services.notifications.main import SERVICE
from shared.bus.inprocess import InProcessBus
from tests.conftest import make_settings, start_service, wait_until
from tests.support.fake_robots import fake_robots  # noqa: F401  (a fixture)
from tests.support.receiver import receiver  # noqa: F401  (a fixture)
from tests.support.upstream import Upstream


@dataclass
class NotificationsApp:
    app: Any
    client: httpx.AsyncClient
    bus: InProcessBus
    upstream: Upstream

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @property
    def ctx(self) -> Context:
        return Context.of(self.runtime)

    async def settled(self) -> None:
        """Every message published so far is applied by the service's consumer."""
        consumer = self.runtime.consumers[0]

        async def done() -> bool:
            return all(
                self.bus.committed(consumer.name, topic, partition)
                >= len(self.bus.log(topic, partition))
                for topic in consumer.topics
                for partition in range(self.bus.partitions)
            )

        await wait_until(done, what="the notifications consumer to catch up")

    async def scan(self, at: dt.datetime) -> int:
        return await service.scan_reminders(self.runtime.uow(), self.ctx, at)

    def dispatcher(self, **kwargs: Any) -> Dispatcher:
        return Dispatcher(self.runtime.session_factory, self.ctx, **kwargs)


@pytest.fixture
async def notifications(tmp_path: Path, sqlite_url: str) -> AsyncIterator[NotificationsApp]:
    bus = InProcessBus()
    definition = dataclasses.replace(SERVICE, jobs=lambda runtime: {})
    app, lifespan = await start_service(
        definition, make_settings("notifications", sqlite_url, tmp_path), bus
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
        yield NotificationsApp(app, client, bus, Upstream(bus))
    await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def notifications_pg(tmp_path: Path, postgres_url: str) -> AsyncIterator[NotificationsApp]:
    """The same service over PostgreSQL (skipped without KUAICHE_TEST_POSTGRES_URL): what
    SQLite does not enforce (column lengths, row locks) holds here."""
    bus = InProcessBus()
    definition = dataclasses.replace(SERVICE, jobs=lambda runtime: {})
    app, lifespan = await start_service(
        definition, make_settings("notifications", postgres_url, tmp_path), bus
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
        yield NotificationsApp(app, client, bus, Upstream(bus))
    await lifespan.__aexit__(None, None, None)
