"""Four-batch stage machine 四个一批: planning 谋划 → reserve 储备 → started 开工 → completed 竣工.

Moves go forward only (skipping ahead is allowed); any stage but completed may be withdrawn 退出;
nothing leaves completed or withdrawn. Going back is a correction, an explicit audited admin
action that does not pass through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from services.registry.domain.enums import Stage
from shared.errors import InvalidInput, RuleViolation

TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.PLANNING: frozenset({Stage.RESERVE, Stage.STARTED, Stage.COMPLETED, Stage.WITHDRAWN}),
    Stage.RESERVE: frozenset({Stage.STARTED, Stage.COMPLETED, Stage.WITHDRAWN}),
    Stage.STARTED: frozenset({Stage.COMPLETED, Stage.WITHDRAWN}),
    Stage.COMPLETED: frozenset(),
    Stage.WITHDRAWN: frozenset(),
}

INITIAL_STAGES = frozenset({Stage.PLANNING, Stage.RESERVE, Stage.STARTED, Stage.COMPLETED})


@dataclass(frozen=True)
class StageMove:
    """The project's stage and dates once the move is made (None: no such date)."""

    from_stage: Stage
    to_stage: Stage
    actual_start: date | None
    actual_completion: date | None
    withdrawn_on: date | None


def can_move(current: Stage, target: Stage) -> bool:
    return target in TRANSITIONS[current]


def plan_stage_move(
    current: Stage,
    target: Stage,
    *,
    on: date,
    actual_start: date | None,
    today: date,
) -> StageMove:
    """Check a move from `current` to `target` made `on` a date, and say which dates to record.

    `actual_start` is the start already recorded, or (moving to completed from an earlier
    stage) the start date the caller knows. RuleViolation (409) when the move is forbidden in
    the current state or a date is impossible (in the future, completion before the start):
    rules against the project, and today, that no schema states.
    """
    if current == target:
        raise RuleViolation(f"the project is already {current.value}; nothing to move")
    if not can_move(current, target):
        raise RuleViolation(_forbidden_reason(current, target))

    _not_in_future("on", on, today)

    if target is Stage.STARTED:
        return StageMove(
            current, target, actual_start=on, actual_completion=None, withdrawn_on=None
        )

    if target is Stage.COMPLETED:
        if actual_start is None:
            raise RuleViolation(
                "a project must be started before it is completed: no actual start date is known"
            )
        _not_in_future("actual_start", actual_start, today)
        if on < actual_start:
            _refuse(
                "on",
                f"the completion date {on.isoformat()} is before the actual start "
                f"{actual_start.isoformat()}",
            )
        return StageMove(
            current, target, actual_start=actual_start, actual_completion=on, withdrawn_on=None
        )

    if target is Stage.WITHDRAWN:
        return StageMove(
            current, target, actual_start=actual_start, actual_completion=None, withdrawn_on=on
        )

    # planning → reserve records no date.
    return StageMove(current, target, actual_start=None, actual_completion=None, withdrawn_on=None)


def validate_initial_stage(
    stage: Stage,
    actual_start: date | None,
    actual_completion: date | None,
    today: date,
) -> None:
    """A project created directly at `stage` must carry exactly the dates that stage implies,
    none of them in the future. InvalidInput for a stage no project starts at (the schema's enum
    says which); RuleViolation for the dates, a rule across fields and against today."""
    if stage not in INITIAL_STAGES:
        message = f"a project cannot be created as {stage.value}; create it, then withdraw it"
        raise InvalidInput(message, errors=[{"field": "stage", "message": message}])

    errors: list[dict[str, Any]] = []

    def add(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if stage in (Stage.PLANNING, Stage.RESERVE):
        if actual_start is not None:
            add("actual_start", f"a {stage.value} project has not started: no actual start date")
        if actual_completion is not None:
            add(
                "actual_completion",
                f"a {stage.value} project is not completed: no actual completion date",
            )
    else:
        if actual_start is None:
            add("actual_start", f"a {stage.value} project needs its actual start date")
        if stage is Stage.STARTED and actual_completion is not None:
            add(
                "actual_completion",
                "a started project is not completed yet: no actual completion date",
            )
        if stage is Stage.COMPLETED and actual_completion is None:
            add("actual_completion", "a completed project needs its actual completion date")

    for field, value in (("actual_start", actual_start), ("actual_completion", actual_completion)):
        if value is not None and value > today:
            add(field, f"{value.isoformat()} is in the future (today is {today.isoformat()})")

    if (
        actual_start is not None
        and actual_completion is not None
        and actual_completion < actual_start
    ):
        add(
            "actual_completion",
            f"the completion date {actual_completion.isoformat()} is before the actual start "
            f"{actual_start.isoformat()}",
        )

    if errors:
        raise RuleViolation("; ".join(e["message"] for e in errors), errors=errors)


def _forbidden_reason(current: Stage, target: Stage) -> str:
    if current is Stage.COMPLETED:
        return f"a completed project cannot move to {target.value}: completed is final"
    if current is Stage.WITHDRAWN:
        return f"a withdrawn project cannot move to {target.value}: withdrawn is final"
    return (
        f"a {current.value} project cannot go back to {target.value}: stages only move forward "
        "(a correction is an admin action)"
    )


def _not_in_future(field: str, value: date, today: date) -> None:
    if value > today:
        _refuse(field, f"{value.isoformat()} is in the future (today is {today.isoformat()})")


def _refuse(field: str, message: str) -> NoReturn:
    raise RuleViolation(message, errors=[{"field": field, "message": message}])


def validate_planned_dates(planned_start: date | None, planned_completion: date | None) -> None:
    """A planned completion never lies before the planned start (a rule across fields: 409)."""
    if planned_start and planned_completion and planned_completion < planned_start:
        raise RuleViolation(
            "planned completion is before planned start",
            errors=[{"field": "planned_completion", "message": "must not be before planned_start"}],
        )


def refuse_if_withdrawn(stage: Stage, project_id: str, what: str) -> None:
    """A withdrawn 退出 project takes no more plans, reports, milestones or list changes."""
    if stage is Stage.WITHDRAWN:
        raise RuleViolation(f"project {project_id} is withdrawn (退出); {what} is not accepted")
