"""Scores and ranks: indicator points, the total, the rank with its tie-break, the reward tier."""

from decimal import Decimal
from typing import Any

from services.scoring.domain.figures import DivisionFigures, Value
from services.scoring.domain.ranking import Score, competition_ranks, score
from services.scoring.domain.scheme import DEFAULT_SCHEME, SchemeBody

D = Decimal

PER_ALLOCATION = {"type": "per_item", "points_per_item": "1", "cap": "100"}
PER_OVERDUE = {"type": "deduction", "points_per_event": "1"}


def scheme(*indicators: tuple[str, str, dict[str, Any]], tie_break: str, **more: Any) -> SchemeBody:
    return SchemeBody.model_validate(
        {
            "name": "测试办法",
            "effective_from": "2020-01",
            "indicators": [
                {"key": key, "name": key, "metric": metric, "formula": formula}
                for key, metric, formula in indicators
            ],
            "tie_break": tie_break,
        }
        | more
    )


def figures(**by_county: dict[str, Value]) -> dict[str, DivisionFigures]:
    return {county: DivisionFigures(county, values) for county, values in by_county.items()}


def ranks(scores: list[Score]) -> dict[str, int]:
    return {s.county: s.rank for s in scores}


def points_of(scores: list[Score], county: str, key: str) -> Decimal:
    found = next(s for s in scores if s.county == county)
    return next(i.points for i in found.indicators if i.indicator.key == key)


ALLOCATIONS_ONLY = scheme(("factors", "factor_allocations", PER_ALLOCATION), tie_break="factors")


def test_competition_ranks_share_the_better_rank_and_skip_the_next() -> None:
    marks = {"a": 90, "b": 80, "c": 80, "d": 70}
    assert competition_ranks(list(marks), key=lambda c: (-marks[c],)) == {
        "a": 1,
        "b": 2,
        "c": 2,
        "d": 4,
    }


def test_the_total_ranks_the_divisions_best_first() -> None:
    result = score(
        ALLOCATIONS_ONLY,
        figures(
            c={"factor_allocations": 2}, a={"factor_allocations": 9}, b={"factor_allocations": 5}
        ),
    )
    assert [(s.county, s.total, s.rank) for s in result] == [
        ("a", D(9), 1),
        ("b", D(5), 2),
        ("c", D(2), 3),
    ]


def test_a_tie_in_the_total_goes_to_the_better_tie_break_value() -> None:
    by_schedule = scheme(
        ("investment", "schedule_rate", {"type": "ratio_points", "points": "100"}),
        ("factors", "factor_allocations", PER_ALLOCATION),
        tie_break="investment",
    )
    result = score(
        by_schedule,
        figures(
            b={"schedule_rate": D("40.0"), "factor_allocations": 10},
            a={"schedule_rate": D("50.0"), "factor_allocations": 0},
        ),
    )
    assert [s.total for s in result] == [D(50), D(50)]
    assert ranks(result) == {"a": 1, "b": 2}
    assert [s.county for s in result] == ["a", "b"]


def test_a_tie_break_on_a_lower_is_better_metric_favours_the_lower_value() -> None:
    fewest_overdue = scheme(
        ("factors", "factor_allocations", PER_ALLOCATION),
        ("overdue", "problems_overdue", PER_OVERDUE),
        tie_break="overdue",
    )
    result = score(
        fewest_overdue,
        figures(
            b={"factor_allocations": 4, "problems_overdue": 2},
            a={"factor_allocations": 3, "problems_overdue": 1},
        ),
    )
    assert [s.total for s in result] == [D(2), D(2)]
    assert ranks(result) == {"a": 1, "b": 2}


def test_divisions_still_tied_after_the_tie_break_share_a_rank() -> None:
    result = score(
        ALLOCATIONS_ONLY,
        figures(
            a={"factor_allocations": 7},
            b={"factor_allocations": 7},
            c={"factor_allocations": 9},
            d={"factor_allocations": 1},
        ),
    )
    assert ranks(result) == {"c": 1, "a": 2, "b": 2, "d": 4}
    assert [s.county for s in result] == ["c", "a", "b", "d"]  # shared rank: input order


RANKED_SCHEDULE = {
    "type": "rank_bands",
    "bands": [
        {"max_rank": 1, "points": "10"},
        {"max_rank": 2, "points": "5"},
        {"max_rank": 3, "points": "1"},
    ],
}


