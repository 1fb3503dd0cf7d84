"""Annual plan 年度计划: the year's planned investment and cumulative monthly targets (万元)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInput, RuleViolation


def is_amount(value: object) -> bool:
    """A finite Decimal (or int); floats, NaN and infinities are not amounts."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite()


def validate_annual_plan(
    annual_investment: Decimal, monthly_targets: Mapping[int, Decimal]
) -> dict[int, Decimal]:
    """Check the plan and return the cumulative targets sorted by month.

    Targets are cumulative (year to date), so they never fall from one month to the next, never
    exceed the year's amount, and December's target, when given, is the year's amount.
    InvalidInput (422) for what the request's schema states (amounts zero or more, months 1–12);
    RuleViolation (409) for the targets against each other and the year's amount.
    """
    errors: list[dict[str, Any]] = []

    def add(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not is_amount(annual_investment):
        add("annual_investment", "the annual planned investment must be a finite decimal amount")
    elif annual_investment < 0:
        add("annual_investment", "the annual planned investment cannot be negative")

    usable: dict[int, Decimal] = {}
    for month, target in monthly_targets.items():
        field = f"monthly_targets.{month}"
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            add(field, f"{month!r} is not a month (1–12)")
        elif not is_amount(target):
            add(field, f"the target for month {month} must be a finite decimal amount")
        elif target < 0:
            add(field, f"the cumulative target for month {month} cannot be negative")
        else:
            usable[month] = Decimal(target)
    if errors:
        raise InvalidInput("; ".join(e["message"] for e in errors), errors=errors)

    ordered = dict(sorted(usable.items()))
    previous: tuple[int, Decimal] | None = None
    for month, target in ordered.items():
        field = f"monthly_targets.{month}"
        if previous is not None and target < previous[1]:
            add(
                field,
                f"the cumulative target for month {month} ({target}) is lower than month "
                f"{previous[0]}'s ({previous[1]}); targets are year-to-date and cannot fall",
            )
        if target > annual_investment:
            add(
                field,
                f"the cumulative target for month {month} ({target}) is above the annual "
                f"planned investment ({annual_investment})",
            )
        elif month == 12 and target != annual_investment:
            add(
                field,
                f"the December target ({target}) must equal the annual planned investment "
                f"({annual_investment})",
            )
        previous = (month, target)

    if errors:
        raise RuleViolation("; ".join(e["message"] for e in errors), errors=errors)
    return ordered


def target_to_date(targets: Mapping[int, Decimal], month: int) -> Decimal | None:
    """The cumulative target of the latest month up to `month` that has one, else None."""
    eligible = [m for m in targets if m <= month]
    if not eligible:
        return None
    return targets[max(eligible)]
