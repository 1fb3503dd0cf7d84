"""Fixtures of the scoring HTTP tests: the service on the embedded default (SQLite + in-process
bus) with its worker following the upstream topics, and an `Upstream` that publishes the other
services' events onto that bus. `settled` waits until the read model has applied all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.scoring.main import SERVICE
from services.scoring.readmodel import Feed
from shared.bus.inprocess import InProcessBus
from tests.conftest import make_settings, start_service, wait_until
from tests.support.upstream import Upstream


@dataclass
class ScoringApp:
    app: Any
    client: httpx.AsyncClient
    bus: InProcessBus
    upstream: Upstream

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def settled(self, epoch: int = 1) -> None:
        """Every upstream message so far is committed by the epoch's consumer group."""
        feed = Feed.of(SERVICE)
        group = feed.consumer_name(epoch)

        async def done() -> bool:
            return all(
                self.bus.committed(group, topic, partition) >= len(self.bus.log(topic, partition))
                for topic in feed.topics
                for partition in range(self.bus.partitions)
            )

        await wait_until(done)


@pytest.fixture
async def scoring(tmp_path: Path, sqlite_url: str) -> AsyncIterator[ScoringApp]:
    bus = InProcessBus()
    app, lifespan = await start_service(
        SERVICE, make_settings("scoring", sqlite_url, tmp_path), bus
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
        yield ScoringApp(app, client, bus, Upstream(bus))
    await lifespan.__aexit__(None, None, None)
