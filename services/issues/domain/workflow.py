"""The closed loop 全链条闭环 of a problem, as an explicit transition table.

reported 收集 → assigned 交办 → [complex: planned 方案] → resolved 办结 → closed 销号.
From resolved, the reporter's feedback either accepts the result (it stays resolved, ready to be
closed) or rejects it (back to assigned, with a new deadline). An objection to the assignment,
within its window, sends the problem back to reported for reassignment. An extension 延期 moves
the resolution deadline and keeps the status. Anything else is a RuleViolation (409) that says
why; so is input that breaks a rule of an allowed move (against the calendar, today's date, the
problem's state or the configuration), naming the field: the schema cannot state those.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import NoReturn

from services.issues.domain.enums import OPEN_STATUSES, Colour, Complexity, Status
from shared.calendar import WorkCalendar
from shared.errors import RuleViolation


class Action(StrEnum):
    ASSIGN = "assign"
    OBJECT = "object"
    PLAN = "plan"
    EXTEND = "extend"
    RESOLVE = "resolve"
    ACCEPT = "accept"  # feedback that accepts the resolution
    REJECT = "reject"  # feedback that rejects it
    CLOSE = "close"


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.REPORTED, Action.ASSIGN): Status.ASSIGNED,
    (Status.ASSIGNED, Action.OBJECT): Status.REPORTED,
    (Status.ASSIGNED, Action.PLAN): Status.PLANNED,
    (Status.ASSIGNED, Action.EXTEND): Status.ASSIGNED,
    (Status.ASSIGNED, Action.RESOLVE): Status.RESOLVED,
    (Status.PLANNED, Action.EXTEND): Status.PLANNED,
    (Status.PLANNED, Action.RESOLVE): Status.RESOLVED,
    (Status.RESOLVED, Action.ACCEPT): Status.RESOLVED,
    (Status.RESOLVED, Action.REJECT): Status.ASSIGNED,
    (Status.RESOLVED, Action.CLOSE): Status.CLOSED,
}

# Moves the table allows for one complexity only.
ONLY_FOR: dict[tuple[Status, Action], Complexity] = {
    (Status.ASSIGNED, Action.PLAN): Complexity.COMPLEX,
    (Status.ASSIGNED, Action.RESOLVE): Complexity.GENERAL,
    (Status.ASSIGNED, Action.EXTEND): Complexity.GENERAL,
}

_WHY_NOT_FOR: dict[tuple[Status, Action], str] = {
    (Status.ASSIGNED, Action.PLAN): "a general problem has no plan: it is resolved directly",
    (Status.ASSIGNED, Action.RESOLVE): (
        "a complex problem is resolved only after its plan: submit the plan first"
    ),
    (Status.ASSIGNED, Action.EXTEND): (
        "a complex problem has no resolution deadline before its plan: submit the plan first"
    ),
}


def next_status(
    status: Status, complexity: Complexity, action: Action, *, accepted: bool = False
) -> Status:
    """The status after `action`, or RuleViolation with the reason it is forbidden now.
    `accepted`: the reporter already accepted the current resolution."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise RuleViolation(_forbidden_reason(status, action), current_status=str(status))
    required = ONLY_FOR.get((status, action))
    if required is not None and complexity is not required:
        raise RuleViolation(_WHY_NOT_FOR[(status, action)], current_status=str(status))
    if accepted and action in (Action.ACCEPT, Action.REJECT):
        raise RuleViolation(
            "the reporter already accepted this resolution; it awaits closing",
            current_status=str(status),
        )
    return target


def _forbidden_reason(status: Status, action: Action) -> str:
    if status is Status.CLOSED:
        return f"the problem is closed (销号): closed is final, it cannot {action}"
    reasons: dict[Action, str] = {
        Action.ASSIGN: "only a reported problem (or one whose assignment was objected to) "
        "is assigned",
        Action.OBJECT: "an objection is made to an assignment in force: only an assigned "
        "problem, before any plan",
        Action.PLAN: "a plan is submitted for an assigned complex problem",
        Action.EXTEND: "an extension moves the deadline of a problem being worked on "
        "(assigned or planned)",
        Action.RESOLVE: "only a problem being worked on (assigned or planned) is resolved",
        Action.ACCEPT: "feedback is given on a resolved problem",
        Action.REJECT: "feedback is given on a resolved problem",
        Action.CLOSE: "only a resolved problem is closed",
    }
    return f"the problem is {status}: {reasons[action]}"


# ---------------------------------------------------------------- deadlines
@dataclass(frozen=True)
class Deadlines:
    deadline: dt.date | None  # the resolution deadline (general problems)
    plan_due: dt.date | None  # complex problems: the plan is due by then


