"""Every service's Alembic history builds exactly the schema its models declare, on SQLite and
on PostgreSQL (a model change without a migration fails here)."""

from __future__ import annotations

import pytest
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
