from decimal import Decimal as D

import pytest

from services.registry.domain.progress import Progress, compute_progress
from shared.errors import InvalidInput
from shared.rates import percent


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (D("1"), D("8"), D("12.5")),
        (D("2"), D("3"), D("66.7")),
        (D("1"), D("3"), D("33.3")),
        (D("1"), D("16"), D("6.3")),  # 6.25: half up, not half even (6.2)
        (D("3"), D("16"), D("18.8")),  # 18.75
        (D("1"), D("2000"), D("0.1")),  # 0.05 rounds up
        (D("1"), D("4000"), D("0.0")),  # 0.025 rounds down
        (D("0.9999"), D("2000"), D("0.0")),  # 0.049995: just under half
        (D("0"), D("500"), D("0.0")),
        (D("500"), D("500"), D("100.0")),
        (D("750"), D("500"), D("150.0")),  # over plan
        (4, 12, D("33.3")),
    ],
)
def test_percent_is_one_decimal_half_up(numerator, denominator, expected):
    result = percent(numerator, denominator)

    assert result == expected
    assert result.as_tuple().exponent == -1


def test_percent_of_a_zero_denominator_is_none():
    assert percent(D("5"), D("0")) is None
    assert percent(D("0"), D("0.00")) is None


def test_percent_does_not_double_round_near_a_half():
    # 1 − 1e-37 over 2000 is a hair under 0.05%: a 28-digit context would round the ratio to
    # 0.05 first and then up to 0.1.
    numerator = D("0." + "9" * 37)
    assert percent(numerator, D("2000")) == D("0.0")


@pytest.mark.parametrize(
    ("month", "expected"),
    [(1, D("8.3")), (2, D("16.7")), (3, D("25.0")), (4, D("33.3")), (5, D("41.7")),
     (6, D("50.0")), (7, D("58.3")), (8, D("66.7")), (9, D("75.0")), (10, D("83.3")),
     (11, D("91.7")), (12, D("100.0"))],
)  # fmt: skip
def test_time_elapsed_is_month_over_twelve(month, expected):
    assert compute_progress(D("100"), D("0"), month, None).time_elapsed == expected


def test_progress_in_april():
    progress = compute_progress(D("12000"), D("3000"), 4, D("4000"))

    assert progress == Progress(
        completion_rate=D("25.0"),
        time_elapsed=D("33.3"),
        lag_points=D("-8.3"),
        plan_rate_to_date=D("75.0"),
    )


def test_lag_is_taken_from_the_rounded_figures():
    # 2/3 = 66.666…% → 66.7; month 8 → 66.666…% → 66.7; lag 0.0 (not a raw difference).
    progress = compute_progress(D("3"), D("2"), 8, None)

    assert progress.completion_rate == D("66.7")
    assert progress.lag_points == D("0.0")


def test_lag_from_rounded_figures_differs_from_rounding_the_raw_difference():
    # 8.35% in January (8.333…%): rounded figures give 8.4 − 8.3 = 0.1, whereas the raw
    # difference 0.0166… would round to 0.0.
    progress = compute_progress(D("10000"), D("835"), 1, None)

    assert progress.completion_rate == D("8.4")
    assert progress.lag_points == D("0.1")


def test_ahead_of_time_gives_positive_lag():
    progress = compute_progress(D("1000"), D("600"), 6, None)

    assert progress.lag_points == D("10.0")


def test_without_a_plan_there_is_no_rate_or_lag():
    progress = compute_progress(None, D("500"), 6, None)

    assert progress == Progress(
        completion_rate=None, time_elapsed=D("50.0"), lag_points=None, plan_rate_to_date=None
    )


def test_zero_plan_gives_no_rate_or_lag():
    progress = compute_progress(D("0"), D("500"), 6, D("0"))

    assert progress.completion_rate is None
    assert progress.lag_points is None
    assert progress.plan_rate_to_date is None


def test_plan_rate_to_date_uses_the_cumulative_target():
    progress = compute_progress(D("1200"), D("250"), 3, D("300"))

    assert progress.plan_rate_to_date == D("83.3")


def test_half_up_in_completion_rate():
    progress = compute_progress(D("2000"), D("1"), 12, None)

    assert progress.completion_rate == D("0.1")  # 0.05%
    assert progress.lag_points == D("-99.9")


@pytest.mark.parametrize("month", [0, 13, -1])
def test_as_of_month_runs_1_to_12(month):
    with pytest.raises(InvalidInput) as caught:
        compute_progress(D("100"), D("10"), month, None)

    assert caught.value.errors[0]["field"] == "as_of_month"
