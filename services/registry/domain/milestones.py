"""Milestones 配档表: a planned date, and the actual date once reached."""

from __future__ import annotations

from datetime import date

from shared.errors import RuleViolation


def validate_actual_date(actual: date | None, today: date) -> None:
    """A milestone is reached on a day that has come (a rule against today: 409)."""
    if actual is not None and actual > today:
        raise RuleViolation(
            "an actual date cannot be in the future",
            errors=[{"field": "actual_date", "message": "in the future"}],
        )


def days_overdue(planned: date, actual: date | None, today: date) -> int:
    """Days past the planned date with no actual date; 0 when not overdue."""
    if actual is not None or planned >= today:
        return 0
    return (today - planned).days
