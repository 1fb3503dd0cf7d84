from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from services.registry.domain.reports import parse_period, validate_report
from shared.clock import today_in_shanghai
from shared.errors import InvalidInput, RuleViolation

TODAY = date(2024, 6, 15)


def report(
    period="2024-05",
    ytd=D("1200"),
    month=D("300"),
    note=None,
    previous=D("900"),
    today=TODAY,
):
    return validate_report(period, ytd, month, note, previous, today)


def refusal(**kwargs) -> dict[str, str]:
    """What the request's schema states (the period's form, amounts): InvalidInput, 422."""
    with pytest.raises(InvalidInput) as caught:
        report(**kwargs)
    assert caught.value.status == 422
    return {e["field"]: e["message"] for e in caught.value.errors}


def broken_rules(**kwargs) -> dict[str, str]:
    """Rules against today, across fields and against the other reports: 409."""
    with pytest.raises(RuleViolation) as caught:
        report(**kwargs)
    assert caught.value.status == 409
    return {e["field"]: e["message"] for e in caught.value.errors}


def test_valid_report_returns_year_and_month():
    assert report() == (2024, 5)


def test_first_report_of_the_year_has_no_previous():
    assert report(period="2024-01", ytd=D("300"), month=D("300"), previous=None) == (2024, 1)


def test_report_for_the_current_month_is_allowed():
    assert report(period="2024-06") == (2024, 6)


def test_report_for_an_earlier_year_is_allowed():
    assert report(period="2023-12") == (2023, 12)


def test_zero_amounts_are_allowed():
    assert report(ytd=D("0"), month=D("0"), previous=None) == (2024, 5)


@pytest.mark.parametrize("period", ["2024-5", "202405", "2024/05", "24-05", "2024-05-01", ""])
def test_period_must_be_written_yyyy_mm(period):
    assert "YYYY-MM" in refusal(period=period)["period"]


@pytest.mark.parametrize("period", ["2024-00", "2024-13"])
def test_period_month_runs_01_to_12(period):
    assert "01–12" in refusal(period=period)["period"]


@pytest.mark.parametrize("period", ["0000-01", "1989-12", "2101-01", "9999-12"])
def test_period_year_runs_1990_to_2100(period):
    with pytest.raises(InvalidInput) as caught:
        parse_period(period)
    assert [e["field"] for e in caught.value.errors] == ["period"]
    assert "1990–2100" in caught.value.detail


@pytest.mark.parametrize("period", ["2024-07", "2025-01"])
def test_future_month_is_refused(period):
    assert "cannot report a future month" in broken_rules(period=period)["period"]


def test_future_month_is_judged_against_the_given_today():
    assert report(period="2024-07", today=date(2024, 7, 1)) == (2024, 7)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("ytd_investment", {"ytd": D("-1"), "previous": None}),
    ("month_investment", {"month": D("-0.01")}),
])  # fmt: skip
def test_negative_amounts_are_refused(field, kwargs):
    assert "negative" in refusal(**kwargs)[field]


@pytest.mark.parametrize(("field", "kwargs"), [
    ("ytd_investment", {"ytd": 1200.0}),
    ("ytd_investment", {"ytd": D("NaN")}),
    ("month_investment", {"month": 300.0}),
])  # fmt: skip
def test_amounts_must_be_finite_decimals(field, kwargs):
    assert "finite decimal" in refusal(**kwargs)[field]


def test_month_amount_above_year_to_date_is_refused():
    errors = broken_rules(ytd=D("1200"), month=D("1200.01"))

    assert "above the year-to-date" in errors["month_investment"]


def test_month_amount_equal_to_year_to_date_is_allowed():
    assert report(ytd=D("1200"), month=D("1200"), previous=D("0")) == (2024, 5)


def test_year_to_date_below_previous_without_note_is_refused():
    errors = broken_rules(ytd=D("899.99"), month=D("0"), previous=D("900"))

    assert "correction note" in errors["ytd_investment"]


@pytest.mark.parametrize("note", [None, "", "   \n"])
def test_blank_note_does_not_count_as_a_correction(note):
    errors = broken_rules(ytd=D("800"), month=D("0"), previous=D("900"), note=note)
    assert "ytd_investment" in errors


def test_year_to_date_below_previous_with_a_note_is_allowed():
    note = "April figure double-counted the equipment payment"

    assert report(ytd=D("800"), month=D("0"), previous=D("900"), note=note) == (2024, 5)


def test_year_to_date_equal_to_previous_is_allowed():
    assert report(ytd=D("900"), month=D("0"), previous=D("900")) == (2024, 5)


def test_all_amount_errors_are_reported_together():
    errors = refusal(ytd=D("-1"), month=D("-1"), previous=None)

    assert set(errors) == {"ytd_investment", "month_investment"}


@pytest.mark.parametrize("period", [" 2024-04 ", "2024-04\n", "２０２４-04"])
def test_a_period_is_taken_as_written_in_ascii_digits(period):
    # The schema's pattern is all it accepts: no surrounding space, no other script's digits.
    with pytest.raises(InvalidInput) as caught:
        parse_period(period)
    assert [e["field"] for e in caught.value.errors] == ["period"]
    assert "YYYY-MM" in caught.value.detail


# --- clock --------------------------------------------------------------------------------


def test_shanghai_date_is_ahead_of_utc_in_the_evening():
    # 16:30 UTC on 31 May is 00:30 on 1 June in Shanghai.
    assert today_in_shanghai(datetime(2024, 5, 31, 16, 30, tzinfo=UTC)) == date(2024, 6, 1)


def test_shanghai_date_matches_utc_in_the_morning():
    assert today_in_shanghai(datetime(2024, 5, 31, 15, 59, tzinfo=UTC)) == date(2024, 5, 31)


def test_shanghai_date_from_another_zone():
    new_york = timezone(timedelta(hours=-4))

    assert today_in_shanghai(datetime(2024, 12, 31, 12, 0, tzinfo=new_york)) == date(2025, 1, 1)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        today_in_shanghai(datetime(2024, 5, 31, 12, 0))


def test_without_argument_gives_a_date_near_now():
    shanghai_now = datetime.now(UTC) + timedelta(hours=8)

    assert today_in_shanghai() in {
        (shanghai_now - timedelta(minutes=1)).date(),
        shanghai_now.date(),
    }


def test_an_earlier_month_reported_again_cannot_exceed_the_next_month_without_a_note() -> None:
    from datetime import date
    from decimal import Decimal

    import pytest

    from services.registry.domain.reports import validate_report
    from shared.errors import RuleViolation

    today = date(2020, 5, 10)
    with pytest.raises(RuleViolation) as refused:
        validate_report(
            "2020-03", Decimal(500), Decimal(100), None, Decimal(400), today, next_ytd=Decimal(450)
        )
    assert refused.value.errors[0]["field"] == "ytd_investment"
    assert "next month" in refused.value.errors[0]["message"]
    assert validate_report(
        "2020-03",
        Decimal(500),
        Decimal(100),
        "统计口径调整",
        Decimal(400),
        today,
        next_ytd=Decimal(450),
    ) == (2020, 3)
    assert validate_report(
        "2020-03", Decimal(450), Decimal(50), None, Decimal(400), today, next_ytd=Decimal(450)
    ) == (
        2020,
        3,
    )
