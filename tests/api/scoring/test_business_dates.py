"""A period's figures go by the business dates the events carry, not by when they arrived."""

from __future__ import annotations

import datetime as dt

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import card, figures, points
from tests.support.upstream import BINCHENG

D = dt.date


async def test_a_start_dated_in_april_entered_after_aprils_card_was_read_counts_in_april(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 4, 1))
    await scoring.settled()
    first = await card(scoring, BINCHENG)
    assert (first["figures"]["started"], first["figures"]["new_starts"]) == (0, 0)
    assert points(first)["starts"] == "0.00"

    await up.start(pid, D(2020, 4, 10))  # entered late, dated in April
    await scoring.settled()
    april = await card(scoring, BINCHENG)
    assert (april["figures"]["started"], april["figures"]["start_rate"]) == (1, "100.0")
    assert (april["figures"]["new_starts"], april["figures"]["new_starts_ytd"]) == (1, 1)
    assert points(april)["starts"] == "25.00"
    march = await figures(scoring, BINCHENG, month=3)
    assert (march["started"], march["new_starts"]) == (0, 0)
    may = await figures(scoring, BINCHENG, month=5)
    assert (may["started"], may["new_starts"], may["new_starts_ytd"]) == (1, 0, 1)


async def test_a_problem_reported_on_2019_12_30_does_not_count_in_2020(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    q = await up.report_problem(pid, D(2019, 12, 30))
    await up.resolve(q, D(2020, 1, 3))
    await scoring.settled()
    for month in (1, 4):
        f = await figures(scoring, BINCHENG, 2020, month)
        assert (f["problems_collected"], f["problems_resolved"]) == (0, 0), month
        assert f["resolution_rate"] is None
    december = await figures(scoring, BINCHENG, 2019, 12)
    assert (december["problems_collected"], december["problems_resolved"]) == (1, 0)


async def test_a_start_dated_after_the_period_does_not_count_in_it(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 4, 1))
    await up.start(pid, D(2020, 5, 6))
    await scoring.settled()
    assert (await figures(scoring, BINCHENG))["started"] == 0
    assert (await figures(scoring, BINCHENG, month=5))["started"] == 1


async def test_a_report_for_a_later_month_does_not_count_in_an_earlier_period(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 3, "200")
    await up.report(pid, 2020, 5, "600")
    await scoring.settled()
    assert (await figures(scoring, BINCHENG))["ytd_investment"] == "200"
    assert (await figures(scoring, BINCHENG, month=5))["ytd_investment"] == "600"


async def test_a_withdrawal_dated_after_the_period_does_not_change_that_periods_card(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    started = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    later_withdrawn = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await up.start(started, D(2020, 3, 5))
    await up.withdraw(later_withdrawn, D(2020, 6, 15))
    await scoring.settled()
    april = await figures(scoring, BINCHENG)
    assert (april["planned_starts"], april["start_rate"]) == (2, "50.0")
    assert april["unstarted_projects"] == 1
    assert (await figures(scoring, BINCHENG, month=6))["planned_starts"] == 1