def test_rank_bands_rank_a_missing_value_last_and_give_it_otherwise() -> None:
    ranked = scheme(("schedule", "schedule_rate", RANKED_SCHEDULE), tie_break="schedule")
    result = score(
        ranked,
        figures(
            none={"schedule_rate": None},
            zero={"schedule_rate": D("0.0")},
            best={"schedule_rate": D("10.0")},
        ),
    )
    metric_rank = {s.county: s.indicators[0].rank for s in result}
    assert metric_rank == {"best": 1, "zero": 2, "none": 3}
    assert points_of(result, "best", "schedule") == D(10)
    assert points_of(result, "zero", "schedule") == D(5)
    assert points_of(result, "none", "schedule") == D(0)  # rank 3 would pay 1: missing pays none


def test_rank_bands_rank_a_lower_is_better_metric_lowest_first_with_shared_ranks() -> None:
    ranked = scheme(("unstarted", "unstarted_projects", RANKED_SCHEDULE), tie_break="unstarted")
    result = score(
        ranked,
        figures(
            many={"unstarted_projects": 5},
            few={"unstarted_projects": 0},
            some_a={"unstarted_projects": 2},
            some_b={"unstarted_projects": 2},
        ),
    )
    metric_rank = {s.county: s.indicators[0].rank for s in result}
    assert metric_rank == {"few": 1, "some_a": 2, "some_b": 2, "many": 4}
    assert [points_of(result, c, "unstarted") for c in ("few", "some_a", "some_b", "many")] == [
        D(10),
        D(5),
        D(5),
        D(0),
    ]


def test_only_rank_band_indicators_carry_a_metric_rank() -> None:
    result = score(ALLOCATIONS_ONLY, figures(a={"factor_allocations": 1}))
    assert result[0].indicators[0].rank is None


def test_reward_tiers_go_by_rank_and_a_shared_rank_shares_the_tier() -> None:
    tiered = scheme(
        ("factors", "factor_allocations", PER_ALLOCATION),
        tie_break="factors",
        reward_tiers=[{"name": "一等", "max_rank": 1}, {"name": "先进", "max_rank": 3}],
    )
    counts = {"a": 9, "b": 8, "c": 7, "d": 7, "e": 1}
    by_county = {c: DivisionFigures(c, {"factor_allocations": n}) for c, n in counts.items()}
    result = score(tiered, by_county)
    assert {s.county: (s.rank, s.tier) for s in result} == {
        "a": (1, "一等"),
        "b": (2, "先进"),
        "c": (3, "先进"),
        "d": (3, "先进"),
        "e": (5, None),
    }


def test_points_are_quantized_to_a_cent_half_up_before_they_are_added() -> None:
    twice = scheme(
        ("starts", "start_rate", {"type": "ratio_points", "points": "25"}),
        ("resolution", "resolution_rate", {"type": "ratio_points", "points": "25"}),
        tie_break="starts",
    )
    # 80.1% of 25 is 20.025: half up gives 20.03 (half even would give 20.02)
    result = score(twice, figures(a={"start_rate": D("80.1"), "resolution_rate": D("80.1")}))
    assert [i.points for i in result[0].indicators] == [D("20.03"), D("20.03")]
    assert result[0].total == D("40.06")  # not 40.05, the rounded sum of the raw points


def test_points_below_half_a_cent_round_down() -> None:
    twelve = scheme(
        ("resolution", "resolution_rate", {"type": "ratio_points", "points": "12"}),
        tie_break="resolution",
    )
    result = score(twelve, figures(a={"resolution_rate": D("66.7")}))  # 8.004
    assert result[0].indicators[0].points == D("8.00")
    assert str(result[0].indicators[0].points) == "8.00"


def test_the_default_scheme_scores_a_division_exactly() -> None:
    values: dict[str, Value] = {
        "schedule_rate": D("90.0"),  # 40 × 0.9 = 36
        "start_rate": D("80.0"),  # 25 × 0.8 = 20
        "resolution_rate": D("75.0"),  # 12 × 0.75 = 9
        "on_time_rate": D("90.0"),  # ≥ 85: 6
        "factor_allocations": 10,  # 10 × 0.25 = 2.5
        "new_starts_ytd": 4,  # rank 1: 7
        "unstarted_projects": 2,  # −2
        "problems_overdue": 3,  # −1.5
    }
    result = score(DEFAULT_SCHEME, figures(a=values))
    by_key = {i.indicator.key: i.points for i in result[0].indicators}
    assert by_key == {
        "investment": D(36),
        "starts": D(20),
        "resolution": D(9),
        "on_time": D(6),
        "factors": D("2.5"),
        "service": D(7),
        "unstarted": D(-2),
        "overdue": D("-1.5"),
    }
    assert result[0].total == D(77)
    assert (result[0].rank, result[0].tier) == (1, "先进")
