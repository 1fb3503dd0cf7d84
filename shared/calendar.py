"""China's official working-day calendar (法定节假日 and 调休), reckoned in Asia/Shanghai.

A day is a working day when the State Council's schedule says so: Monday to Friday unless it is
a holiday (or a bridge day off), plus the make-up working days 调休 that fall on a weekend. The
schedule of a year comes from the `chinesecalendar` package, or from a schedule an admin
uploaded (which wins, so a late or corrected notice can be applied without a release). For a
year with neither, every question about it raises CalendarUnavailable: a deadline that is
wrong by one day is a wrong public notice, so Monday–Friday is never assumed.

It is shared because every service that reckons in working days must agree on them: issues
sets deadlines with it, notifications reminds a day before them. The issues service keeps the
uploads (PUT /v1/calendar/{year}) and publishes each one as `kuaiche.calendar.schedule_set.v1`;
another service builds its WorkCalendar from the latest of those per year.

Deadlines count working days starting on the next working day after the given date: five
working days from a Friday end on the next Friday when no holiday intervenes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import chinese_calendar

from shared.clock import SHANGHAI, today_in_shanghai
from shared.errors import RuleViolation

__all__ = [
    "MAX_WORKDAYS",
    "SHANGHAI",
    "CalendarUnavailable",
    "WorkCalendar",
    "YearSchedule",
    "package_covers",
    "package_schedule",
    "repeated",
    "today_in_shanghai",
]

MAX_WORKDAYS = 366  # how far one count may reach; a deadline is days or weeks away
MAX_SCAN_DAYS = 3 * 366  # no schedule has that many days off in a row: a bug, not a calendar


class CalendarUnavailable(RuleViolation):
    """The schedule of `year` is unknown: neither the package nor an upload covers it (409)."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"the working-day calendar for {year} is not known: the chinesecalendar package "
            f"does not cover it and no State Council schedule was uploaded; upload it with "
            f"PUT /v1/calendar/{year} (deadlines are never guessed as Monday–Friday)",
            missing_year=year,
        )
        self.year = year


def repeated(dates: Iterable[dt.date]) -> list[dt.date]:
    """The dates listed more than once, in order. A date typed twice is usually another date
    mistyped: it is refused, never dropped."""
    listed = list(dates)
    return sorted({d for d in listed if listed.count(d) > 1})


@dataclass(frozen=True)
class YearSchedule:
    """One year's State Council schedule: the days off that would otherwise be working days
    (holidays and bridge days) and the weekend days that are make-up working days 调休."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    @classmethod
    def build(
        cls, year: int, holidays: Iterable[dt.date], workdays: Iterable[dt.date]
    ) -> YearSchedule:
        """Validate an uploaded schedule: every date in `year` and listed once, make-up days
        on weekends, no day both. RuleViolation (409) names the offending field and dates: the
        request's schema says each list is of distinct dates (refused before this with 422), but
        not which year they belong to nor which weekday they fall on."""
        listed = {"holidays": list(holidays), "workdays": list(workdays)}
        hols, works = frozenset(listed["holidays"]), frozenset(listed["workdays"])
        errors: list[dict[str, str]] = []

        def bad(field: str, dates: Iterable[dt.date], message: str) -> None:
            days = ", ".join(sorted({d.isoformat() for d in dates}))
            errors.append({"field": field, "message": f"{message}: {days}"})

        for field, dates in listed.items():
            outside = [d for d in dates if d.year != year]
            if outside:
                bad(field, outside, f"dates outside {year}")
            twice = repeated(dates)
            if twice:
                bad(field, twice, "dates listed more than once")
        if not hols:
            errors.append(
                {
                    "field": "holidays",
                    "message": "a State Council schedule has holidays; none given",
                }
            )
        weekdays = [d for d in works if d.weekday() < 5]
        if weekdays:
            bad("workdays", weekdays, "make-up working days fall on a Saturday or Sunday")
        both = hols & works
        if both:
            bad("workdays", both, "a day cannot be both a holiday and a make-up working day")
        if errors:
            raise RuleViolation("; ".join(e["message"] for e in errors), errors=errors)
        return cls(year, hols, works)

    @classmethod
    def from_iso(cls, year: int, holidays: Iterable[str], workdays: Iterable[str]) -> YearSchedule:
        """A stored schedule (ISO date strings, as kept in a JSON column), already validated."""
        return cls(
            year,
            frozenset(dt.date.fromisoformat(d) for d in holidays),
            frozenset(dt.date.fromisoformat(d) for d in workdays),
        )

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def package_schedule(year: int) -> YearSchedule | None:
    """The package's schedule of `year` (None when it does not cover the year)."""
    if not package_covers(year):
        return None
    day, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    holidays, workdays = set(), set()
    while day <= end:
        working = chinese_calendar.is_workday(day)
        if day.weekday() < 5 and not working:
            holidays.add(day)
        elif day.weekday() >= 5 and working:
            workdays.add(day)
        day += dt.timedelta(days=1)
    return YearSchedule(year, frozenset(holidays), frozenset(workdays))


class WorkCalendar:
    """Working days from the uploaded schedules (by year) and, for other years, the package."""

    def __init__(self, uploaded: Mapping[int, YearSchedule] | None = None) -> None:
        self._uploaded = dict(uploaded or {})

    def source(self, year: int) -> Literal["uploaded", "package"] | None:
        if year in self._uploaded:
            return "uploaded"
        if package_covers(year):
            return "package"
        return None

    def covers(self, year: int) -> bool:
        return self.source(year) is not None

    def schedule(self, year: int) -> YearSchedule:
        if year in self._uploaded:
            return self._uploaded[year]
        found = package_schedule(year)
        if found is None:
            raise CalendarUnavailable(year)
        return found

    def is_workday(self, day: dt.date) -> bool:
        uploaded = self._uploaded.get(day.year)
        if uploaded is not None:
            return uploaded.is_workday(day)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarUnavailable(day.year) from None

    def next_workday(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        return self.add_workdays(day, 1)

    def add_workdays(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (the count starts on the next working day,
        whatever `start` is). CalendarUnavailable when the count reaches an unknown year."""
        if not 1 <= days <= MAX_WORKDAYS:
            raise RuleViolation(
                f"days must be between 1 and {MAX_WORKDAYS}",
                errors=[{"field": "days", "message": f"must be between 1 and {MAX_WORKDAYS}"}],
            )
        day, counted, scanned = start, 0, 0
        while counted < days:
            day += dt.timedelta(days=1)
            scanned += 1
            if scanned > MAX_SCAN_DAYS:  # pragma: no cover - a schedule without working days
                raise RuleViolation(f"no working days found after {start.isoformat()}")
            if self.is_workday(day):
                counted += 1
        return day

    def blue_until(self, today: dt.date, working_days: int) -> dt.date:
        """The last deadline that reads blue 蓝色督办 today: `working_days` working days ahead.
        Where the calendar does not know the days ahead, only a deadline of today reads blue:
        nothing is assumed about unknown days."""
        if working_days == 0:
            return today
        try:
            return self.add_workdays(today, working_days)
        except CalendarUnavailable:
            return today

    def workdays_after(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in (start, end]; 0 when end is not after start."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count
