"""The worker as `kuaiche up` and `kuaiche worker` run it: consumer, dispatcher and scans
together. The dispatcher is woken by each event the consumer commits: with an idle wait of ten
minutes, a webhook still goes out as soon as its event is applied."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.notifications.config import load_config
from services.notifications.main import SERVICE
from shared.bus.inprocess import InProcessBus
from tests.conftest import COMMANDER, make_settings, start_service, wait_until
from tests.support.receiver import WebhookReceiver
from tests.support.upstream import Upstream


@pytest.fixture
async def idle_ten_minutes(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Upstream]]:
    monkeypatch.setenv("KUAICHE_NOTIFICATIONS_DISPATCH_INTERVAL", "600")
    monkeypatch.setenv("KUAICHE_NOTIFICATIONS_REMINDER_SCAN_INTERVAL", "600")
    load_config.cache_clear()
    bus = InProcessBus()
    definition = dataclasses.replace(SERVICE)  # every job, as the worker runs them
    app, lifespan = await start_service(
        definition, make_settings("notifications", sqlite_url, tmp_path), bus
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
            yield client, Upstream(bus)
    finally:
        await lifespan.__aexit__(None, None, None)
        load_config.cache_clear()


async def test_an_applied_event_wakes_the_dispatcher(
    idle_ten_minutes: tuple[httpx.AsyncClient, Upstream], receiver: WebhookReceiver
) -> None:
    client, up = idle_ten_minutes
    made = await client.post(
        "/v1/subscriptions", json={"url": receiver.url("/hooks")}, headers=COMMANDER
    )
    assert made.status_code == 201, made.text
    # let the dispatcher's first round pass, so it sits in its ten-minute wait
    await wait_until(lambda: _ready(client), timeout=10)
    pid = await up.register()
    qid = await up.report_problem(pid, dt.date(2020, 9, 21))

    async def arrived() -> bool:
        return any(r.json()["data"].get("issue_id") == qid for r in receiver.requests)

    await wait_until(arrived, timeout=30)


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200
