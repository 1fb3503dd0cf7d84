from datetime import date

import pytest

from services.registry.domain.enums import Stage
from services.registry.domain.stages import (
    TRANSITIONS,
    StageMove,
    can_move,
    plan_stage_move,
    validate_initial_stage,
)
from shared.errors import InvalidInput, RuleViolation

TODAY = date(2024, 6, 15)
START = date(2024, 3, 1)

P, R, S, C, W = Stage.PLANNING, Stage.RESERVE, Stage.STARTED, Stage.COMPLETED, Stage.WITHDRAWN

ALLOWED = {
    (P, R), (P, S), (P, C), (P, W),
    (R, S), (R, C), (R, W),
    (S, C), (S, W),
}  # fmt: skip

# The recorded start a project in each stage carries (planning/reserve have none).
RECORDED_START = {P: None, R: None, S: START, C: START, W: None}

MATRIX = [(current, target) for current in Stage for target in Stage]


def test_transition_table_covers_every_stage_and_is_exactly_the_allowed_moves():
    assert set(TRANSITIONS) == set(Stage)
    assert {(c, t) for c, targets in TRANSITIONS.items() for t in targets} == ALLOWED


@pytest.mark.parametrize(("current", "target"), MATRIX)
def test_every_move_in_the_matrix(current, target):
    assert can_move(current, target) == ((current, target) in ALLOWED)
    # A start date is supplied for every move so only the table decides here.
    actual_start = RECORDED_START[current] or START
    if (current, target) in ALLOWED:
        move = plan_stage_move(current, target, on=TODAY, actual_start=actual_start, today=TODAY)
        assert (move.from_stage, move.to_stage) == (current, target)
    else:
        with pytest.raises(RuleViolation) as caught:
            plan_stage_move(current, target, on=TODAY, actual_start=actual_start, today=TODAY)
        assert caught.value.status == 409
        assert caught.value.detail


@pytest.mark.parametrize("stage", list(Stage))
def test_moving_to_the_same_stage_is_forbidden(stage):
    with pytest.raises(RuleViolation, match="already"):
        plan_stage_move(stage, stage, on=TODAY, actual_start=START, today=TODAY)


@pytest.mark.parametrize(("current", "target"), [(R, P), (S, P), (S, R)])
def test_going_back_is_forbidden_and_says_stages_move_forward(current, target):
    with pytest.raises(RuleViolation, match="only move forward"):
        plan_stage_move(current, target, on=TODAY, actual_start=START, today=TODAY)


@pytest.mark.parametrize("target", [P, R, S, W])
def test_nothing_leaves_completed(target):
    with pytest.raises(RuleViolation, match="completed is final"):
        plan_stage_move(C, target, on=TODAY, actual_start=START, today=TODAY)


@pytest.mark.parametrize("target", [P, R, S, C])
def test_nothing_leaves_withdrawn(target):
    with pytest.raises(RuleViolation, match="withdrawn is final"):
        plan_stage_move(W, target, on=TODAY, actual_start=START, today=TODAY)


def test_planning_to_reserve_records_no_date():
    move = plan_stage_move(P, R, on=TODAY, actual_start=None, today=TODAY)

    assert move == StageMove(P, R, actual_start=None, actual_completion=None, withdrawn_on=None)


@pytest.mark.parametrize("current", [P, R])
def test_moving_to_started_records_the_day_as_actual_start(current):
    on = date(2024, 5, 20)

    move = plan_stage_move(current, S, on=on, actual_start=None, today=TODAY)

    assert move == StageMove(current, S, actual_start=on, actual_completion=None, withdrawn_on=None)


def test_started_to_completed_records_completion_and_keeps_the_start():
    on = date(2024, 6, 1)

    move = plan_stage_move(S, C, on=on, actual_start=START, today=TODAY)

    assert move == StageMove(S, C, actual_start=START, actual_completion=on, withdrawn_on=None)


@pytest.mark.parametrize("current", [P, R])
def test_skipping_to_completed_is_allowed_when_the_start_is_known(current):
    move = plan_stage_move(current, C, on=TODAY, actual_start=START, today=TODAY)

    assert (move.actual_start, move.actual_completion) == (START, TODAY)


