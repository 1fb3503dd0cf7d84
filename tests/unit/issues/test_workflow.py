"""The closed loop's transition table, move by move: every allowed move lands where the table
says, and every other (status, action, complexity) is a RuleViolation that gives a reason."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from services.issues.domain import workflow
from services.issues.domain.enums import Colour, Complexity, Status
from services.issues.domain.workflow import Action, next_status
from shared.calendar import WorkCalendar
from shared.errors import RuleViolation

D = dt.date
CAL = WorkCalendar()
G, C = Complexity.GENERAL, Complexity.COMPLEX
S = Status

ALLOWED: dict[tuple[Status, Action, Complexity], Status] = {
    (S.REPORTED, Action.ASSIGN, G): S.ASSIGNED,
    (S.REPORTED, Action.ASSIGN, C): S.ASSIGNED,
    (S.ASSIGNED, Action.OBJECT, G): S.REPORTED,
    (S.ASSIGNED, Action.OBJECT, C): S.REPORTED,
    (S.ASSIGNED, Action.PLAN, C): S.PLANNED,
    (S.ASSIGNED, Action.EXTEND, G): S.ASSIGNED,
    (S.ASSIGNED, Action.RESOLVE, G): S.RESOLVED,
    (S.PLANNED, Action.EXTEND, G): S.PLANNED,
    (S.PLANNED, Action.EXTEND, C): S.PLANNED,
    (S.PLANNED, Action.RESOLVE, G): S.RESOLVED,
    (S.PLANNED, Action.RESOLVE, C): S.RESOLVED,
    (S.RESOLVED, Action.ACCEPT, G): S.RESOLVED,
    (S.RESOLVED, Action.ACCEPT, C): S.RESOLVED,
    (S.RESOLVED, Action.REJECT, G): S.ASSIGNED,
    (S.RESOLVED, Action.REJECT, C): S.ASSIGNED,
    (S.RESOLVED, Action.CLOSE, G): S.CLOSED,
    (S.RESOLVED, Action.CLOSE, C): S.CLOSED,
}
EVERY_MOVE = list(itertools.product(Status, Action, Complexity))
FORBIDDEN = [m for m in EVERY_MOVE if m not in ALLOWED]


def test_the_matrix_is_complete() -> None:
    assert len(EVERY_MOVE) == 5 * 8 * 2
    assert len(ALLOWED) + len(FORBIDDEN) == len(EVERY_MOVE)


@pytest.mark.parametrize(("status", "action", "complexity"), list(ALLOWED))
def test_every_allowed_move(status: Status, action: Action, complexity: Complexity) -> None:
    assert next_status(status, complexity, action) is ALLOWED[(status, action, complexity)]


@pytest.mark.parametrize(("status", "action", "complexity"), FORBIDDEN)
def test_every_forbidden_move_says_why(
    status: Status, action: Action, complexity: Complexity
) -> None:
    with pytest.raises(RuleViolation) as refused:
        next_status(status, complexity, action)
    assert refused.value.status == 409
    assert refused.value.detail
    if status is S.CLOSED:
        assert "closed is final" in refused.value.detail
    elif (status, action) in workflow.ONLY_FOR:
        assert "complex" in refused.value.detail or "general" in refused.value.detail
    else:
        assert f"the problem is {status}" in refused.value.detail


@pytest.mark.parametrize("action", [Action.ACCEPT, Action.REJECT])
def test_feedback_after_an_acceptance_is_refused(action: Action) -> None:
    with pytest.raises(RuleViolation, match="already accepted"):
        next_status(S.RESOLVED, G, action, accepted=True)
    assert next_status(S.RESOLVED, G, Action.CLOSE, accepted=True) is S.CLOSED


# ---------------------------------------------------------------- deadlines
def deadlines(complexity: Complexity, on: dt.date, days: int | None):  # type: ignore[no-untyped-def]
    return workflow.assignment_deadlines(
        CAL, complexity, on, days, default_days=5, min_days=3, max_days=5, plan_days=2
    )


def test_a_general_assignment_defaults_to_five_working_days() -> None:
    got, days = deadlines(G, D(2020, 9, 21), None)
    assert (got.deadline, got.plan_due, days) == (D(2020, 9, 27), None, 5)
    got, days = deadlines(G, D(2020, 9, 21), 3)
    assert (got.deadline, days) == (D(2020, 9, 24), 3)


@pytest.mark.parametrize("days", [0, 1, 2, 6, 30])
def test_a_general_assignment_takes_three_to_five_working_days(days: int) -> None:
    with pytest.raises(RuleViolation) as refused:
        deadlines(G, D(2020, 9, 21), days)
    assert refused.value.errors[0]["field"] == "working_days"


def test_a_complex_assignment_owes_its_plan_within_two_working_days() -> None:
    got, days = deadlines(C, D(2020, 9, 25), None)  # Friday; Sunday 27th is a working day
    assert (got.deadline, got.plan_due, days) == (None, D(2020, 9, 28), None)
    with pytest.raises(RuleViolation, match="set by its plan"):
        deadlines(C, D(2020, 9, 25), 5)


def test_a_plans_deadline_lies_ahead_on_a_working_day() -> None:
    workflow.check_plan_deadline(CAL, D(2020, 9, 22), D(2020, 10, 10))  # make-up Saturday
    for bad in (D(2020, 9, 22), D(2020, 9, 21)):
        with pytest.raises(RuleViolation, match="must lie ahead"):
            workflow.check_plan_deadline(CAL, D(2020, 9, 22), bad)
    with pytest.raises(RuleViolation, match="not a working day"):
        workflow.check_plan_deadline(CAL, D(2020, 9, 22), D(2020, 10, 5))


def test_an_objection_is_accepted_within_one_working_day() -> None:
    # Assigned Wednesday 30 September 2020: the next working day is 9 October.
    workflow.check_objection(CAL, D(2020, 9, 30), D(2020, 9, 30), 1)
    workflow.check_objection(CAL, D(2020, 9, 30), D(2020, 10, 9), 1)
    with pytest.raises(RuleViolation, match="closed on 2020-10-09"):
        workflow.check_objection(CAL, D(2020, 9, 30), D(2020, 10, 10), 1)


def test_an_extension_is_requested_before_the_deadline() -> None:
    assigned = D(2020, 9, 21)
    got = workflow.extended_deadline(
        CAL, D(2020, 9, 27), assigned, D(2020, 9, 27), D(2020, 9, 28), 2
    )
    assert got == D(2020, 9, 29)
    assert workflow.extended_deadline(CAL, D(2020, 9, 27), assigned, assigned, assigned, 2) == got
    with pytest.raises(RuleViolation, match="before the deadline"):
        workflow.extended_deadline(CAL, D(2020, 9, 27), assigned, D(2020, 9, 28), D(2020, 9, 28), 2)
    with pytest.raises(RuleViolation, match="in the future"):
        workflow.extended_deadline(CAL, D(2020, 9, 27), assigned, D(2020, 9, 26), D(2020, 9, 25), 2)
    # Nobody asks to extend a deadline before being given the problem.
    with pytest.raises(RuleViolation, match="before the assignment") as refused:
        workflow.extended_deadline(CAL, D(2020, 9, 27), assigned, D(2020, 9, 18), D(2020, 9, 25), 2)
    assert refused.value.errors == [
        {"field": "requested_on", "message": refused.value.errors[0]["message"]}
    ]


def test_on_time_means_by_the_deadline() -> None:
    assert workflow.on_time(D(2020, 9, 27), D(2020, 9, 27))
    assert not workflow.on_time(D(2020, 9, 28), D(2020, 9, 27))


# ---------------------------------------------------------------- colours
TODAY = D(2020, 9, 25)  # Friday; the next working day is the make-up Sunday 27th
BLUE_UNTIL = CAL.add_workdays(TODAY, 1)


def colour(status: Status, complexity: Complexity, deadline, plan_due=None, flagged=False):  # type: ignore[no-untyped-def]
    return workflow.colour(status, complexity, deadline, plan_due, flagged, TODAY, BLUE_UNTIL)


def test_blue_when_one_working_day_or_less_is_left() -> None:
    assert BLUE_UNTIL == D(2020, 9, 27)
    assert colour(S.ASSIGNED, G, D(2020, 9, 25)) is Colour.BLUE  # due today
    assert colour(S.ASSIGNED, G, D(2020, 9, 27)) is Colour.BLUE  # one working day left
    assert colour(S.ASSIGNED, G, D(2020, 9, 28)) is None  # two left
    assert colour(S.PLANNED, C, D(2020, 9, 26)) is Colour.BLUE
    assert colour(S.ASSIGNED, C, None, plan_due=D(2020, 9, 27)) is Colour.BLUE


def test_yellow_when_a_complex_problem_is_behind_its_plan() -> None:
    assert colour(S.ASSIGNED, C, None, plan_due=D(2020, 9, 24)) is Colour.YELLOW
    assert colour(S.PLANNED, C, D(2020, 10, 9), plan_due=D(2020, 9, 24)) is None


def test_red_when_overdue_and_until_closed() -> None:
    assert colour(S.ASSIGNED, G, D(2020, 9, 24)) is Colour.RED
    assert colour(S.PLANNED, C, D(2020, 9, 24)) is Colour.RED
    # Flagged once, it stays red while resolved and even after a later deadline ...
    assert colour(S.RESOLVED, G, D(2020, 9, 24), flagged=True) is Colour.RED
    assert colour(S.ASSIGNED, G, D(2020, 10, 20), flagged=True) is Colour.RED
    # ... until it is closed.
    assert colour(S.CLOSED, G, D(2020, 9, 24), flagged=True) is None
    # A resolved problem that was never overdue has no colour, nor has a reported one.
    assert colour(S.RESOLVED, G, D(2020, 9, 24)) is None
    assert colour(S.REPORTED, G, None) is None
