"""Funds (资金): a project's credit demand, what banks grant against it (授信) and what they
disburse (放款). Each amount never exceeds what it refers to: grants the demand, disbursements
the credit granted."""

from __future__ import annotations

from decimal import Decimal

from shared.amounts import format_amount
from shared.errors import RuleViolation


def check_grant(demanded: Decimal, granted: Decimal, amount: Decimal) -> None:
    if granted + amount > demanded:
        left = demanded - granted
        raise RuleViolation(
            f"credit granted may not exceed the demand of {format_amount(demanded)}; {format_amount(left)} remains to grant",
            remaining=format_amount(left),
        )


def check_disbursement(granted: Decimal, disbursed: Decimal, amount: Decimal) -> None:
    if disbursed + amount > granted:
        left = granted - disbursed
        raise RuleViolation(
            f"disbursements may not exceed the credit granted ({format_amount(granted)}); {format_amount(left)} remains",
            remaining=format_amount(left),
        )


def check_first_demand(project_id: str, year: int, existing: str | None) -> None:
    """A project registers one credit demand a year; `existing` is the one it has, if any."""
    if existing is not None:
        raise RuleViolation(
            f"project {project_id} already has a credit demand for {year} ({existing})",
            existing=existing,
        )