@pytest.mark.parametrize("current", [P, R, S])
def test_completing_without_a_start_date_is_refused(current):
    with pytest.raises(RuleViolation, match="must be started before it is completed"):
        plan_stage_move(current, C, on=TODAY, actual_start=None, today=TODAY)


def test_completion_before_the_start_is_refused():
    with pytest.raises(RuleViolation, match="before the actual start") as caught:
        plan_stage_move(S, C, on=date(2024, 2, 28), actual_start=START, today=TODAY)

    assert caught.value.errors[0]["field"] == "on"


def test_completion_on_the_start_day_is_allowed():
    move = plan_stage_move(S, C, on=START, actual_start=START, today=TODAY)

    assert move.actual_completion == START


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_no_move_may_be_dated_in_the_future(current, target):
    tomorrow = date(2024, 6, 16)

    with pytest.raises(RuleViolation, match="in the future") as caught:
        plan_stage_move(current, target, on=tomorrow, actual_start=START, today=TODAY)

    assert caught.value.errors[0]["field"] == "on"


def test_a_start_date_in_the_future_is_refused_when_completing():
    with pytest.raises(RuleViolation, match="in the future") as caught:
        plan_stage_move(R, C, on=TODAY, actual_start=date(2024, 7, 1), today=TODAY)

    assert caught.value.errors[0]["field"] == "actual_start"


@pytest.mark.parametrize(("current", "recorded_start"), [(P, None), (R, None), (S, START)])
def test_withdrawal_records_the_day_and_keeps_any_start(current, recorded_start):
    on = date(2024, 6, 10)

    move = plan_stage_move(current, W, on=on, actual_start=recorded_start, today=TODAY)

    assert move == StageMove(
        current, W, actual_start=recorded_start, actual_completion=None, withdrawn_on=on
    )


# --- validate_initial_stage ---------------------------------------------------------------


def initial_refusal(stage, actual_start, actual_completion) -> dict[str, str]:
    """The dates a stage implies, a rule across fields and against today: 409."""
    with pytest.raises(RuleViolation) as caught:
        validate_initial_stage(stage, actual_start, actual_completion, TODAY)
    assert caught.value.status == 409
    return {e["field"]: e["message"] for e in caught.value.errors}


@pytest.mark.parametrize(
    ("stage", "actual_start", "actual_completion"),
    [
        (P, None, None),
        (R, None, None),
        (S, START, None),
        (S, TODAY, None),
        (C, START, TODAY),
        (C, START, START),
    ],
)
def test_valid_initial_stages(stage, actual_start, actual_completion):
    validate_initial_stage(stage, actual_start, actual_completion, TODAY)


def test_withdrawn_is_not_an_initial_stage():
    # The schema's enum of initial stages says so: 422.
    with pytest.raises(InvalidInput) as caught:
        validate_initial_stage(W, None, None, TODAY)

    assert caught.value.status == 422
    [error] = caught.value.errors
    assert error["field"] == "stage"
    assert "cannot be created as withdrawn" in error["message"]


@pytest.mark.parametrize("stage", [P, R])
def test_planning_and_reserve_carry_no_actual_dates(stage):
    assert "actual_start" in initial_refusal(stage, START, None)
    assert "actual_completion" in initial_refusal(stage, None, TODAY)


def test_started_needs_an_actual_start():
    errors = initial_refusal(S, None, None)

    assert "needs its actual start" in errors["actual_start"]


def test_started_carries_no_completion():
    errors = initial_refusal(S, START, TODAY)

    assert "not completed" in errors["actual_completion"]


def test_completed_needs_both_dates():
    assert set(initial_refusal(C, None, None)) == {"actual_start", "actual_completion"}
    assert "actual_start" in initial_refusal(C, None, TODAY)
    assert "actual_completion" in initial_refusal(C, START, None)


def test_completed_before_started_is_refused():
    errors = initial_refusal(C, TODAY, START)

    assert "before the actual start" in errors["actual_completion"]


@pytest.mark.parametrize(
    ("stage", "actual_start", "actual_completion", "field"),
    [
        (S, date(2024, 6, 16), None, "actual_start"),
        (C, START, date(2024, 6, 16), "actual_completion"),
    ],
)
def test_initial_dates_may_not_be_in_the_future(stage, actual_start, actual_completion, field):
    errors = initial_refusal(stage, actual_start, actual_completion)

    assert "in the future" in errors[field]
