"""The ledger's invariant under concurrency on the embedded SQLite default (every writer is
serialised there): the same tests as on PostgreSQL, in
tests/integration/test_factors_ledger_under_concurrency.py, over three replicas sharing one
SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_factors_ledger_under_concurrency import (
    Replicas,
    started_replicas,
    test_a_ring_fence_holds_under_concurrency,
    test_concurrent_allocations_grant_exactly_as_many_as_fit,
    test_expiry_scans_on_every_replica_release_each_allocation_once,
    test_releases_and_allocations_racing_keep_the_ledger_exact,
)

__all__ = [
    "test_a_ring_fence_holds_under_concurrency",
    "test_concurrent_allocations_grant_exactly_as_many_as_fit",
    "test_expiry_scans_on_every_replica_release_each_allocation_once",
    "test_releases_and_allocations_racing_keep_the_ledger_exact",
]


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[Replicas]:
    async with started_replicas(
        f"sqlite+aiosqlite:///{tmp_path / 'factors.sqlite3'}", tmp_path
    ) as r:
        yield r
