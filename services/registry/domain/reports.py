"""Monthly report 月度调度: year-to-date actual investment and this month's amount (万元).

The year-to-date figure is cumulative, never a delta: it may fall below last month's only as an
explicit correction that says why.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from services.registry.domain.plans import is_amount
from shared.errors import InvalidInput
from shared.fields import MAX_YEAR, MIN_YEAR

PERIOD_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(period: str) -> tuple[int, int]:
    """("YYYY-MM") → (year, month); InvalidInput on field "period" when it is not one."""
    match = PERIOD_PATTERN.match(period.strip()) if isinstance(period, str) else None
    if match is None:
        _invalid_period(f"the period {period!r} is not a month written YYYY-MM, e.g. 2024-04")
    year, month = int(match.group(1)), int(match.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        _invalid_period(
            f"the period {period!r} has year {year:04d}; years run {MIN_YEAR}–{MAX_YEAR}"
        )
    if not 1 <= month <= 12:
        _invalid_period(f"the period {period!r} has month {month:02d}; months run 01–12")
    return year, month


def validate_report(
    period: str,
    ytd_investment: Decimal,
    month_investment: Decimal,
    correction_note: str | None,
    previous_ytd: Decimal | None,
    today: date,
    next_ytd: Decimal | None = None,
) -> tuple[int, int]:
    """Check a monthly report and return its (year, month).

    `previous_ytd` is the year-to-date figure of the latest earlier report in the same year
    (None if this is the year's first); `next_ytd` that of the earliest later one, when an
    earlier month is reported again. `today` is the date in Shanghai.
    """
    year, month = parse_period(period)
    if (year, month) > (today.year, today.month):
        _invalid_period(
            f"cannot report a future month: {year:04d}-{month:02d} is after "
            f"{today.year:04d}-{today.month:02d}"
        )

    errors: list[dict[str, Any]] = []

    def add(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    ytd_ok = is_amount(ytd_investment)
    month_ok = is_amount(month_investment)
    if not ytd_ok:
        add("ytd_investment", "the year-to-date investment must be a finite decimal amount")
    elif ytd_investment < 0:
        add("ytd_investment", "the year-to-date investment cannot be negative")
    if not month_ok:
        add("month_investment", "this month's investment must be a finite decimal amount")
    elif month_investment < 0:
        add("month_investment", "this month's investment cannot be negative")

    if ytd_ok and month_ok and month_investment > ytd_investment:
        add(
            "month_investment",
            f"this month's investment ({month_investment}) is above the year-to-date total "
            f"({ytd_investment}), which includes it",
        )

    has_note = correction_note is not None and correction_note.strip() != ""
    if ytd_ok and previous_ytd is not None and ytd_investment < previous_ytd and not has_note:
        add(
            "ytd_investment",
            f"the year-to-date investment ({ytd_investment}) is lower than the previous "
            f"report's ({previous_ytd}); it is cumulative, so a lower figure needs a correction "
            "note saying why",
        )
    if ytd_ok and next_ytd is not None and ytd_investment > next_ytd and not has_note:
        add(
            "ytd_investment",
            f"the year-to-date investment ({ytd_investment}) is above the next month's report "
            f"({next_ytd}); it is cumulative, so this needs a correction note saying why",
        )

    if errors:
        raise InvalidInput("; ".join(e["message"] for e in errors), errors=errors)
    return year, month


def _invalid_period(message: str) -> NoReturn:
    raise InvalidInput(message, errors=[{"field": "period", "message": message}])
