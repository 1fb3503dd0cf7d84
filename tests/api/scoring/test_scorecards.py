"""Scorecards: every division's raw figures and points for a period, built only from the events
the other services publish, by the business dates those events carry."""

from __future__ import annotations

import datetime as dt

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    DIVISIONS,
    assert_problem,
    card,
    cards,
    figures,
    points,
)
from tests.conftest import COMMANDER
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA

D = dt.date
INDICATORS = ["investment", "starts", "resolution", "on_time", "factors", "service"]
INDICATORS += ["unstarted", "overdue"]


# ---- shape and addressing
async def test_the_list_has_all_ten_binzhou_divisions_with_indicators_total_rank_and_tier(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BOXING, planned_start=D(2020, 4, 1))
    await up.start(pid, D(2020, 4, 10))
    await scoring.settled()

    body = await cards(scoring)
    assert (body["year"], body["month"], body["scheme_version"]) == (2020, 4, "default")
    items = body["items"]
    assert sorted(c["county"] for c in items) == sorted(DIVISIONS)
    assert {c["county"]: c["name"] for c in items} == DIVISIONS
    # Ordered by rank: Boxing's start puts it first; the other nine share the next rank.
    assert items[0]["county"] == BOXING
    assert (items[0]["total"], items[0]["rank"], items[0]["tier"]) == ("32.00", 1, "先进")
    assert [c["county"] for c in items[1:]] == [c for c in DIVISIONS if c != BOXING]
    for c in items:
        assert [i["key"] for i in c["indicators"]] == INDICATORS
        assert all({"key", "value", "points"} <= set(i) for i in c["indicators"])
        assert (c["year"], c["month"], c["scheme_version"]) == (2020, 4, "default")
    assert {(c["total"], c["rank"], c["tier"]) for c in items[1:]} == {("7.00", 2, "先进")}


async def test_a_card_shows_each_indicators_raw_value_and_points(scoring: ScoringApp) -> None:
    up = scoring.upstream
    started = await up.register(BINCHENG, planned_start=D(2020, 4, 1))
    await up.register(BINCHENG, planned_start=D(2020, 2, 1))  # unstarted for two months
    await up.start(started, D(2020, 4, 10))
    await up.plan(started, 2020, "1200")
    await up.report(started, 2020, 4, "300")
    await scoring.settled()

    c = await card(scoring, BINCHENG)
    values = {i["key"]: i["value"] for i in c["indicators"]}
    assert values["investment"] == "75.0"  # 300 × 12 / (1200 × 4)
    assert values["starts"] == "50.0"
    assert values["unstarted"] == 1
    assert points(c) == {
        "investment": "30.00",
        "starts": "12.50",
        "resolution": "0.00",
        "on_time": "0.00",
        "factors": "0.00",
        "service": "7.00",
        "unstarted": "-1.00",
        "overdue": "0.00",
    }
    assert c["total"] == "48.50"
    assert (c["rank"], c["tier"]) == (1, "先进")


async def test_a_card_is_found_by_code_by_old_code_and_by_name(scoring: ScoringApp) -> None:
    for key in (ZHANHUA, "371624", "沾化区"):
        c = await card(scoring, key)
        assert (c["county"], c["name"]) == (ZHANHUA, "沾化区"), key


async def test_an_unknown_county_is_404(scoring: ScoringApp) -> None:
    r = await scoring.client.get(
        "/v1/scorecards/370102", params={"year": 2020, "month": 4}, headers=COMMANDER
    )
    assert_problem(r, 404, "370102")


async def test_a_bad_period_is_422(scoring: ScoringApp) -> None:
    for params, field in (
        ({"year": 2020, "month": 13}, "month"),
        ({"year": 2020, "month": 0}, "month"),
        ({"month": 4}, "year"),
        ({"year": 2020}, "month"),
    ):
        for path in ("/v1/scorecards", f"/v1/scorecards/{BINCHENG}"):
            body = assert_problem(
                await scoring.client.get(path, params=params, headers=COMMANDER), 422
            )
            assert field in {e["field"] for e in body["errors"]}, (path, params, body)


async def test_a_period_that_has_not_begun_is_409(scoring: ScoringApp) -> None:
    """A month after today's matches the schema (years to 2100) but breaks a rule against
    today's date: 409, naming the month."""
    for path, params in (
        ("/v1/scorecards", {}),
        (f"/v1/scorecards/{BINCHENG}", {}),
        ("/v1/rankings", {}),
        ("/v1/exposure", {"kind": "unstarted"}),
    ):
        r = await scoring.client.get(
            path, params={"year": 2099, "month": 1, **params}, headers=COMMANDER
        )
        body = assert_problem(r, 409, "2099-01")
        assert body["errors"] == [{"field": "month", "message": "a future period"}]


