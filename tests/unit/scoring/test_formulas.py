"""The five formula types: each turns a raw value (and, for rank bands, a rank) into points."""

from decimal import Decimal

import pytest
from pydantic import TypeAdapter

from services.scoring.domain.formulas import (
    Bands,
    Deduction,
    Formula,
    PerItem,
    RankBands,
    RatioPoints,
)

D = Decimal
FORMULA = TypeAdapter(Formula)


def ratio(points: str, cap: str | None = None) -> RatioPoints:
    return RatioPoints.model_validate({"type": "ratio_points", "points": points, "cap": cap})


ON_TIME_BANDS = Bands.model_validate(
    {
        "type": "bands",
        "bands": [
            {"at_least": "95", "points": "8"},
            {"at_least": "85", "points": "6"},
            {"at_least": "70", "points": "4"},
        ],
        "otherwise": "1",
    }
)

SERVICE_RANKS = RankBands.model_validate(
    {
        "type": "rank_bands",
        "bands": [
            {"max_rank": 3, "points": "7"},
            {"max_rank": 6, "points": "5"},
            {"max_rank": 10, "points": "3"},
        ],
    }
)


def per_item(points_per_item: str, cap: str) -> PerItem:
    return PerItem.model_validate(
        {"type": "per_item", "points_per_item": points_per_item, "cap": cap}
    )


def deduction(points_per_event: str, cap: str | None = None) -> Deduction:
    return Deduction.model_validate(
        {"type": "deduction", "points_per_event": points_per_event, "cap": cap}
    )


def test_the_type_field_picks_the_formula() -> None:
    parsed = FORMULA.validate_python({"type": "per_item", "points_per_item": "1", "cap": "5"})
    assert isinstance(parsed, PerItem)
    assert parsed.cap == D(5)


# ---- ratio_points


def test_ratio_points_is_rate_over_100_times_points() -> None:
    assert ratio("25").score(D("80.0"), None) == D(20)
    assert ratio("12").score(D("66.7"), None) == D("8.004")
    assert ratio("25").score(0, None) == D(0)


def test_ratio_points_never_gives_more_than_its_points_without_a_cap() -> None:
    assert ratio("40").score(D("125.0"), None) == D(40)
    assert ratio("40").score(D("100.0"), None) == D(40)


def test_ratio_points_stops_at_a_cap_below_its_points() -> None:
    capped = ratio("25", cap="20")
    assert capped.score(D("100.0"), None) == D(20)
    assert capped.score(D("79.9"), None) == D("19.975")  # under the cap: the plain ratio
    assert capped.score(D("80.0"), None) == D(20)


def test_ratio_points_treats_a_negative_rate_as_zero() -> None:
    assert ratio("25").score(D("-5.0"), None) == D(0)


def test_ratio_points_missing_value_earns_nothing() -> None:
    assert ratio("25").score(None, None) == D(0)


def test_ratio_points_ceiling_is_its_cap_or_else_its_points() -> None:
    assert ratio("25").ceiling == D(25)
    assert ratio("25", cap="20").ceiling == D(20)
    assert ratio("40", cap="45").ceiling == D(45)


def test_ratio_points_never_scores_above_its_ceiling_when_the_cap_exceeds_points() -> None:
    generous = ratio("40", cap="45")
    assert generous.score(D("125.0"), None) <= generous.ceiling


# ---- bands


@pytest.mark.parametrize(
    ("value", "points"),
    [
        ("100.0", "8"),
        ("95.0", "8"),  # exactly on the bound: meets at_least
        ("94.9", "6"),
        ("85.0", "6"),
        ("84.9", "4"),
        ("70.0", "4"),
        ("69.9", "1"),  # below every band: otherwise
    ],
)
def test_bands_give_the_first_band_whose_at_least_bound_the_value_meets(
    value: str, points: str
) -> None:
    assert ON_TIME_BANDS.score(D(value), None) == D(points)


