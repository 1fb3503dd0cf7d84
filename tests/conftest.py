"""Fixtures shared by every test: settings, apps on the embedded default, tokens, and the real
PostgreSQL and Kafka of the integration tests (started by scripts/test.sh)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.auth import Role, issue_token
from shared.bus.base import Bus
from shared.bus.inprocess import InProcessBus
from shared.config import ServiceSettings
from shared.http.app import build_app
from shared.migrations import upgrade
from shared.service import ServiceDefinition

SECRET = "test-secret-" + "x" * 40
REQUIRE_INTEGRATION = os.environ.get("KUAICHE_REQUIRE_INTEGRATION") == "1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fault-seed",
        type=int,
        default=None,
        help="seed of the fault suite's workload (tests/faults; default $KUAICHE_FAULT_SEED)",
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI nothing may be skipped: a skipped integration test is a failed run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_INTEGRATION and skipped:
        reporter.write_line(
            f"{skipped} tests were skipped; KUAICHE_REQUIRE_INTEGRATION forbids it", red=True
        )
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """A plain `pytest` without the servers passes with the integration tests skipped: say so
    loudly at the end, with how to run them, so nobody mistakes it for a full run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and not REQUIRE_INTEGRATION:
        terminalreporter.section("NOT A FULL RUN", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(skipped)} tests needing PostgreSQL and Kafka were SKIPPED. Run them with "
            "scripts/test.sh (make test): it starts both and fails on any skip.",
            red=True,
            bold=True,
        )


def need(env: str) -> str:
    value = os.environ.get(env)
    if not value:
        if REQUIRE_INTEGRATION:
            pytest.fail(f"{env} is not set (scripts/test.sh starts PostgreSQL and Kafka)")
        pytest.skip(f"{env} not set; run scripts/test.sh for integration tests")
    return value


def make_settings(
    service: str, database_url: str, data_dir: Path, kafka: str | None = None
) -> ServiceSettings:
    return ServiceSettings(
        service=service,
        port=0,
        database_url=database_url,
        kafka_bootstrap=kafka,
        jwt_secret=SecretStr(SECRET),
        data_dir=data_dir,
        relay_interval=0.05,
    )


def token(
    role: Role | str, county: str | None = None, department: str | None = None
) -> dict[str, str]:
    tok = issue_token(SECRET, role=role, county=county, department=department)
    return {"Authorization": f"Bearer {tok}"}


COMMANDER = token(Role.COMMANDER)
VIEWER = token(Role.VIEWER)


async def wait_until(
    predicate: Callable[[], Awaitable[Any]],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds,
    saying `what` was awaited. The budget is generous on purpose (a loaded 2-core machine):
    a passing test never waits for it."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def postgres_server() -> str:
    return need("KUAICHE_TEST_POSTGRES_URL")


async def create_database(server_url: str) -> str:
    """A fresh database on the test server; returns its asyncpg SQLAlchemy URL."""
    import asyncpg

    name = f"kt_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = server_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@pytest.fixture
async def postgres_url(postgres_server: str) -> str:
    return await create_database(postgres_server)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return need("KUAICHE_TEST_KAFKA_BOOTSTRAP")


# ---------------------------------------------------------------- apps
class RunningService:
    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


async def start_service(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    bus: Bus | None = None,
    with_worker: bool = True,
) -> tuple[Any, Any]:
    await upgrade(definition, settings.database_url)
    app = build_app(definition, settings, bus=bus, with_worker=with_worker)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    return app, lifespan


@pytest.fixture
async def registry(tmp_path: Path, sqlite_url: str) -> AsyncIterator[RunningService]:
    """The registry on the embedded default (SQLite + in-process bus), worker running."""
    from services.registry.main import SERVICE

    bus = InProcessBus()
    app, lifespan = await start_service(
        SERVICE, make_settings("registry", sqlite_url, tmp_path), bus
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)