# ---- starts
async def test_start_rate_counts_implementation_projects_planned_to_start_this_year(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    march = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    early = await up.register(BINCHENG, planned_start=D(2020, 5, 1))  # starts before its plan
    await up.register(BINCHENG, planned_start=D(2020, 6, 1))  # not started yet
    prep = await up.register(BINCHENG, planned_start=D(2020, 2, 1), track="preparation")
    await up.register(BINCHENG, planned_start=D(2021, 3, 1))  # next year's
    await up.register(BINCHENG, planned_start=None)  # no start planned
    await up.start(march, D(2020, 3, 20))
    await up.start(early, D(2020, 4, 2))
    await up.start(prep, D(2020, 4, 3))  # a start, but not in the base
    await scoring.settled()

    april = await figures(scoring, BINCHENG)
    assert (april["planned_starts"], april["started"], april["start_rate"]) == (3, 2, "66.7")
    assert (april["new_starts"], april["new_starts_ytd"]) == (2, 3)
    march_card = await figures(scoring, BINCHENG, month=3)
    assert (march_card["planned_starts"], march_card["started"]) == (3, 1)
    assert (march_card["start_rate"], march_card["new_starts"]) == ("33.3", 1)
    # Other divisions have no projects: no rate at all, not 0%.
    assert (await figures(scoring, BOXING))["start_rate"] is None


async def test_completions_count_by_the_completion_date_in_the_year(scoring: ScoringApp) -> None:
    up = scoring.upstream
    done = await up.register(BINCHENG, planned_start=D(2020, 1, 1))
    old = await up.register(BINCHENG, planned_start=D(2019, 1, 1))
    await up.start(done, D(2020, 1, 15))
    await up.complete(done, D(2020, 4, 20))
    await up.start(old, D(2019, 2, 1))
    await up.complete(old, D(2019, 12, 1))
    await scoring.settled()

    assert (await figures(scoring, BINCHENG, month=3))["completions"] == 0
    april = await figures(scoring, BINCHENG)
    assert april["completions"] == 1
    assert april["started"] == 1  # a completed project was still started
    assert (await figures(scoring, BINCHENG, 2019, 12))["completions"] == 1


async def test_a_withdrawn_project_drops_out_of_the_start_rate_base(scoring: ScoringApp) -> None:
    up = scoring.upstream
    started = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    gone = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await up.start(started, D(2020, 3, 5))
    await scoring.settled()
    before = await figures(scoring, BINCHENG)
    assert (before["planned_starts"], before["start_rate"], before["unstarted_projects"]) == (
        2,
        "50.0",
        1,
    )

    await up.withdraw(gone, D(2020, 4, 1))
    await scoring.settled()
    after = await card(scoring, BINCHENG)
    assert (after["figures"]["planned_starts"], after["figures"]["start_rate"]) == (1, "100.0")
    assert after["figures"]["unstarted_projects"] == 0
    assert after["figures"]["key_projects"] == 1
    assert points(after)["starts"] == "25.00"
    assert points(after)["unstarted"] == "0.00"


# ---- key projects
async def test_key_projects_are_counted_by_level_and_follow_list_changes(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    major = await up.register(BINCHENG, level="provincial_major_construction")
    await up.register(BINCHENG, level="provincial_major_construction")
    city = await up.register(BINCHENG, level="city_key")
    off = await up.register(BINCHENG, level="county_key")
    await up.register(BINCHENG, level=None)  # in the library, not on a key list
    await up.register(BOXING, level="city_key")
    await scoring.settled()
    c = await figures(scoring, BINCHENG)
    assert c["key_projects"] == 4
    by_level = (await card(scoring, BINCHENG))["key_projects_by_level"]
    assert by_level == {"city_key": 1, "county_key": 1, "provincial_major_construction": 2}

    await up.list_change(city, "adjusted", "provincial_preferred")  # 调整
    await up.list_change(off, "withdrawn", None)  # 退出 the key list
    await up.withdraw(major)  # the project itself withdrawn
    await scoring.settled()
    after = await card(scoring, BINCHENG)
    assert after["figures"]["key_projects"] == 2
    assert after["key_projects_by_level"] == {
        "provincial_major_construction": 1,
        "provincial_preferred": 1,
    }
    assert (await card(scoring, BOXING))["key_projects_by_level"] == {"city_key": 1}


# ---- investment
async def test_investment_completion_and_schedule_rate_come_from_plans_and_reports(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    a = await up.register(BINCHENG, planned_start=None)
    b = await up.register(BINCHENG, planned_start=None)
    await up.plan(a, 2020, "1200")
    await up.plan(b, 2020, "800")
    await up.plan(b, 2021, "5000")  # next year's plan is not this year's
    await up.report(a, 2020, 3, "300")
    await up.report(a, 2020, 4, "500")
    await up.report(b, 2020, 4, "100")
    await up.report(b, 2019, 12, "900")  # last year's year-to-date
    await scoring.settled()

    march = await card(scoring, BINCHENG, month=3)
    assert march["figures"]["annual_plan"] == "2000"
    assert march["figures"]["ytd_investment"] == "300"
    assert march["figures"]["investment_completion_rate"] == "15.0"
    assert march["figures"]["time_target"] == "25.0"
    assert march["figures"]["schedule_rate"] == "60.0"  # 300 / (2000 × 3/12)
    assert march["figures"]["investment_lag"] == "-10.0"
    assert points(march)["investment"] == "24.00"

    april = await card(scoring, BINCHENG)
    f = april["figures"]
    assert (f["ytd_investment"], f["investment_completion_rate"]) == ("600", "30.0")
    assert (f["time_target"], f["schedule_rate"], f["investment_lag"]) == ("33.3", "90.0", "-3.3")
    assert points(april)["investment"] == "36.00"

    # May has no report yet: the year-to-date figure stays where April's left it.
    may = await figures(scoring, BINCHENG, month=5)
    assert (may["ytd_investment"], may["investment_completion_rate"]) == ("600", "30.0")


async def test_a_correction_report_for_the_same_month_replaces_it(scoring: ScoringApp) -> None:
    up = scoring.upstream
    a = await up.register(BINCHENG, planned_start=None)
    await up.plan(a, 2020, "1200")
    await up.report(a, 2020, 4, "400")
    await scoring.settled()
    assert (await figures(scoring, BINCHENG))["ytd_investment"] == "400"

    await up.report(a, 2020, 4, "700")  # the same month again, a later sequence
    await scoring.settled()
    c = await card(scoring, BINCHENG)
    assert c["figures"]["ytd_investment"] == "700"
    assert c["figures"]["investment_completion_rate"] == "58.3"
    assert c["figures"]["schedule_rate"] == "175.0"
    assert points(c)["investment"] == "40.00"  # ratio × points is capped at the points


async def test_an_older_redelivered_report_does_not_undo_a_correction(scoring: ScoringApp) -> None:
    up = scoring.upstream
    a = await up.register(BINCHENG, planned_start=None)
    await up.plan(a, 2020, "1000")
    await up.report(a, 2020, 4, "200")
    first = len(up.sent) - 1
    await up.report(a, 2020, 4, "250")
    await up.redeliver(first)
    await scoring.settled()
    assert (await figures(scoring, BINCHENG))["ytd_investment"] == "250"


# ---- problems
async def test_problem_figures_count_collected_resolved_on_time_and_overdue(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    on_time = await up.report_problem(pid, D(2020, 4, 1))
    late = await up.report_problem(pid, D(2020, 4, 2))
    overdue = await up.report_problem(pid, D(2020, 4, 3))
    closed = await up.report_problem(pid, D(2020, 3, 10))
    in_may = await up.report_problem(pid, D(2020, 4, 6))
    await up.report_problem(pid, D(2020, 4, 7))  # still open
    await up.resolve(on_time, D(2020, 4, 5))
    await up.resolve(late, D(2020, 4, 20), on_time=False)
    await up.assign(overdue, D(2020, 4, 3), D(2020, 4, 10))
    await up.flag_overdue(overdue, D(2020, 4, 11))
    await up.resolve(closed, D(2020, 3, 12))
    await up.close(closed, D(2020, 3, 16), resolved_on=D(2020, 3, 12))
    await up.resolve(in_may, D(2020, 5, 6))
    await scoring.settled()

    c = await card(scoring, BINCHENG)
    f = c["figures"]
    assert f["problems_collected"] == 6
    assert (f["problems_resolved"], f["problems_on_time"], f["problems_overdue"]) == (3, 2, 1)
    assert (f["resolution_rate"], f["on_time_rate"]) == ("50.0", "66.7")
    assert points(c)["resolution"] == "6.00"
    assert points(c)["on_time"] == "0.00"  # 66.7% is below the lowest band (70)
    assert points(c)["overdue"] == "-0.50"

    march = await figures(scoring, BINCHENG, month=3)
    assert (march["problems_collected"], march["problems_resolved"]) == (1, 1)
    assert march["problems_overdue"] == 0
    may = await figures(scoring, BINCHENG, month=5)
    assert (may["problems_resolved"], may["resolution_rate"]) == (4, "66.7")


async def test_a_reopened_problem_no_longer_counts_as_resolved(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    q = await up.report_problem(pid, D(2020, 4, 1))
    other = await up.report_problem(pid, D(2020, 4, 1))
    await up.resolve(q, D(2020, 4, 5))
    await up.resolve(other, D(2020, 4, 5))
    await scoring.settled()
    c = await card(scoring, BINCHENG)
    assert (c["figures"]["problems_resolved"], c["figures"]["resolution_rate"]) == (2, "100.0")
    assert points(c)["on_time"] == "8.00"

    await up.reopen(q, D(2020, 4, 15))
    await scoring.settled()
    c = await card(scoring, BINCHENG)
    f = c["figures"]
    assert (f["problems_collected"], f["problems_resolved"], f["problems_on_time"]) == (2, 1, 1)
    assert (f["resolution_rate"], f["on_time_rate"]) == ("50.0", "100.0")
    assert points(c)["resolution"] == "6.00"


# ---- factors
async def test_factor_allocations_count_until_released(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    land = await up.allocate(pid, factor="land", amount="10")
    await up.allocate(pid, factor="land", amount="15.5")
    await up.allocate(pid, factor="energy", amount="200", unit="tce")
    await up.allocate(pid, factor="land", amount="99", year=2021)  # next year's pool
    await scoring.settled()
    c = await card(scoring, BINCHENG)
    assert c["figures"]["factor_allocations"] == 3
    assert c["factor_support"] == {
        "energy": {"count": 1, "amount": "200", "unit": "tce"},
        "land": {"count": 2, "amount": "25.5", "unit": "mu"},
    }
    assert points(c)["factors"] == "0.75"

    await up.release(land, D(2020, 5, 10))
    await scoring.settled()
    assert (await figures(scoring, BINCHENG))["factor_allocations"] == 3  # released after April
    may = await card(scoring, BINCHENG, month=5)
    assert may["figures"]["factor_allocations"] == 2
    assert may["factor_support"]["land"] == {"count": 1, "amount": "15.5", "unit": "mu"}
    assert points(may)["factors"] == "0.50"


async def test_credit_granted_sums_by_the_grant_date(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    other = await up.register(BINCHENG, planned_start=None)
    await up.grant(pid, 2020, "5000", on=D(2020, 4, 3))
    await up.grant(other, 2020, "3000.5", on=D(2020, 5, 10))
    await scoring.settled()
    assert (await figures(scoring, BINCHENG, month=3))["credit_granted"] == "0"
    assert (await figures(scoring, BINCHENG, month=4))["credit_granted"] == "5000"
    assert (await figures(scoring, BINCHENG, month=5))["credit_granted"] == "8000.5"
    assert (await figures(scoring, BOXING, month=5))["credit_granted"] == "0"


# ---- how figures are printed and scored
async def test_rates_are_rounded_half_up_and_points_follow_the_printed_rate(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None)
    await up.plan(pid, 2020, "2000")
    await up.report(pid, 2020, 4, "125")
    await scoring.settled()
    c = await card(scoring, BINCHENG)
    assert c["figures"]["investment_completion_rate"] == "6.3"  # 6.25 half up, not 6.2
    assert c["figures"]["schedule_rate"] == "18.8"  # 18.75
    assert points(c)["investment"] == "7.52"  # 18.8% of 40: a clerk can recompute it


async def test_a_project_replanned_to_next_year_leaves_the_start_rate_base(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 2, 1))
    await scoring.settled()
    before = await figures(scoring, BINCHENG)
    assert (before["planned_starts"], before["unstarted_projects"]) == (1, 1)

    await up.update(pid, planned_start=D(2021, 3, 1))
    await scoring.settled()
    after = await figures(scoring, BINCHENG)
    assert (after["planned_starts"], after["start_rate"], after["unstarted_projects"]) == (
        0,
        None,
        0,
    )
