"""A database that is down is a 503 and a retry, never a 500 or a dead letter."""

from __future__ import annotations

import httpx
import pytest

from shared.db import is_unavailable
from shared.http.app import build_app
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
    assert "Traceback" not in r.text
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"].startswith("unavailable")


async def test_an_idempotent_post_while_the_database_is_down_is_503(
    registry_without_database,
) -> None:
    r = await registry_without_database.post(
        "/v1/projects", json={}, headers={**COMMANDER, "Idempotency-Key": "k1"}
    )
    assert r.status_code == 503