def assignment_deadlines(
    calendar: WorkCalendar,
    complexity: Complexity,
    assigned_on: dt.date,
    working_days: int | None,
    *,
    default_days: int,
    min_days: int,
    max_days: int,
    plan_days: int,
) -> tuple[Deadlines, int | None]:
    """The deadlines an assignment on `assigned_on` sets, and the working days it used:
    a general problem gets `working_days` (min..max, default `default_days`); a complex one
    owes its plan within `plan_days` and takes no working days here."""
    if complexity is Complexity.COMPLEX:
        if working_days is not None:
            _refuse(
                "working_days",
                "a complex problem's resolution deadline is set by its plan; "
                f"the plan is due within {plan_days} working days",
            )
        return Deadlines(None, calendar.add_workdays(assigned_on, plan_days)), None
    days = default_days if working_days is None else working_days
    if not min_days <= days <= max_days:
        _refuse(
            "working_days",
            f"a general problem gets {min_days}–{max_days} working days, not {days}",
        )
    return Deadlines(calendar.add_workdays(assigned_on, days), None), days


def check_plan_deadline(calendar: WorkCalendar, planned_on: dt.date, deadline: dt.date) -> None:
    """A plan's resolution deadline must lie ahead and be a working day."""
    if deadline <= planned_on:
        _refuse(
            "deadline",
            f"the plan's deadline {deadline.isoformat()} must lie ahead of "
            f"{planned_on.isoformat()}",
        )
    if not calendar.is_workday(deadline):
        _refuse("deadline", f"{deadline.isoformat()} is not a working day")


def objection_closes(calendar: WorkCalendar, assigned_on: dt.date, window_days: int) -> dt.date:
    """The last day an objection to an assignment made on `assigned_on` is accepted."""
    return calendar.add_workdays(assigned_on, window_days)


def check_objection(
    calendar: WorkCalendar, assigned_on: dt.date, today: dt.date, window_days: int
) -> None:
    closes = objection_closes(calendar, assigned_on, window_days)
    if today > closes:
        raise RuleViolation(
            f"an objection is accepted within {window_days} working day(s) of the assignment "
            f"({assigned_on.isoformat()}); the window closed on {closes.isoformat()}"
        )


def extended_deadline(
    calendar: WorkCalendar,
    deadline: dt.date,
    assigned_on: dt.date,
    requested_on: dt.date,
    today: dt.date,
    working_days: int,
) -> dt.date:
    """The deadline after an extension of `working_days`, requested on `requested_on` by the
    unit the problem was assigned to on `assigned_on`."""
    if requested_on > today:
        _refuse("requested_on", f"{requested_on.isoformat()} is in the future")
    if requested_on < assigned_on:
        _refuse(
            "requested_on",
            f"{requested_on.isoformat()} is before the assignment ({assigned_on.isoformat()})",
        )
    if requested_on > deadline:
        _refuse(
            "requested_on",
            f"an extension is requested before the deadline: it was {deadline.isoformat()}, "
            f"the request came on {requested_on.isoformat()}",
        )
    return calendar.add_workdays(deadline, working_days)


def on_time(done_on: dt.date, due: dt.date | None) -> bool:
    return due is None or done_on <= due


# ---------------------------------------------------------------- colours
def is_overdue(status: Status, deadline: dt.date | None, flagged: bool, today: dt.date) -> bool:
    """Overdue: the deadline passed while the unit was working on it, or it was flagged so
    (an overdue problem is shown until closed)."""
    if status is Status.CLOSED:
        return False
    if flagged:
        return True
    return status in OPEN_STATUSES and deadline is not None and deadline < today


def colour(
    status: Status,
    complexity: Complexity,
    deadline: dt.date | None,
    plan_due: dt.date | None,
    flagged: bool,
    today: dt.date,
    blue_until: dt.date,
) -> Colour | None:
    """三色督办单: red (overdue) before yellow (a complex problem's plan is late) before blue
    (the deadline is at most one working day away: on or before `blue_until`)."""
    if is_overdue(status, deadline, flagged, today):
        return Colour.RED
    if (
        status is Status.ASSIGNED
        and complexity is Complexity.COMPLEX
        and plan_due is not None
        and plan_due < today
    ):
        return Colour.YELLOW
    if status in OPEN_STATUSES:
        due = deadline if deadline is not None else plan_due
        if due is not None and due <= blue_until:
            return Colour.BLUE
    return None


def _refuse(field: str, message: str) -> NoReturn:
    """A rule of an allowed move refuses the value of `field` (409, naming the field)."""
    raise RuleViolation(message, errors=[{"field": field, "message": message}])
