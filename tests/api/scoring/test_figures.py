"""GET /v1/figures: the figures of every division the caller may see, together: the city's for
the command office and viewers, a county's own for a county. Counts and amounts are the sums of
the scorecards' figures; rates are computed from the sums (never averaged)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    DIVISIONS,
    assert_problem,
    body_of,
    card,
    cards,
    county_token,
    department_token,
)
from tests.conftest import COMMANDER, VIEWER
from tests.support.upstream import BINCHENG, BOXING, ZOUPING

D = dt.date
COUNTS = (
    "planned_starts",
    "started",
    "new_starts",
    "new_starts_ytd",
    "completions",
    "key_projects",
    "problems_collected",
    "problems_resolved",
    "problems_on_time",
    "problems_overdue",
    "factor_allocations",
    "unstarted_projects",
    "lagging_projects",
)
AMOUNTS = ("annual_plan", "ytd_investment", "credit_granted")


async def figures(
    scoring: ScoringApp, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    r = await scoring.client.get(
        "/v1/figures", params={"year": 2020, "month": 4, **params}, headers=headers or COMMANDER
    )
    return body_of(r)  # type: ignore[no-any-return]


async def a_month(scoring: ScoringApp) -> None:
    """Bincheng: its one planned start started (100%), a plan 1,000 with 500 done, two problems
    collected and one resolved on time, 10 亩 of land and 300 万元 of credit. Boxing: none of
    its three planned starts (0%), a plan 3,000 with 100 done, one problem flagged overdue, a
    5 亩 allocation. Zouping: nothing planned this year (a rate over nothing)."""
    up = scoring.upstream
    a = await up.register(BINCHENG, planned_start=D(2020, 2, 1), level="city_key")
    await up.start(a, D(2020, 3, 5))
    await up.plan(a, 2020, "1000")
    await up.report(a, 2020, 3, "500")
    b = [
        await up.register(BOXING, planned_start=D(2020, 1, 10), level=level)
        for level in ("county_key", "county_key", None)
    ]
    await up.start(b[0], D(2020, 5, 2))  # after April: not started by the period's end
    await up.plan(b[1], 2020, "3000")
    await up.report(b[1], 2020, 4, "100")
    await up.register(ZOUPING, planned_start=D(2021, 3, 1), level="provincial_preferred")
    q1 = await up.report_problem(a, D(2020, 3, 2))
    await up.assign(q1, D(2020, 3, 3), D(2020, 3, 10))
    await up.resolve(q1, D(2020, 3, 9))
    await up.report_problem(a, D(2020, 4, 1), category="funds", title="资金缺口")
    q3 = await up.report_problem(b[1], D(2020, 3, 20))
    await up.assign(q3, D(2020, 3, 21), D(2020, 3, 27))
    await up.flag_overdue(q3, D(2020, 3, 28))
    await up.allocate(a, amount="10")
    await up.allocate(b[1], amount="5.5")
    await up.grant(a, 2020, "300")
    await scoring.settled()


async def test_the_city_figures_are_the_divisions_summed_and_rates_from_the_sums(
    scoring: ScoringApp,
) -> None:
    await a_month(scoring)
    city = await figures(scoring)
    assert (city["year"], city["month"], city["scope"], city["name"]) == (2020, 4, "city", "滨州市")
    assert city["divisions"] == list(DIVISIONS)
    every = (await cards(scoring, limit=500))["items"]
    assert len(every) == 10
    f = city["figures"]
    for key in COUNTS:
        assert f[key] == sum(c["figures"][key] for c in every), key
    for key in AMOUNTS:
        assert Decimal(f[key]) == sum(Decimal(c["figures"][key]) for c in every), key
    # the sums, as this month has them
    assert (f["planned_starts"], f["started"]) == (4, 1)
    assert (f["annual_plan"], f["ytd_investment"], f["credit_granted"]) == ("4000", "600", "300")
    assert (f["problems_collected"], f["problems_resolved"], f["problems_overdue"]) == (3, 1, 1)
    assert (f["key_projects"], f["unstarted_projects"], f["factor_allocations"]) == (4, 3, 2)
    # rates from the sums: Bincheng's 100% and Boxing's 0% start rates are not averaged to 50
    assert f["start_rate"] == "25.0"
    assert f["investment_completion_rate"] == "15.0"  # 600 / 4,000
    assert f["time_target"] == "33.3"
    assert f["schedule_rate"] == "45.0"  # 600 × 12 / (4,000 × 4)
    assert f["investment_lag"] == "-18.3"
    assert f["resolution_rate"] == "33.3"  # 1 / 3
    assert f["on_time_rate"] == "100.0"
    assert set(f) == set(every[0]["figures"])  # the scorecard's keys, no more, no fewer
    assert city["key_projects_by_level"] == {
        "city_key": 1,
        "county_key": 2,
        "provincial_preferred": 1,
    }
    assert city["factor_support"] == {"land": {"count": 2, "amount": "15.5", "unit": "mu"}}
    assert await figures(scoring, VIEWER) == city


async def test_a_county_gets_its_own_figures_which_are_its_scorecards(scoring: ScoringApp) -> None:
    await a_month(scoring)
    own = county_token(BOXING)
    mine = await figures(scoring, own)
    assert (mine["scope"], mine["name"], mine["divisions"]) == (BOXING, "博兴县", [BOXING])
    scorecard = await card(scoring, BOXING, headers=own)
    assert mine["figures"] == scorecard["figures"]
    assert mine["key_projects_by_level"] == scorecard["key_projects_by_level"]
    assert mine["factor_support"] == scorecard["factor_support"]
    assert mine["figures"]["start_rate"] == "0.0"
    # a county with nothing planned this year: the rate over nothing is null, as on its card
    zouping = await figures(scoring, county_token(ZOUPING))
    assert zouping["figures"]["start_rate"] is None
    assert zouping["figures"]["key_projects"] == 1
    assert zouping["figures"] == (await card(scoring, ZOUPING))["figures"]


async def test_who_may_not_and_what_is_refused(scoring: ScoringApp) -> None:
    await a_month(scoring)
    # a department sees no division's details, as with the scorecards
    r = await scoring.client.get(
        "/v1/figures", params={"year": 2020, "month": 4}, headers=department_token()
    )
    assert_problem(r, 403)
    assert_problem(await scoring.client.get("/v1/figures", params={"year": 2020, "month": 4}), 401)
    future = dt.date.today() + dt.timedelta(days=62)
    r = await scoring.client.get(
        "/v1/figures", params={"year": future.year, "month": future.month}, headers=COMMANDER
    )
    body = assert_problem(r, 409, "has not begun")
    assert body["errors"] == [{"field": "month", "message": "a future period"}]
    for params in (
        {"year": 2020, "month": 13},
        {"year": 2020},
        {"month": 4},
        {"year": "x", "month": 4},
    ):
        assert_problem(
            await scoring.client.get("/v1/figures", params=params, headers=COMMANDER), 422
        )
