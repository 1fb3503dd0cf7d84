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
from shared.errors import InvalidInput, RuleViolation
from shared.fields import MAX_YEAR, MIN_YEAR

PERIOD_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})$")
# What parse_period accepts, as the API's schemas state it (a 422 when it is not met).
PERIOD_SCHEMA_PATTERN = r"^(199[0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])$"


def parse_period(period: str) -> tuple[int, int]:
    """("YYYY-MM") → (year, month); InvalidInput on field "period" when it is not one (the
    schema's PERIOD_SCHEMA_PATTERN says so)."""
    match = PERIOD_PATTERN.fullmatch(period) if isinstance(period, str) else None
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

    InvalidInput (422) for what the request's schema states (the period's form, amounts that
    are not non-negative decimals); RuleViolation (409) for the rules it cannot state: a month
    still to come, this month's amount above the year's, a year-to-date figure out of line
    with the neighbouring reports without a correction note.
    """
    year, month = parse_period(period)

    invalid: list[dict[str, Any]] = []
    for field, amount, what in (
        ("ytd_investment", ytd_investment, "the year-to-date investment"),
        ("month_investment", month_investment, "this month's investment"),
    ):
        if not is_amount(amount):
            invalid.append({"field": field, "message": f"{what} must be a finite decimal amount"})
        elif amount < 0:
            invalid.append({"field": field, "message": f"{what} cannot be negative"})
    if invalid:
        raise InvalidInput("; ".join(e["message"] for e in invalid), errors=invalid)

    if (year, month) > (today.year, today.month):
        message = (
            f"cannot report a future month: {year:04d}-{month:02d} is after "
            f"{today.year:04d}-{today.month:02d}"
        )
        raise RuleViolation(message, errors=[{"field": "period", "message": message}])

    errors: list[dict[str, Any]] = []

    def add(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if month_investment > ytd_investment:
        add(
            "month_investment",
            f"this month's investment ({month_investment}) is above the year-to-date total "
            f"({ytd_investment}), which includes it",
        )

    has_note = correction_note is not None and correction_note.strip() != ""
    if previous_ytd is not None and ytd_investment < previous_ytd and not has_note:
        add(
            "ytd_investment",
            f"the year-to-date investment ({ytd_investment}) is lower than the previous "
            f"report's ({previous_ytd}); it is cumulative, so a lower figure needs a correction "
            "note saying why",
        )
    if next_ytd is not None and ytd_investment > next_ytd and not has_note:
        add(
            "ytd_investment",
            f"the year-to-date investment ({ytd_investment}) is above the next month's report "
            f"({next_ytd}); it is cumulative, so this needs a correction note saying why",
        )

    if errors:
        raise RuleViolation("; ".join(e["message"] for e in errors), errors=errors)
    return year, month


def _invalid_period(message: str) -> NoReturn:
    raise InvalidInput(message, errors=[{"field": "period", "message": message}])
