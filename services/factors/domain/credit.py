"""Funds (资金): a project's credit demand, what banks grant against it (授信) and what they
disburse (放款). Each amount never exceeds what it refers to: grants the demand, disbursements
the credit granted."""

from __future__ import annotations

from decimal import Decimal

from shared.errors import RuleViolation


def check_grant(demanded: Decimal, granted: Decimal, amount: Decimal) -> None:
    if granted + amount > demanded:
        left = demanded - granted
        raise RuleViolation(
            f"credit granted may not exceed the demand of {demanded}; {left} remains to grant",
            remaining=str(left),
        )


def check_disbursement(granted: Decimal, disbursed: Decimal, amount: Decimal) -> None:
    if disbursed + amount > granted:
        left = granted - disbursed
        raise RuleViolation(
            f"disbursements may not exceed the credit granted ({granted}); {left} remains",
            remaining=str(left),
        )
