"""A database that is down is a 503 and a retry, never a 500 or a dead letter."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asyncpg.exceptions import CannotConnectNowError, ConnectionDoesNotExistError
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.db import OutageLog, Timeouts, is_unavailable
from shared.http.app import build_app
from shared.http.problems import RETRY_AFTER_SECONDS, install_problem_handlers
from tests.conftest import COMMANDER, make_settings


class FakeAsyncpgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "down"),
    [("57P01", True), ("08006", True), ("53300", True), ("23505", False), ("22P02", False)],
)
def test_sqlstate_classes_tell_down_from_bad_input(sqlstate: str, down: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    cause = FakeAsyncpgError(sqlstate)
    wrapper = Exception("adapted")
    wrapper.__cause__ = cause
    assert is_unavailable(DBAPIError("SELECT 1", {}, wrapper)) is down


def test_connection_errors_are_unavailable() -> None:
    assert is_unavailable(ConnectionRefusedError())
    assert not is_unavailable(ValueError("bad input"))


@pytest.fixture
async def registry_without_database(tmp_path):  # type: ignore[no-untyped-def]
    from services.registry.main import SERVICE

    # Port 1 on loopback: nothing listens, the connection is refused.
    settings = make_settings(
        "registry", "postgresql+asyncpg://kuaiche:kuaiche@127.0.0.1:1/none", tmp_path
    )
    app = build_app(SERVICE, settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://r"
        ) as client:
            yield client


async def test_a_request_while_the_database_is_down_is_503(registry_without_database) -> None:
    client = registry_without_database
    r = await client.get("/v1/projects", headers=COMMANDER)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "Traceback" not in r.text
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert r.json()["checks"]["database"].startswith("unavailable")


async def test_an_idempotent_post_while_the_database_is_down_is_503(
    registry_without_database,
) -> None:
    r = await registry_without_database.post(
        "/v1/projects", json={}, headers={**COMMANDER, "Idempotency-Key": "k1"}
    )
    assert r.status_code == 503
    assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


# ---------------------------------------------------------------- every way a database is down
def _adapted(error: Exception) -> OperationalError:
    """`error` as SQLAlchemy's asyncpg dialect hands it on: wrapped, the driver's as cause."""
    wrapper = Exception(str(error))
    wrapper.__cause__ = error
    return OperationalError("SELECT 1", {}, wrapper)


DOWN: dict[str, Exception] = {
    "connection refused": ConnectionRefusedError(111, "Connect call failed"),
    "connect timed out": TimeoutError(),
    "server starting or stopping": CannotConnectNowError("the database system is shutting down"),
    "connection lost mid-query": ConnectionDoesNotExistError("connection was closed"),
    "adapted by SQLAlchemy": _adapted(CannotConnectNowError("the database system is starting up")),
    "pool timeout": PoolTimeout("QueuePool limit of size 10 overflow 20 reached"),
}


@pytest.fixture
def raising_app() -> FastAPI:
    """An app whose route raises what it is told: the problem handlers, alone."""
    app = FastAPI(title="raising")
    install_problem_handlers(app)

    @app.get("/raise/{name}")
    async def _raise(name: str) -> None:
        if name == "integrity":
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        if name == "wrapped":
            raise RuntimeError("while reading the epoch") from ConnectionRefusedError()
        raise DOWN[name]

    return app


@pytest.mark.parametrize("name", [*DOWN, "wrapped"])
async def test_each_way_the_database_is_down_answers_503_with_retry_after(
    raising_app: FastAPI, name: str
) -> None:
    transport = httpx.ASGITransport(app=raising_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://a") as client:
        r = await client.get(f"/raise/{name}")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert r.json()["detail"] == "the database is unavailable; retry later"


async def test_a_database_error_that_is_not_an_outage_stays_500(raising_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=raising_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://a") as client:
        r = await client.get("/raise/integrity")
    assert r.status_code == 500
    assert "retry-after" not in r.headers


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never says a word: a frozen server, a host whose
    answers are lost. Only the connect timeout ends a wait for it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_a_database_that_never_answers_is_503_within_the_connect_timeout(
    tmp_path: Path, black_hole: int
) -> None:
    """Without a connect timeout asyncpg waits 60 s for the handshake, past the client's 20."""
    from services.registry.main import SERVICE

    url = f"postgresql+asyncpg://kuaiche:kuaiche@127.0.0.1:{black_hole}/none"
    settings = make_settings("registry", url, tmp_path).model_copy(
        update={"db_timeouts": Timeouts(connect=0.5, pool=1.0, statement=1.0)}
    )
    app = build_app(SERVICE, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r") as client:
            r = await asyncio.wait_for(client.get("/v1/projects", headers=COMMANDER), 20)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            ready = await asyncio.wait_for(client.get("/readyz"), 20)
            assert ready.status_code == 503


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    outage = OutageLog(logging.getLogger("test.outage"), "relay")
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for _ in range(50):
            outage.failed(ConnectionRefusedError(111, "refused"))
        outage.succeeded()
        outage.succeeded()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "unavailable" in lines[0] and "ConnectionRefusedError" in lines[0]
    assert "back after" in lines[1] and "50 failures" in lines[1]
