"""Database helpers: async engines for PostgreSQL (asyncpg) and the embedded SQLite default."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiosqlite
from asyncpg.exceptions import ConnectionDoesNotExistError
from sqlalchemy import (
    JSON,
    DateTime,
    Select,
    Table,
    TypeDecorator,
    event,
    func,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


@dataclass(frozen=True)
class Timeouts:
    """How long a caller waits for PostgreSQL before it gives up with an error that
    `is_unavailable` recognises (an API answers 503, a worker retries), rather than hanging:
    `connect` for a new connection (asyncpg's default is 60 s: a server that accepts and never
    answers, a host that drops packets), `pool` for a free connection of the pool, `statement`
    for one statement's answer (asyncpg's `command_timeout`; None: no bound, for a caller whose
    statements may legitimately run long)."""

    connect: float = 3.0
    pool: float = 10.0
    statement: float | None = 60.0


def make_engine(
    url: str, *, same_thread: bool = False, timeouts: Timeouts | None = None, **kwargs: Any
) -> AsyncEngine:
    """An engine for `url`. `same_thread` (SQLite only) runs each statement on the event loop's
    own thread instead of handing it to the connection's worker thread and waiting for the
    answer: for a single caller running many small transactions one after another (the demo
    loaders), where that hand-off costs more than the statement. Any other caller waits
    for SQLite inside the loop, and a second writer of the same database in the same loop
    would wait for a lock that the first can never release: so such an engine gives up on a
    lock at once (a loud error, not a hang) and must not serve requests. `timeouts` bound the
    waits for PostgreSQL (`Timeouts`' defaults when not given)."""
    if url.startswith("sqlite"):
        if same_thread:
            database = make_url(url).database or ""
            kwargs["async_creator"] = partial(_same_thread_connection, database)
        else:
            kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        _serialise_sqlite_writers(engine, busy_timeout_ms=0 if same_thread else 30000)
        return engine
    timeouts = timeouts or Timeouts()
    connect_args = {"timeout": timeouts.connect, "command_timeout": timeouts.statement}
    kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    if "poolclass" not in kwargs:
        kwargs = {"pool_size": 10, "max_overflow": 20, "pool_timeout": timeouts.pool, **kwargs}
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _check_connections_on_checkout(engine)
    return engine


# A pooled connection idle longer than this is pinged before use.
PING_AFTER_IDLE = 10.0


def _check_connections_on_checkout(engine: AsyncEngine) -> None:
    """Hand out no dead connection, at less than SQLAlchemy's pre-ping costs on asyncpg: three
    round trips (BEGIN, a query, ROLLBACK) on every checkout, a third of a short request's. A
    connection the server closed (a restart, a terminated backend: asyncpg sees its socket
    close) is replaced without a round trip; one idle longer than `PING_AFTER_IDLE` (which a
    firewall may have dropped without a word) is pinged as before. Raising DisconnectionError
    makes the pool replace the connection and check out again."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        is_closed = getattr(dbapi_connection.driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            raise DisconnectionError("the server closed the connection")
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError(f"the connection did not answer a ping: {exc!r}") from exc


class _SameThreadConnection(aiosqlite.Connection):
    """aiosqlite's connection, each call made right here on the loop's thread once connected.
    (Connecting, closing and SQLAlchemy's isolation-level setting still go through aiosqlite's
    worker thread, as aiosqlite does them.)"""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            return await super()._execute(fn, *args, **kwargs)  # raises "Connection closed"
        return fn(*args, **kwargs)


async def _same_thread_connection(database: str) -> aiosqlite.Connection:
    connector = partial(sqlite3.connect, database, timeout=0, check_same_thread=False)
    connection = _SameThreadConnection(connector, iter_chunk_size=64)
    # as SQLAlchemy's aiosqlite dialect does (before aiosqlite 0.22 the connection was the thread)
    worker = getattr(connection, "_thread", connection)
    if isinstance(worker, threading.Thread):
        worker.daemon = True
    return await connection


def _serialise_sqlite_writers(engine: AsyncEngine, busy_timeout_ms: int = 30000) -> None:
    """SQLite defers locking to the first write, which lets two transactions read the same
    row and both write. BEGIN IMMEDIATE takes the write lock up front, so transactions on the
    embedded default are serialised exactly as the rules need; WAL keeps readers unblocked."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(bind: AsyncEngine | AsyncSession) -> bool:
    engine = bind.get_bind() if isinstance(bind, AsyncSession) else bind
    return engine.dialect.name == "postgresql"


async def one_statement(session: AsyncSession) -> None:
    """On PostgreSQL, run what the session reads next outside a transaction (call it before its
    first statement): for a read that is one statement, which sees one snapshot by itself, it
    saves the BEGIN and ROLLBACK round trips. SQLite keeps its transactions (`BEGIN IMMEDIATE`
    serialises writers there; a read holds no lock for long)."""
    if is_postgres(session):
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def insert_many(
    session: AsyncSession, table: Table, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `records` (tuples of `columns`' values, Python types as the columns map them) into
    `table` in the session's transaction, in bulk: PostgreSQL's COPY (asyncpg's
    `copy_records_to_table`, binary), or one executemany on SQLite. For loads of thousands of
    rows (a rebuilt read model). COPY runs no column type's Python-side conversion but JSON's
    (serialised here as SQLAlchemy would), so the other values must already be what the
    database takes (timezone-aware datetimes, Decimals, dates)."""
    if not records:
        return
    if is_postgres(session):
        connection = await session.connection()
        driver: Any = (await connection.get_raw_connection()).driver_connection
        if not driver.is_in_transaction():
            # The adapter begins its transaction at the first statement it runs; COPY goes
            # around it, so begin it here, or COPY would commit on its own.
            await connection.execute(text("SELECT 1"))
        records = _json_as_text(connection.dialect, table, columns, records)
        await driver.copy_records_to_table(
            table.name, records=records, columns=list(columns), schema_name=table.schema
        )
        return
    await session.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in records])


def _json_as_text(
    dialect: Any, table: Table, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> Sequence[tuple[Any, ...]]:
    """The records with their JSON columns' values as SQLAlchemy's JSON type binds them (its own
    bind processor: the dialect's serialiser; None as JSON null unless `none_as_null`)."""
    binds: dict[int, Callable[[Any], Any]] = {}
    for i, c in enumerate(columns):
        kind = table.c[c].type
        if isinstance(kind, JSON) and (bind := kind.dialect_impl(dialect).bind_processor(dialect)):
            binds[i] = bind
    if not binds:
        return records
    return [tuple(binds[i](v) if i in binds else v for i, v in enumerate(r)) for r in records]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL and on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# SQLSTATEs that mean "not now", not "this input is bad": classes 08 connection exception,
# 40 transaction rollback (deadlock, serialization failure), 53 insufficient resources,
# 57 operator intervention (shutdown); and 55P03 lock not available.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "40", "53", "57")
_UNAVAILABLE_SQLSTATES = ("55P03",)


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database (or the network to it) is down or refused for now
    (a deadlock, a lock timeout): retry later, answer 503, never dead-letter an event for it.
    The one test of it: shared.http.problems maps it to 503, the workers retry on it. Covers
    a refused or timed-out connection, the server starting up or shutting down (57P03,
    asyncpg's CannotConnectNowError), a connection lost mid-statement (08xxx, asyncpg's
    ConnectionDoesNotExistError), a statement past `Timeouts.statement`, and no free
    connection in the pool within `Timeouts.pool`."""
    if isinstance(
        exc, (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)
    ):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # The driver's own error (asyncpg's, where SQLAlchemy did not wrap it) and what caused it
    cause: BaseException | None = exc.orig if isinstance(exc, DBAPIError) else exc
    while cause is not None:
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(sqlstate, str) and (
            sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        if isinstance(cause, (OSError, ConnectionDoesNotExistError)):  # OSError: refused, timed out
            return True
        cause = cause.__cause__
    return False


NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names every service's metadata uses, so migrations name them the same way on
SQLite and PostgreSQL."""


async def paginate(
    session: AsyncSession, query: Select[Any], limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of an ordered `query`, and how many rows it has in all (`{items, total}`)."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = await session.scalars(query.limit(limit).offset(offset))
    return list(page.all()), int(total or 0)


# The longest pause between two tries of a worker's loop while the database is down: short,
# so that it resumes within seconds once it is back (a try costs a refused connection).
DATABASE_RETRY_CAP = 3.0


def retry_pause(failures: int, database_down: bool, base: float = 0.5) -> float:
    """How long a worker's loop waits before its next try after `failures` failures in a row:
    doubling from `base`, up to `DATABASE_RETRY_CAP` when the database is down, 30 s for
    anything else (a bug should not spin)."""
    return min(DATABASE_RETRY_CAP if database_down else 30.0, base * 2**failures)


class OutageLog:
    """Tells an operator once that the database went away and once that it came back, with how
    long it was gone, instead of a traceback per retry and request: a worker's loops and an
    API's answers fail many times a second while it is down. `failed` for each failure
    `is_unavailable` recognised (repeats at DEBUG, and a reminder every `remind_every`
    seconds); `succeeded` after each success (cheap when nothing was down)."""

    def __init__(
        self,
        logger: logging.Logger,
        who: str,
        meanwhile: str = "retrying",
        remind_every: float = 60.0,
    ) -> None:
        self.logger = logger
        self.who = who
        self.meanwhile = meanwhile
        self.remind_every = remind_every
        self.down_since: float | None = None
        self._reminded = 0.0
        self._failures = 0

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._failures += 1
        if self.down_since is None:
            self.down_since = self._reminded = now
            self.logger.warning(
                "%s: the database is unavailable (%s); %s until it is back",
                self.who,
                _describe(exc),
                self.meanwhile,
            )
        elif now - self._reminded >= self.remind_every:
            self._reminded = now
            self.logger.warning(
                "%s: the database is still unavailable after %.0f s (%d failures: %s)",
                self.who,
                now - self.down_since,
                self._failures,
                _describe(exc),
            )
        else:
            self.logger.debug("%s: the database is unavailable (%s)", self.who, _describe(exc))

    def succeeded(self) -> None:
        if self.down_since is not None:
            self.logger.warning(
                "%s: the database is back after %.1f s (%d failures meanwhile)",
                self.who,
                time.monotonic() - self.down_since,
                self._failures,
            )
            self.down_since = None
            self._failures = 0


def _describe(exc: BaseException) -> str:
    """The root of an error in one line: `ConnectionRefusedError: [Errno 111] ...`."""
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return f"{type(root).__name__}: {str(root).splitlines()[0] if str(root) else ''}"
