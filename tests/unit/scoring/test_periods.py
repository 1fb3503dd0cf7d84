"""Assessment periods: a calendar month, read as the year to the end of that month."""

import datetime as dt
from decimal import Decimal

import pytest

from services.scoring.domain.periods import Period


def test_parse_reads_year_and_month_and_prints_back() -> None:
    period = Period.parse("2020-04")
    assert period == Period(2020, 4)
    assert str(period) == "2020-04"


@pytest.mark.parametrize("text", ["2020-4", "2020/04", "20-04", "2020-04-01", "", "April"])
def test_parse_refuses_what_is_not_yyyy_mm(text: str) -> None:
    with pytest.raises(ValueError, match="is not a YYYY-MM period"):
        Period.parse(text)


@pytest.mark.parametrize("text", ["2020-00", "2020-13"])
def test_parse_refuses_a_month_outside_1_to_12(text: str) -> None:
    with pytest.raises(ValueError, match="is not 1–12"):
        Period.parse(text)


def test_last_day_of_february_in_a_leap_year_is_the_29th() -> None:
    assert Period(2020, 2).last_day == dt.date(2020, 2, 29)
    assert Period(2019, 2).last_day == dt.date(2019, 2, 28)
    assert Period(2020, 4).last_day == dt.date(2020, 4, 30)


def test_months_after_counts_across_a_year_boundary() -> None:
    assert Period(2020, 2).months_after(Period(2019, 11)) == 3
    assert Period(2020, 1).months_after(Period(2019, 12)) == 1
    assert Period(2020, 4).months_after(Period(2020, 4)) == 0
    assert Period(2019, 12).months_after(Period(2020, 1)) == -1


def test_time_target_is_the_elapsed_share_of_the_year_one_decimal_half_up() -> None:
    assert Period(2020, 4).time_target() == Decimal("33.3")
    assert Period(2020, 2).time_target() == Decimal("16.7")  # 16.66… rounds up
    assert Period(2020, 12).time_target() == Decimal("100.0")


def test_year_to_date_runs_from_january_first_to_the_periods_last_day() -> None:
    april = Period(2020, 4)
    assert april.in_year_to_date(dt.date(2020, 1, 1))
    assert april.in_year_to_date(dt.date(2020, 4, 30))
    assert not april.in_year_to_date(dt.date(2020, 5, 1))
    assert not april.in_year_to_date(dt.date(2019, 12, 31))
    assert not april.in_year_to_date(None)


def test_in_month_covers_only_the_periods_own_month() -> None:
    april = Period(2020, 4)
    assert april.in_month(dt.date(2020, 4, 1))
    assert april.in_month(dt.date(2020, 4, 30))
    assert not april.in_month(dt.date(2020, 3, 31))
    assert not april.in_month(dt.date(2020, 5, 1))
    assert not april.in_month(None)


@pytest.mark.parametrize("text", ["2020-04\n", "２０２０-０４"])
def test_parse_refuses_a_trailing_newline_and_non_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text)
