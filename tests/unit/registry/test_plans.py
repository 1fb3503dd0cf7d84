from decimal import Decimal as D

import pytest

from services.registry.domain.plans import target_to_date, validate_annual_plan
from shared.errors import InvalidInput, RuleViolation


def refused_fields(annual, targets) -> dict[str, str]:
    """What the request's schema states (amounts, months): InvalidInput, 422."""
    with pytest.raises(InvalidInput) as caught:
        validate_annual_plan(annual, targets)
    assert caught.value.status == 422
    return {e["field"]: e["message"] for e in caught.value.errors}


def broken_rules(annual, targets) -> dict[str, str]:
    """The targets against each other and the year's amount, which no schema states: 409."""
    with pytest.raises(RuleViolation) as caught:
        validate_annual_plan(annual, targets)
    assert caught.value.status == 409
    return {e["field"]: e["message"] for e in caught.value.errors}


def test_valid_plan_returns_targets_sorted_by_month():
    targets = {12: D("12000"), 3: D("2500.5"), 6: D("6000"), 9: D("9000")}

    result = validate_annual_plan(D("12000"), targets)

    assert list(result) == [3, 6, 9, 12]
    assert result == {3: D("2500.5"), 6: D("6000"), 9: D("9000"), 12: D("12000")}


def test_plan_without_targets_is_valid():
    assert validate_annual_plan(D("500"), {}) == {}


def test_zero_plan_with_zero_targets_is_valid():
    assert validate_annual_plan(D("0"), {6: D("0"), 12: D("0")}) == {6: D("0"), 12: D("0")}


def test_equal_consecutive_targets_are_allowed():
    assert validate_annual_plan(D("100"), {4: D("40"), 5: D("40")}) == {4: D("40"), 5: D("40")}


def test_december_may_be_left_out():
    assert validate_annual_plan(D("100"), {6: D("50")}) == {6: D("50")}


def test_negative_annual_amount_is_refused():
    assert "negative" in refused_fields(D("-1"), {})["annual_investment"]


@pytest.mark.parametrize("annual", [D("NaN"), D("Infinity"), 100.0])
def test_annual_amount_must_be_a_finite_decimal(annual):
    assert "finite decimal" in refused_fields(annual, {})["annual_investment"]


@pytest.mark.parametrize("month", [0, 13, -1])
def test_months_run_1_to_12(month):
    errors = refused_fields(D("100"), {month: D("10")})

    assert "not a month" in errors[f"monthly_targets.{month}"]


def test_negative_target_is_refused():
    errors = refused_fields(D("100"), {3: D("-0.01")})

    assert "negative" in errors["monthly_targets.3"]


def test_float_target_is_refused():
    errors = refused_fields(D("100"), {3: 10.0})

    assert "finite decimal" in errors["monthly_targets.3"]


def test_falling_cumulative_target_is_refused():
    errors = broken_rules(D("100"), {3: D("30"), 6: D("29.99")})

    assert set(errors) == {"monthly_targets.6"}
    assert "lower than month 3" in errors["monthly_targets.6"]


def test_falling_is_judged_by_month_not_by_insertion_order():
    # Given out of order but rising by month: fine.
    assert validate_annual_plan(D("100"), {6: D("60"), 3: D("30")}) == {3: D("30"), 6: D("60")}


def test_target_above_annual_amount_is_refused():
    errors = broken_rules(D("100"), {6: D("100.01")})

    assert "above the annual" in errors["monthly_targets.6"]


@pytest.mark.parametrize("december", [D("99.99"), D("0")])
def test_december_target_must_equal_annual_amount(december):
    errors = broken_rules(D("100"), {12: december})

    assert "must equal the annual" in errors["monthly_targets.12"]


def test_december_equal_in_value_with_other_exponent_is_fine():
    assert validate_annual_plan(D("100"), {12: D("100.00")}) == {12: D("100.00")}


def test_every_invalid_amount_and_month_is_reported_at_once():
    errors = refused_fields(D("-5"), {0: D("1"), 4: D("-1")})

    assert set(errors) == {"annual_investment", "monthly_targets.0", "monthly_targets.4"}


def test_every_broken_rule_is_reported_at_once():
    errors = broken_rules(D("100"), {3: D("50"), 6: D("40"), 9: D("100.5"), 12: D("99")})

    assert set(errors) == {"monthly_targets.6", "monthly_targets.9", "monthly_targets.12"}


TARGETS = {3: D("25"), 6: D("50"), 9: D("75"), 12: D("100")}


@pytest.mark.parametrize(
    ("month", "expected"),
    [(1, None), (2, None), (3, D("25")), (4, D("25")), (5, D("25")), (6, D("50")),
     (8, D("50")), (9, D("75")), (11, D("75")), (12, D("100"))],
)  # fmt: skip
def test_target_to_date_is_the_latest_cumulative_target_so_far(month, expected):
    assert target_to_date(TARGETS, month) == expected


def test_target_to_date_without_targets_is_none():
    assert target_to_date({}, 6) is None


def test_target_to_date_does_not_depend_on_key_order():
    assert target_to_date({6: D("50"), 3: D("25")}, 7) == D("50")
