"""The working-day calendar on real State Council schedules (from the chinesecalendar package)
and on uploaded ones: make-up working days count, holidays do not, the count starts on the
next working day, and a year nobody covers is an error, never Monday–Friday."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.calendar import (
    CalendarUnavailable,
    WorkCalendar,
    YearSchedule,
    package_covers,
    package_schedule,
    today_in_shanghai,
)
from shared.errors import RuleViolation

D = dt.date
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Spring Festival 2020, extended for COVID-19 to 2 February (国办发明电〔2020〕1号).
        (D(2020, 1, 23), 1, D(2020, 2, 3)),
        (D(2020, 1, 23), 5, D(2020, 2, 7)),
        (D(2020, 1, 18), 1, D(2020, 1, 19)),  # Sunday 19 January was a make-up working day
        # National Day and Mid-Autumn 2020: 1–8 October off; Sun 27 Sep, Sat 10 Oct worked.
        (D(2020, 9, 25), 1, D(2020, 9, 27)),
        (D(2020, 9, 21), 5, D(2020, 9, 27)),
        (D(2020, 9, 30), 1, D(2020, 10, 9)),
        (D(2020, 10, 9), 1, D(2020, 10, 10)),
        (D(2020, 9, 28), 5, D(2020, 10, 12)),
        # Labour Day 2020: 1–5 May off, Sun 26 April and Sat 9 May worked.
        (D(2020, 4, 24), 1, D(2020, 4, 26)),
        (D(2020, 4, 30), 1, D(2020, 5, 6)),
        (D(2020, 5, 8), 1, D(2020, 5, 9)),
        # Spring Festival 2024: 10–17 Feb off, Sun 4 and Sun 18 Feb worked, Fri 9 Feb worked.
        (D(2024, 2, 3), 1, D(2024, 2, 4)),
        (D(2024, 2, 8), 1, D(2024, 2, 9)),
        (D(2024, 2, 9), 1, D(2024, 2, 18)),
        (D(2024, 2, 9), 3, D(2024, 2, 20)),
        # Spring Festival 2025: 28 Jan – 4 Feb off; Sun 26 Jan and Sat 8 Feb worked.
        (D(2025, 1, 25), 1, D(2025, 1, 26)),
        (D(2025, 1, 27), 1, D(2025, 2, 5)),
        (D(2025, 2, 5), 3, D(2025, 2, 8)),
        # National Day 2025: 1–8 Oct off; Sun 28 Sep and Sat 11 Oct worked.
        (D(2025, 9, 26), 1, D(2025, 9, 28)),
        (D(2025, 9, 30), 2, D(2025, 10, 10)),
        (D(2025, 10, 9), 2, D(2025, 10, 11)),
        # An ordinary week: counting starts the next working day, whatever the start is.
        (D(2025, 3, 7), 5, D(2025, 3, 14)),
        (D(2025, 3, 8), 1, D(2025, 3, 10)),
    ],
)
def test_add_workdays_on_real_schedules(start: dt.date, days: int, expected: dt.date) -> None:
    assert CAL.add_workdays(start, days) == expected


def test_make_up_days_and_holidays_of_2020() -> None:
    schedule = package_schedule(2020)
    assert schedule is not None
    assert schedule.workdays == {
        D(2020, 1, 19),
        D(2020, 4, 26),
        D(2020, 5, 9),
        D(2020, 6, 28),
        D(2020, 9, 27),
        D(2020, 10, 10),
    }
    assert {D(2020, 1, 31), D(2020, 10, 8), D(2020, 6, 26)} <= schedule.holidays
    assert CAL.is_workday(D(2020, 9, 27)) and not CAL.is_workday(D(2020, 10, 5))


def test_a_deadline_into_a_year_nobody_covers_fails_until_its_schedule_is_uploaded() -> None:
    assert package_covers(2026) and not package_covers(2027)
    assert CAL.add_workdays(D(2026, 12, 24), 4) == D(2026, 12, 30)
    with pytest.raises(CalendarUnavailable) as refused:
        CAL.add_workdays(D(2026, 12, 28), 5)  # 29, 30, 31 ... then 2027
    assert refused.value.year == 2027 and refused.value.status == 409
    assert "PUT /v1/calendar/2027" in refused.value.detail
    with pytest.raises(CalendarUnavailable):
        CAL.is_workday(D(2027, 1, 4))  # a Monday, and still not assumed to be a working day

    # A schedule for 2027 (New Year's Day on Friday 1 January; a made-up make-up Sunday).
    uploaded = YearSchedule.build(2027, [D(2027, 1, 1)], [D(2027, 1, 3)])
    cal = WorkCalendar({2027: uploaded})
    assert cal.add_workdays(D(2026, 12, 28), 5) == D(2027, 1, 4)  # 29, 30, 31, 3 (Sun), 4
    assert cal.source(2027) == "uploaded" and cal.source(2026) == "package"
    assert cal.source(2028) is None and not cal.covers(2028)


def test_an_uploaded_schedule_wins_over_the_package_for_its_year() -> None:
    # Suppose the notice for 2020 had made Monday 21 September a day off.
    cal = WorkCalendar({2020: YearSchedule.build(2020, [D(2020, 9, 21)], [])})
    assert not cal.is_workday(D(2020, 9, 21))
    assert not cal.is_workday(D(2020, 9, 27))  # and had no make-up Sunday either
    assert CAL.is_workday(D(2020, 9, 21)) and CAL.is_workday(D(2020, 9, 27))


@pytest.mark.parametrize(
    ("holidays", "workdays", "field", "words"),
    [
        ([D(2027, 1, 1)], [D(2027, 1, 4)], "workdays", "Saturday or Sunday"),
        ([D(2026, 12, 31)], [], "holidays", "outside 2027"),
        ([D(2027, 1, 1)], [D(2028, 1, 1)], "workdays", "outside 2027"),
        ([D(2027, 1, 2)], [D(2027, 1, 2)], "workdays", "both a holiday and a make-up"),
        ([], [], "holidays", "none given"),
        ([D(2027, 1, 1), D(2027, 1, 1)], [], "holidays", "more than once: 2027-01-01"),
        ([D(2027, 1, 1)], [D(2027, 1, 3), D(2027, 1, 3)], "workdays", "more than once"),
    ],
)
def test_an_uploaded_schedule_that_cannot_be_right_is_refused(
    holidays: list[dt.date], workdays: list[dt.date], field: str, words: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        YearSchedule.build(2027, holidays, workdays)
    assert any(e["field"] == field and words in e["message"] for e in refused.value.errors)


@pytest.mark.parametrize("days", [0, -1, 367])
def test_a_count_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(RuleViolation):
        CAL.add_workdays(D(2025, 3, 3), days)


def test_workdays_after_counts_the_working_days_in_between() -> None:
    assert CAL.workdays_after(D(2020, 9, 30), D(2020, 10, 10)) == 2  # 9th and 10th
    assert CAL.workdays_after(D(2020, 9, 25), D(2020, 9, 27)) == 1
    assert CAL.workdays_after(D(2020, 9, 27), D(2020, 9, 27)) == 0


def test_today_is_reckoned_in_shanghai() -> None:
    # 16:30 UTC on 30 September is already 1 October (a holiday) in Shanghai.
    assert today_in_shanghai(dt.datetime(2020, 9, 30, 16, 30, tzinfo=dt.UTC)) == D(2020, 10, 1)
    assert today_in_shanghai(dt.datetime(2020, 9, 30, 15, 59, tzinfo=dt.UTC)) == D(2020, 9, 30)
    with pytest.raises(ValueError):
        today_in_shanghai(dt.datetime(2020, 9, 30, 12))


# ---------------------------------------------------------------- blue 蓝色督办
def test_blue_until_reaches_over_a_holiday_to_the_next_working_day() -> None:
    calendar = WorkCalendar()
    # National Day 2020: Oct 1-8 off; the working day after Sep 30 is Oct 9
    assert calendar.blue_until(dt.date(2020, 9, 30), 1) == dt.date(2020, 10, 9)
    assert calendar.blue_until(dt.date(2020, 9, 29), 1) == dt.date(2020, 9, 30)
    # a Friday: one working day ahead is Monday
    assert calendar.blue_until(dt.date(2020, 9, 18), 1) == dt.date(2020, 9, 21)


def test_blue_until_with_no_working_days_is_today() -> None:
    assert WorkCalendar().blue_until(dt.date(2020, 9, 30), 0) == dt.date(2020, 9, 30)


def test_blue_until_assumes_nothing_about_an_unknown_year() -> None:
    # the package covers no year this far ahead: only a deadline of today reads blue
    assert WorkCalendar().blue_until(dt.date(2099, 12, 31), 1) == dt.date(2099, 12, 31)


def test_a_stored_schedule_reads_back_from_iso_dates() -> None:
    schedule = YearSchedule.from_iso(2020, ["2020-10-01"], ["2020-10-10"])
    assert schedule.holidays == frozenset({dt.date(2020, 10, 1)})
    assert schedule.workdays == frozenset({dt.date(2020, 10, 10)})
    assert schedule.is_workday(dt.date(2020, 10, 10)) and not schedule.is_workday(
        dt.date(2020, 10, 1)
    )
