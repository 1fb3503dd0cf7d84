"""A first pass through the service: events in, a scorecard out."""

from __future__ import annotations

import datetime as dt

from tests.api.scoring.conftest import ScoringApp
from tests.conftest import COMMANDER
from tests.support.upstream import BINCHENG


async def test_a_start_dated_in_april_counts_in_aprils_card(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=dt.date(2020, 4, 1))
    other = await up.register(BINCHENG, planned_start=dt.date(2020, 6, 1))
    await up.start(pid, dt.date(2020, 4, 10))
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 4, "400")
    await scoring.settled()
    r = await scoring.client.get(
        f"/v1/scorecards/{BINCHENG}", params={"year": 2020, "month": 4}, headers=COMMANDER
    )
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["figures"]["planned_starts"] == 2
    assert card["figures"]["started"] == 1
    assert card["figures"]["start_rate"] == "50.0"
    assert card["figures"]["new_starts"] == 1
    assert card["figures"]["investment_completion_rate"] == "33.3"
    march = await scoring.client.get(
        f"/v1/scorecards/{BINCHENG}", params={"year": 2020, "month": 3}, headers=COMMANDER
    )
    assert march.status_code == 200, march.text
    assert march.json()["figures"]["started"] == 0
    assert other
