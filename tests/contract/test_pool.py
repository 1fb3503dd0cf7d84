"""Pooled PostgreSQL connections: a dead one is never handed out, without a ping per checkout;
a session can read outside a transaction (`one_statement`) and the connection goes back as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import shared.db
from shared.db import make_engine, make_session_factory, one_statement
from tests.conftest import create_database, need, wait_until


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = make_engine(await create_database(need("KUAICHE_TEST_POSTGRES_URL")), pool_size=1)
    yield engine
    await engine.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pings of pooled connections (three round trips each)."""
    counted: list[int] = []
    ping = AsyncAdapt_asyncpg_connection.ping

    def counting(self: Any) -> None:
        counted.append(1)
        ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting)
    return counted


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)


async def test_a_connection_the_server_closed_is_replaced_at_checkout(
    engine: AsyncEngine, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    async with engine.connect() as conn:  # the pool's one connection
        raw: Any = (await conn.get_raw_connection()).driver_connection
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        async with other.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    finally:
        await other.dispose()

    async def closed() -> bool:
        return bool(raw.is_closed())

    await wait_until(closed, timeout=10, what="the terminated connection seen closed")

    assert await backend_pid(engine) != first  # no error: a new connection was opened
    assert pings == []


async def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(
    engine: AsyncEngine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        await backend_pid(engine)
    assert pings == []

    monkeypatch.setattr(shared.db, "PING_AFTER_IDLE", 0.0)
    await backend_pid(engine)
    assert pings == [1]


async def transaction_ids(session: AsyncSession) -> set[int]:
    """The transaction of each of two statements (`txid_current` assigns one if none is)."""
    return {int(await session.scalar(text("SELECT txid_current()")) or 0) for _ in range(2)}


async def test_a_session_in_one_statement_reads_outside_a_transaction_then_gives_it_back(
    engine: AsyncEngine,
) -> None:
    sessions = make_session_factory(engine)  # the pool's one connection, each time
    async with sessions() as session:
        assert len(await transaction_ids(session)) == 1  # BEGIN … ROLLBACK around them
    async with sessions() as session:
        await one_statement(session)
        assert len(await transaction_ids(session)) == 2  # each statement its own
    async with sessions() as session:  # the same connection, in a transaction again
        assert len(await transaction_ids(session)) == 1