def test_bands_first_match_wins_even_when_a_later_band_pays_more() -> None:
    misordered = Bands.model_validate(
        {
            "type": "bands",
            "bands": [{"at_least": "70", "points": "4"}, {"at_least": "95", "points": "8"}],
        }
    )
    assert misordered.score(D("99.0"), None) == D(4)


@pytest.mark.parametrize(("value", "points"), [(0, "5"), (1, "3"), (2, "3"), (3, "0")])
def test_bands_with_at_most_bounds_include_the_bound(value: int, points: str) -> None:
    fewest = Bands.model_validate(
        {
            "type": "bands",
            "bands": [{"at_most": "0", "points": "5"}, {"at_most": "2", "points": "3"}],
        }
    )
    assert fewest.score(value, None) == D(points)


def test_bands_can_mix_bounds_and_read_negative_gaps() -> None:
    lag = Bands.model_validate(
        {
            "type": "bands",
            "bands": [{"at_least": "0", "points": "10"}, {"at_most": "-30", "points": "0"}],
            "otherwise": "5",
        }
    )
    assert lag.score(D("2.5"), None) == D(10)
    assert lag.score(D("-10.0"), None) == D(5)
    assert lag.score(D("-30.0"), None) == D(0)


def test_bands_missing_value_gets_otherwise() -> None:
    assert ON_TIME_BANDS.score(None, None) == D(1)


def test_bands_ceiling_is_the_best_band_or_otherwise() -> None:
    assert ON_TIME_BANDS.ceiling == D(8)
    generous_otherwise = Bands.model_validate(
        {"type": "bands", "bands": [{"at_least": "50", "points": "2"}], "otherwise": "3"}
    )
    assert generous_otherwise.ceiling == D(3)


# ---- per_item


def test_per_item_gives_points_per_item() -> None:
    assert per_item("0.25", "8").score(3, None) == D("0.75")
    assert per_item("0.25", "8").score(31, None) == D("7.75")


def test_per_item_stops_at_its_cap() -> None:
    assert per_item("0.25", "8").score(32, None) == D(8)
    assert per_item("0.25", "8").score(33, None) == D(8)


def test_per_item_missing_value_earns_nothing() -> None:
    assert per_item("0.25", "8").score(None, None) == D(0)


def test_per_item_ceiling_is_its_cap() -> None:
    assert per_item("0.25", "8").ceiling == D(8)


# ---- rank_bands


@pytest.mark.parametrize(
    ("rank", "points"),
    [(1, "7"), (3, "7"), (4, "5"), (6, "5"), (7, "3"), (10, "3"), (11, "0")],
)
def test_rank_bands_pay_by_rank_up_to_each_max_rank(rank: int, points: str) -> None:
    assert SERVICE_RANKS.score(5, rank) == D(points)


def test_rank_bands_missing_value_or_rank_gets_otherwise() -> None:
    with_otherwise = SERVICE_RANKS.model_copy(update={"otherwise": D(1)})
    assert with_otherwise.score(None, 1) == D(1)
    assert with_otherwise.score(5, None) == D(1)
    assert SERVICE_RANKS.score(None, 1) == D(0)


def test_rank_bands_ceiling_is_the_best_band() -> None:
    assert SERVICE_RANKS.ceiling == D(7)


# ---- deduction


def test_deduction_takes_points_off_per_event() -> None:
    assert deduction("0.5", cap="5").score(3, None) == D("-1.5")
    assert deduction("1").score(30, None) == D(-30)  # no cap: no limit


def test_deduction_stops_at_its_cap() -> None:
    assert deduction("0.5", cap="5").score(10, None) == D(-5)
    assert deduction("0.5", cap="5").score(11, None) == D(-5)
    assert deduction("0.5", cap="5").score(9, None) == D("-4.5")


def test_deduction_without_events_or_value_costs_nothing() -> None:
    assert deduction("0.5", cap="5").score(0, None) == D(0)
    assert deduction("0.5", cap="5").score(None, None) == D(0)


def test_deduction_ceiling_is_zero() -> None:
    assert deduction("0.5", cap="5").ceiling == D(0)
    assert deduction("1").ceiling == D(0)
