"""Alembic for every service: each service keeps its own history under
`services/<name>/migrations/`, and its env.py calls `run_env` here.

`upgrade(definition, url)` runs inside an event loop (it shares one async connection with
Alembic), so `kuaiche up`, `kuaiche migrate` and the tests all migrate the same way.
"""

from __future__ import annotations

import asyncio
from importlib import resources

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection

from shared.db import Timeouts, make_engine
from shared.idempotency import idempotency_columns
from shared.inbox import inbox_columns
from shared.outbox import outbox_columns
from shared.service import ServiceDefinition


def alembic_config(migrations_package: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files(migrations_package)))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# A migration's statements (an index over a large table) may run long: no statement bound.
MIGRATION_TIMEOUTS = Timeouts(statement=None)


def _upgrade(connection: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(definition: ServiceDefinition, url: str, revision: str = "head") -> None:
    cfg = alembic_config(definition.migrations_package, url)
    engine = make_engine(url, poolclass=pool.NullPool, timeouts=MIGRATION_TIMEOUTS)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, cfg, revision)
    finally:
        await engine.dispose()


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection, target_metadata)
        return
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = make_engine(
            config.get_main_option("sqlalchemy.url") or "",
            poolclass=pool.NullPool,
            timeouts=MIGRATION_TIMEOUTS,
        )
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run, target_metadata)
        await engine.dispose()

    asyncio.run(online())


def _configure_and_run(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def create_backbone_tables() -> None:
    """Create the service's `outbox`, `inbox` and `idempotency_keys` tables (call from its
    first migration)."""
    op.create_table("idempotency_keys", *idempotency_columns())
    op.create_table("inbox", *inbox_columns())
    op.create_table("outbox", *outbox_columns())
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def drop_backbone_tables() -> None:
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("idempotency_keys")
