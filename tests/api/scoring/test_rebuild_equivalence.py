"""Rebuild equivalence on the embedded default (SQLite + in-process bus): the incremental read
model and the rebuilt one are the same, row for row and card for card (`equivalence`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.scoring.main import SERVICE
from services.scoring.readmodel import Feed
from shared.bus.inprocess import InProcessBus
from tests.api.scoring.equivalence import check_equivalence
from tests.conftest import make_settings
from tests.support.upstream import Upstream


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_incremental_equals_rebuilt_embedded(tmp_path: Path, seed: int) -> None:
    bus = InProcessBus()
    settings = make_settings("scoring", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    await check_equivalence(seed, bus, settings, Feed.of(SERVICE), Upstream(bus), steps=400)
