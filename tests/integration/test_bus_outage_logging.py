"""A broker outage as an operator reads it: the registry's worker on a private broker (started
with scripts/kafka.sh on a port and state dir of its own, never the shared one) that is killed
with SIGKILL while projects are registered, then started again. kuaiche says each change of
state once (the bus down, the backlog growing, the bus back, the backlog drained) and aiokafka's
reconnect messages come through once each instead of hundreds of times."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.registry.main import SERVICE as REGISTRY
from shared.bus.watch import QUIET
from tests.conftest import COMMANDER, make_settings, start_service, wait_until
from tests.support.ports import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHARED_JARS = Path(os.environ.get("KUAICHE_KAFKA_JARS", "/work/main/.local/kafka/lib"))


class PrivateBroker:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = free_port(pair=True)
        self.env = {
            **os.environ,
            "KUAICHE_KAFKA_PORT": str(self.port),
            "KUAICHE_KAFKA_STATE_DIR": str(state),
            "KUAICHE_KAFKA_HEAP": "256m",
        }

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _script(self, command: str) -> None:
        subprocess.run(
            ["scripts/kafka.sh", command], cwd=ROOT, env=self.env, check=True, timeout=240
        )

    async def start(self) -> None:
        await asyncio.to_thread(self._script, "start")

    def kill(self) -> None:
        os.kill(int((self.state / "kafka.pid").read_text()), signal.SIGKILL)

    def stop(self) -> None:
        self._script("stop")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    state = tmp_path / "kafka"
    state.mkdir()
    if (SHARED_JARS / ".complete").exists():
        (state / "lib").symlink_to(SHARED_JARS)  # the jars, not the shared broker's data
    private = PrivateBroker(state)
    try:
        yield private
    finally:
        private.stop()


@pytest.fixture
async def registry_on(
    broker: PrivateBroker, tmp_path: Path, postgres_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    await broker.start()
    settings = make_settings("registry", postgres_url, tmp_path, broker.bootstrap)
    settings.watch_interval = 0.2
    app, lifespan = await start_service(REGISTRY, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry"
    ) as client:
        yield client
    await lifespan.__aexit__(None, None, None)


STATES = {
    "down": "the bus is down",
    "growing": "the outbox backlog is growing",
    "back": "the bus is back",
    "drained": "the outbox backlog is drained",
}


async def test_an_outage_is_told_once_per_change_and_the_client_repeats_are_quiet(
    broker: PrivateBroker, registry_on: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    QUIET.new_outage()

    async def register() -> None:
        body = {
            "name": f"断线-{uuid.uuid4().hex[:8]}",
            "county": "371602",
            "track": "implementation",
            "total_investment": "100",
        }
        answer = await registry_on.post("/v1/projects", json=body, headers=COMMANDER)
        assert answer.status_code == 201, answer.text

    def told(state: str) -> int:
        return sum(
            STATES[state] in r.getMessage() for r in caplog.records if r.name == "shared.bus.watch"
        )

    async def said(state: str) -> bool:
        return told(state) > 0

    async def published() -> bool:
        text = (await registry_on.get("/metrics")).text
        return "kuaiche_outbox_backlog 0.0" in text

    await register()
    await wait_until(published, 120, 0.2, "the worker to publish on the private broker")
    broker.kill()
    for _ in range(3):  # the outbox takes them while the broker is away
        await register()
    await wait_until(lambda: said("down"), 60, 0.1, "the bus down to be told")
    await wait_until(lambda: said("growing"), 60, 0.1, "the backlog growing to be told")

    async def flooding() -> bool:  # what aiokafka would have logged without the filter
        return QUIET.dropped >= 20

    await wait_until(flooding, 60, 0.2, "the client to repeat itself")
    await broker.start()
    await wait_until(lambda: said("back"), 120, 0.1, "the bus back to be told")
    await wait_until(lambda: said("drained"), 120, 0.1, "the backlog drained to be told")

    assert {state: told(state) for state in STATES} == {state: 1 for state in STATES}
    client = Counter(
        (r.name, str(r.msg))
        for r in caplog.records
        if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING
    )
    print(f"\naiokafka lines let through: {sum(client.values())}; {dict(client)}")
    assert client and max(client.values()) == 1
