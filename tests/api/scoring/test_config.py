"""Scoring's own settings (`KUAICHE_SCORING_*`) are read when the service starts: a bad value
refuses the start with the reason, instead of failing every request later."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.scoring.main import SERVICE
from shared.bus.inprocess import InProcessBus
from shared.runtime import open_runtime
from tests.conftest import make_settings


async def test_inverted_lagging_thresholds_refuse_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUAICHE_SCORING_LAGGING_YELLOW_POINTS", "40")
    settings = make_settings("scoring", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    with pytest.raises(ValueError, match="LAGGING_YELLOW_POINTS must be below"):
        await open_runtime(SERVICE, settings, InProcessBus())


async def test_thresholds_from_the_environment_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUAICHE_SCORING_UNSTARTED_RED_AFTER_MONTHS", "2")
    settings = make_settings("scoring", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    runtime = await open_runtime(SERVICE, settings, InProcessBus())
    try:
        assert runtime.config.thresholds.unstarted_red_after_months == 2
    finally:
        await runtime.close()
