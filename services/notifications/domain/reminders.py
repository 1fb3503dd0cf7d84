"""Reminders that come due with time, on the working-day calendar issues uses (shared.calendar):
the same colours as the issues service's 三色督办单, found by the worker's scan.

- blue 蓝色督办: a problem being worked on (assigned or planned) whose deadline is at most
  `working_days` working days away (`WorkCalendar.blue_until`), told once per deadline (an
  extension gives a new deadline, and a new reminder);
- a missing plan (yellow): a complex problem still only assigned after its plan was due.
"""

from __future__ import annotations

import datetime as dt

from shared.calendar import WorkCalendar

WORKING = frozenset({"assigned", "planned"})  # a unit is working on it: the deadline runs


def due_soon(
    calendar: WorkCalendar,
    status: str,
    deadline: dt.date | None,
    today: dt.date,
    working_days: int,
) -> bool:
    """Blue today: the deadline has not passed and lies within `working_days` working days."""
    if status not in WORKING or deadline is None or deadline < today:
        return False
    return deadline <= calendar.blue_until(today, working_days)


def plan_missing(status: str, complexity: str, plan_due: dt.date | None, today: dt.date) -> bool:
    """A complex problem still without its plan after the plan's due date."""
    return (
        status == "assigned"
        and complexity == "complex"
        and plan_due is not None
        and plan_due < today
    )
