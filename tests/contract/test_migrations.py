"""Every service's Alembic history builds exactly the schema its models declare, on SQLite and
on PostgreSQL (a model change without a migration fails here)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kuaiche.services import SERVICES
from shared.db import make_engine
from shared.migrations import upgrade
from tests.conftest import create_database, need


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_migrations_match_the_models(name: str, backend: str, tmp_path) -> None:
    definition = SERVICES[name]
    if backend == "postgres":
        url = await create_database(need("KUAICHE_TEST_POSTGRES_URL"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    await upgrade(definition, url)
    await upgrade(definition, url)  # a second run is a no-op
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    definition.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_issues_0002_gives_calendar_years_uploaded_before_it_version_1(
    backend: str, tmp_path
) -> None:
    """A year uploaded before calendar versions existed is its first version, so the next upload
    publishes version 2."""
    if backend == "postgres":
        url = await create_database(need("KUAICHE_TEST_POSTGRES_URL"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    definition = SERVICES["issues"]
    await upgrade(definition, url, "0001")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO calendar_years (year, holidays, workdays, note, uploaded_by,"
                    " uploaded_at) VALUES (2027, '[\"2027-01-01\"]', '[]', NULL, 'commander:x', :at)"
                ),
                {"at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC)},
            )
        await upgrade(definition, url)
        async with engine.connect() as conn:
            got = (await conn.execute(sa.text("SELECT year, version FROM calendar_years"))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in got] == [(2027, 1)]
