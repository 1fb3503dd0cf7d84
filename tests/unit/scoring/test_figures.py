"""A division's figures for a period, from the read model's facts, by the business dates the events
carried."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from services.scoring.domain.exposure import Colour, ExposureKind, Thresholds
from services.scoring.domain.figures import Assessment, FactorSupport, Facts, assess
from services.scoring.domain.periods import Period
from shared.events.catalogue.registry import Level, Stage, Track
from tests.unit.scoring.helpers import (
    COUNTY,
    OTHER,
    Allocation,
    Grant,
    Plan,
    Problem,
    Project,
    Report,
)

D = Decimal
MARCH, APRIL = Period(2020, 3), Period(2020, 4)
UNKNOWN = "999999"


def assess_(
    period: Period = APRIL,
    *,
    projects: Sequence[Project] = (),
    plans: Sequence[Plan] = (),
    reports: Sequence[Report] = (),
    problems: Sequence[Problem] = (),
    allocations: Sequence[Allocation] = (),
    grants: Sequence[Grant] = (),
    limits: Thresholds | None = None,
) -> Assessment:
    facts = Facts(projects, plans, reports, problems, allocations, grants)
    assessment = assess(period, facts, [COUNTY, OTHER], limits or Thresholds())
    # without the lists (what kept standings compute): the same figures, every case here
    figures_alone = assess(period, facts, [COUNTY, OTHER], limits or Thresholds(), listing=False)
    assert figures_alone.figures == assessment.figures
    assert figures_alone.exposures == []
    return assessment


def values(assessment: Assessment, county: str = COUNTY) -> dict:
    return assessment.figures[county].values


def day(month: int, dom: int, year: int = 2020) -> dt.date:
    return dt.date(year, month, dom)


# ---- starts 开工


def test_start_rate_counts_live_implementation_projects_planned_to_start_this_year() -> None:
    projects = [
        # in the base
        Project("early", planned_start=day(3, 1), actual_start=day(2, 10)),  # started before plan
        Project("waiting", planned_start=day(6, 1)),
        Project("later", planned_start=day(5, 1), actual_start=day(5, 3)),  # after April
        # not in the base
        Project("last_year", planned_start=day(11, 1, 2019), actual_start=day(1, 10)),
        Project("prep", planned_start=day(2, 1), track=Track.PREPARATION),
        Project("withdrawn", planned_start=day(2, 1), stage=Stage.WITHDRAWN),
        Project("unplanned"),
    ]
    card = values(assess_(projects=projects))
    assert card["planned_starts"] == 3
    assert card["started"] == 1
    assert card["start_rate"] == D("33.3")


def test_a_start_dated_april_10_counts_in_april_but_not_in_march() -> None:
    projects = [Project("p1", planned_start=day(3, 1), actual_start=day(4, 10))]
    april = values(assess_(APRIL, projects=projects))
    march = values(assess_(MARCH, projects=projects))
    assert (april["started"], april["new_starts"], april["new_starts_ytd"]) == (1, 1, 1)
    assert (march["started"], march["new_starts"], march["new_starts_ytd"]) == (0, 0, 0)
    assert (april["start_rate"], march["start_rate"]) == (D("100.0"), D("0.0"))


def test_new_starts_are_this_month_and_new_starts_ytd_the_year_to_date() -> None:
    starts = [day(12, 31, 2019), day(1, 15), day(3, 31), day(4, 1), day(4, 30), day(5, 1)]
    projects = [Project(f"p{i}", actual_start=d) for i, d in enumerate(starts)]
    card = values(assess_(projects=projects))
    assert card["new_starts"] == 2
    assert card["new_starts_ytd"] == 4


def test_start_rate_is_missing_without_planned_starts() -> None:
    card = values(assess_(projects=[Project("p1", actual_start=day(2, 1))]))
    assert card["planned_starts"] == 0
    assert card["start_rate"] is None


# ---- completions and key projects


def test_completions_count_the_year_to_date() -> None:
    ends = [day(12, 31, 2019), day(2, 1), day(4, 30), day(5, 1)]
    projects = [Project(f"p{i}", actual_completion=d) for i, d in enumerate(ends)]
    assert values(assess_(projects=projects))["completions"] == 2


def test_key_projects_are_counted_by_level() -> None:
    pmc, city = Level.PROVINCIAL_MAJOR_CONSTRUCTION, Level.CITY_KEY
    projects = [
        Project("a", level=pmc),
        Project("b", level=pmc),
        Project("c", level=city),
        Project("d"),  # in the library, not key
        Project("e", level=city, stage=Stage.WITHDRAWN),
        Project("f", level=city, county=OTHER),
    ]
    result = assess_(projects=projects)
    assert values(result)["key_projects"] == 3
    assert result.figures[COUNTY].key_projects_by_level == {"city_key": 1, pmc.value: 2}
    assert result.figures[OTHER].key_projects_by_level == {"city_key": 1}


# ---- investment 投资


INVESTMENT_PROJECTS = [Project("p1"), Project("p2"), Project("gone", stage=Stage.WITHDRAWN)]
INVESTMENT_PLANS = [
    Plan("p1", 2020, D(1000)),
    Plan("p2", 2020, D(500)),
    Plan("p1", 2019, D(9000)),  # another year's plan
    Plan("gone", 2020, D(1000)),  # withdrawn
]
INVESTMENT_REPORTS = [
    Report("p1", 2020, 3, D(200)),
    Report("p1", 2020, 4, D(300)),
    Report("p1", 2020, 5, D(500)),  # after April: ignored for April
    Report("p2", 2020, 2, D(50)),
    Report("p2", 2020, 3, D(100)),  # no April report: March's stands
    Report("p2", 2019, 4, D(450)),  # last year's April
    Report("gone", 2020, 4, D(900)),
]


def test_investment_uses_each_projects_latest_report_of_the_year_up_to_the_month() -> None:
    card = values(
        assess_(projects=INVESTMENT_PROJECTS, plans=INVESTMENT_PLANS, reports=INVESTMENT_REPORTS)
    )
    assert card["annual_plan"] == D(1500)
    assert card["ytd_investment"] == D(400)  # 300 (p1, April) + 100 (p2, March)
    assert card["investment_completion_rate"] == D("26.7")
    assert card["time_target"] == D("33.3")
    assert card["investment_lag"] == D("-6.6")


def test_schedule_rate_is_ytd_investment_over_the_plan_share_due_by_the_month() -> None:
    card = values(
        assess_(projects=INVESTMENT_PROJECTS, plans=INVESTMENT_PLANS, reports=INVESTMENT_REPORTS)
    )
    assert card["schedule_rate"] == D("80.0")  # 400 / (1500 × 4 / 12)


def test_the_may_report_counts_from_may_on() -> None:
    card = values(
        assess_(
            Period(2020, 5),
            projects=INVESTMENT_PROJECTS,
            plans=INVESTMENT_PLANS,
            reports=INVESTMENT_REPORTS,
        )
    )
    assert card["ytd_investment"] == D(600)


def test_a_planned_project_without_a_report_adds_its_plan_and_nothing_done() -> None:
    card = values(assess_(projects=[Project("p1")], plans=[Plan("p1", 2020, D(1200))]))
    assert (card["annual_plan"], card["ytd_investment"]) == (D(1200), D(0))
    assert card["investment_completion_rate"] == D("0.0")
    assert card["investment_lag"] == D("-33.3")


def test_investment_rates_are_missing_without_a_plan() -> None:
    card = values(assess_(projects=[Project("p1")]))
    assert card["investment_completion_rate"] is None
    assert card["schedule_rate"] is None
    assert card["investment_lag"] is None


# ---- problems 问题


def test_problems_collected_resolved_and_on_time_by_their_dates() -> None:
    problems = [
        Problem("a", reported_on=day(1, 10), resolved_on=day(3, 1), on_time=True),
        Problem("b", reported_on=day(2, 10), resolved_on=day(4, 30), on_time=False),
        Problem("c", reported_on=day(3, 10), resolved_on=day(5, 2), on_time=True),  # later
        Problem("d", reported_on=day(4, 20)),
        Problem("e", reported_on=day(5, 5)),  # after April
        Problem("f", reported_on=day(12, 20, 2019), resolved_on=day(1, 5), on_time=True),
    ]
    card = values(assess_(problems=problems))
    assert card["problems_collected"] == 4
    assert card["problems_resolved"] == 2
    assert card["problems_on_time"] == 1
    assert card["resolution_rate"] == D("50.0")
    assert card["on_time_rate"] == D("50.0")


def test_resolution_rate_is_one_decimal_half_up() -> None:
    problems = [Problem(f"open{i}", reported_on=day(2, 1)) for i in range(15)]
    problems.append(Problem("done", reported_on=day(2, 1), resolved_on=day(3, 1), on_time=True))
    card = values(assess_(problems=problems))
    assert (card["problems_collected"], card["problems_resolved"]) == (16, 1)
    assert card["resolution_rate"] == D("6.3")  # 6.25: half even would give 6.2
    assert card["on_time_rate"] == D("100.0")


def test_on_time_rate_is_over_the_resolved_problems() -> None:
    problems = [
        Problem("a", reported_on=day(2, 1), resolved_on=day(3, 1), on_time=True),
        Problem("b", reported_on=day(2, 1), resolved_on=day(3, 1), on_time=True),
        Problem("c", reported_on=day(2, 1), resolved_on=day(3, 1), on_time=False),
        Problem("d", reported_on=day(2, 1)),
    ]
    card = values(assess_(problems=problems))
    assert card["resolution_rate"] == D("75.0")
    assert card["on_time_rate"] == D("66.7")  # 2 of 3 resolved, not 2 of 4 collected


def test_problem_rates_are_missing_without_problems() -> None:
    card = values(assess_())
    assert card["resolution_rate"] is None
    assert card["on_time_rate"] is None


def test_overdue_problems_are_counted_by_the_day_flagged_within_the_year() -> None:
    problems = [
        Problem("a", overdue_on=day(2, 1), closed_on=day(3, 1)),  # closed since: still counted
        Problem("b", overdue_on=day(4, 30)),
        Problem("c", overdue_on=day(5, 1)),  # after April
        Problem(
            "d", reported_on=day(11, 1, 2019), overdue_on=day(12, 1, 2019), closed_on=day(1, 5)
        ),
    ]
    result = assess_(problems=problems)
    assert values(result)["problems_overdue"] == 2
    listed = [e.issue_id for e in result.exposures if e.kind == ExposureKind.OVERDUE]
    assert listed == ["b"]


def test_an_overdue_exposure_carries_its_projects_name() -> None:
    result = assess_(
        projects=[Project("p1", name="滨城项目")],
        problems=[Problem("a", project_id="p1", overdue_on=day(4, 1))],
    )
    assert [(e.issue_id, e.project_name) for e in result.exposures] == [("a", "滨城项目")]


# ---- factor support 要素保障


def test_allocations_of_this_years_pools_not_released_by_the_periods_end() -> None:
    allocations = [
        Allocation("a1", factor="land", amount=D(10), unit="mu"),
        Allocation("a2", factor="land", amount=D(5), unit="mu", released_on=day(5, 1)),
        Allocation("a3", factor="land", amount=D(7), unit="mu", released_on=day(4, 30)),
        Allocation("a4", factor="energy", amount=D(3), unit="tce"),
        Allocation("a5", factor="land", amount=D(50), year=2021),  # next year's pool
        Allocation("a6", factor="land", amount=D(60), year=2019, allocated_on=day(6, 1, 2019)),
        Allocation("a7", factor="land", amount=D(8), county=OTHER),
    ]
    result = assess_(allocations=allocations)
    assert values(result)["factor_allocations"] == 3
    assert result.figures[COUNTY].factor_support == {
        "energy": FactorSupport(count=1, amount=D(3), unit="tce"),
        "land": FactorSupport(count=2, amount=D(15), unit="mu"),
    }
    assert values(result, OTHER)["factor_allocations"] == 1


def test_an_allocations_business_date_is_its_pools_year_not_the_day_it_was_made() -> None:
    # allocated_on is the day the clerk entered it (advances are made the year before), so the
    # pool's year decides; see figures.py's docstring
    advance = Allocation("a1", amount=D(10), allocated_on=day(12, 20, 2019))
    entered_in_may = Allocation("a2", amount=D(5), allocated_on=day(5, 10))
    card = values(assess_(allocations=[advance, entered_in_may]))
    assert card["factor_allocations"] == 2


def test_credit_granted_this_year_up_to_the_periods_end() -> None:
    grants = [
        Grant("g1", amount=D(100), granted_on=day(2, 1)),
        Grant("g2", amount=D(50), granted_on=day(4, 30)),
        Grant("g3", amount=D(70), granted_on=day(5, 1)),
        Grant("g4", amount=D(30), year=2019, granted_on=day(12, 1, 2019)),
        Grant("g5", amount=D(20), county=OTHER),
    ]
    result = assess_(grants=grants)
    assert values(result)["credit_granted"] == D(150)
    assert values(result, OTHER)["credit_granted"] == D(20)


# ---- divisions and exposures


def test_facts_of_a_county_not_in_the_list_are_ignored() -> None:
    result = assess_(
        projects=[
            Project("x", county=UNKNOWN, planned_start=day(1, 1), level=Level.CITY_KEY),
            Project("y", county=UNKNOWN, actual_start=day(4, 1)),
        ],
        plans=[Plan("x", 2020, D(100))],
        problems=[Problem("i", county=UNKNOWN, overdue_on=day(3, 1))],
        allocations=[Allocation("a", county=UNKNOWN)],
        grants=[Grant("g", county=UNKNOWN, amount=D(5))],
    )
    assert list(result.figures) == [COUNTY, OTHER]
    assert result.exposures == []
    for county in (COUNTY, OTHER):
        card = values(result, county)
        assert card["planned_starts"] == card["new_starts"] == card["key_projects"] == 0
        assert card["annual_plan"] == card["credit_granted"] == D(0)
        assert card["problems_collected"] == card["problems_overdue"] == 0
        assert card["factor_allocations"] == 0


def test_unstarted_and_lagging_counts_equal_the_exposures() -> None:
    projects = [
        Project("u1", planned_start=day(1, 1)),  # 3 months late: red
        Project("u2", planned_start=day(3, 1)),  # yellow
        Project("u3", planned_start=day(3, 1), county=OTHER),
        Project("ok", planned_start=day(3, 1), actual_start=day(3, 5)),
        Project("l1", actual_start=day(1, 5)),
    ]
    plans = [Plan("l1", 2020, D(1000)), Plan("ok", 2020, D(1000))]
    reports = [Report("l1", 2020, 4, D(100)), Report("ok", 2020, 4, D(400))]
    result = assess_(projects=projects, plans=plans, reports=reports)
    for county in (COUNTY, OTHER):
        mine = [e for e in result.exposures if e.county == county]
        for kind, metric in (
            (ExposureKind.UNSTARTED, "unstarted_projects"),
            (ExposureKind.LAGGING, "lagging_projects"),
        ):
            assert values(result, county)[metric] == sum(e.kind == kind for e in mine)
    assert (values(result)["unstarted_projects"], values(result)["lagging_projects"]) == (2, 1)
    assert values(result, OTHER)["unstarted_projects"] == 1
    assert [(e.kind, e.colour, e.project_id) for e in result.exposures] == [
        (ExposureKind.LAGGING, Colour.YELLOW, "l1"),  # 10.0% is 23.3 behind
        (ExposureKind.UNSTARTED, Colour.RED, "u1"),
        (ExposureKind.UNSTARTED, Colour.YELLOW, "u2"),
        (ExposureKind.UNSTARTED, Colour.YELLOW, "u3"),
    ]


def test_the_thresholds_reach_the_exposures() -> None:
    projects = [Project("u1", planned_start=day(2, 1))]
    assert assess_(projects=projects).exposures[0].colour == Colour.YELLOW
    sooner = assess_(projects=projects, limits=Thresholds(unstarted_red_after_months=2))
    assert sooner.exposures[0].colour == Colour.RED


def test_a_division_without_facts_has_zero_counts_and_missing_rates() -> None:
    card = values(assess_(), OTHER)
    assert card["started"] == card["completions"] == card["problems_collected"] == 0
    assert card["ytd_investment"] == D(0)
    assert card["start_rate"] is None
    assert card["time_target"] == D("33.3")


def test_a_project_counts_until_the_date_of_its_withdrawal() -> None:
    gone_in_june = Project(
        "june", planned_start=day(3, 1), stage=Stage.WITHDRAWN, withdrawn_on=day(6, 15)
    )
    gone_in_april = Project(
        "april", planned_start=day(3, 1), stage=Stage.WITHDRAWN, withdrawn_on=day(4, 30)
    )
    april = assess_(projects=[gone_in_june, gone_in_april])
    assert values(april)["planned_starts"] == 1  # June's withdrawal is still ahead in April
    assert [e.project_id for e in april.exposures] == ["june"]  # and it is unstarted then
    assert values(assess_(Period(2020, 6), projects=[gone_in_june]))["planned_starts"] == 0


def test_sums_are_kept_the_same_whatever_scale_their_terms_came_with() -> None:
    # a row read back from NUMERIC(18, 4) says 49.0000, the event that made it said 49: the
    # figures a kept standing stores must not depend on which one was summed
    from services.scoring.domain.standings import encode_figures

    def encoded(scale: str) -> dict:
        result = assess_(
            allocations=[Allocation("a1", factor="energy", amount=D("49" + scale), unit="tce")],
            grants=[Grant("g1", amount=D("100" + scale), granted_on=day(2, 1))],
        )
        return encode_figures(result.figures[COUNTY])

    assert encoded(".0000") == encoded("")
    assert encoded("")["support"]["energy"] == [1, "49", "tce"]
    assert encoded(".0000")["values"]["credit_granted"] == "100"
