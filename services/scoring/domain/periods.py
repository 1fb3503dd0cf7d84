"""An assessment period: a calendar month of a year. A card "for April 2020" reads the year to the
end of April (Asia/Shanghai business dates, as the events carry them)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from shared.rates import percent

_TEXT = re.compile(r"\A([0-9]{4})-([0-9]{2})\Z")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1–12")

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2020-04' → Period(2020, 4)."""
        match = _TEXT.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a YYYY-MM period")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @cached_property  # these four: read for every fact a period is assessed on
    def index(self) -> int:
        """Months since year 0: differences between periods are month counts."""
        return self.year * 12 + self.month - 1

    @cached_property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @cached_property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @cached_property
    def year_start(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    def months_after(self, earlier: Period) -> int:
        return self.index - earlier.index

    def in_year_to_date(self, day: dt.date | None) -> bool:
        """`day` lies in this period's year, on or before the period's last day."""
        return day is not None and self.year_start <= day <= self.last_day

    def in_month(self, day: dt.date | None) -> bool:
        return day is not None and self.first_day <= day <= self.last_day

    def time_target(self) -> Decimal:
        """序时进度: the share of the year elapsed at the end of the period, as a rate (month / 12)."""
        return self._time_target

    @cached_property  # read for every planned project a period is assessed on
    def _time_target(self) -> Decimal:
        target = percent(self.month, 12)
        assert target is not None
        return target
