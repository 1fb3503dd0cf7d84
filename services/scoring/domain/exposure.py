"""Exposure lists 通报/曝光: the rules that put a project or a problem on a list, with its colour
and the reason. Thresholds are configuration (`ScoringConfig`); DOMAIN.md's defaults:

- unstarted 未开工: an implementation project past its planned start month with no start date by
  the period's end: yellow, red once `unstarted_red_after_months` months have passed;
- lagging 进度滞后: a project in construction (started by the period's end, not completed)
  whose investment completion rate is below 序时进度 by `lagging_yellow_points`–
  `lagging_red_points` percentage points: yellow; by more: red;
- overdue 超期: a problem flagged overdue by the period's end and not closed by then: red.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.scoring.domain.facts import ProblemFacts, ProjectFacts
from services.scoring.domain.periods import Period
from shared.amounts import format_amount
from shared.events.catalogue.registry import Stage, Track
from shared.rates import format_rate, percent


class ExposureKind(StrEnum):
    UNSTARTED = "unstarted"  # 未开工
    LAGGING = "lagging"  # 进度滞后
    OVERDUE = "overdue"  # 问题超期


class Colour(StrEnum):
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class Thresholds:
    unstarted_red_after_months: int = 3
    lagging_yellow_points: Decimal = Decimal(10)
    lagging_red_points: Decimal = Decimal(30)


@dataclass(frozen=True)
class Exposure:
    kind: ExposureKind
    colour: Colour
    county: str
    project_id: str
    project_name: str | None
    reason: str
    issue_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def live(project: ProjectFacts, period: Period) -> bool:
    """Not withdrawn by the period's end: a project withdrawn in June still counts in April."""
    until = counts_until(project)
    return until is None or period.last_day < until


def counts_until(project: ProjectFacts) -> dt.date | None:
    """The day of its withdrawal: the project counts in the periods that end before it (one
    withdrawn without a date, in none); None: in every period."""
    if project.stage != Stage.WITHDRAWN:
        return None
    return project.withdrawn_on or dt.date.min


def planned_month(project: ProjectFacts) -> int | None:
    """The month (`Period.index`) after which the project is on the unstarted list while it
    has not started: its planned start's; None: never (not an implementation project, or no
    planned start)."""
    if project.track != Track.IMPLEMENTATION or not project.planned_start:
        return None
    return Period.of(project.planned_start).index


def months_unstarted(project: ProjectFacts, period: Period) -> int:
    """How many months past its planned start month the project is unstarted at the period's
    end; 0: not on the unstarted list (a division's count needs no more than this)."""
    due = planned_month(project)
    if due is None or not live(project, period):
        return 0
    if project.actual_start is not None and project.actual_start <= period.last_day:
        return 0
    return max(period.index - due, 0)


def unstarted(project: ProjectFacts, period: Period, limits: Thresholds) -> Exposure | None:
    late = months_unstarted(project, period)
    if not late or not project.planned_start:  # not past its planned start month yet
        return None
    planned = Period.of(project.planned_start)
    colour = Colour.RED if late >= limits.unstarted_red_after_months else Colour.YELLOW
    return Exposure(
        kind=ExposureKind.UNSTARTED,
        colour=colour,
        county=project.county,
        project_id=project.project_id,
        project_name=project.name,
        reason=f"计划{planned}开工，至{period}末未开工，已逾期{late}个月",
        detail={"planned_start": project.planned_start.isoformat(), "months_late": late},
    )


def lag(
    project: ProjectFacts,
    annual_plan: Decimal,
    ytd_investment: Decimal,
    period: Period,
    limits: Thresholds,
) -> tuple[Colour, Decimal, Decimal, Decimal] | None:
    """A lagging project's colour, completion rate, time target and points behind; None: not
    on the lagging list (a division's count needs no more than this)."""
    if not live(project, period):
        return None
    if project.actual_start is None or project.actual_start > period.last_day:
        return None  # not in construction yet: the unstarted list's concern, not a lag
    if project.actual_completion is not None and project.actual_completion <= period.last_day:
        return None  # finished: its spend is what it is
    return behind_schedule(annual_plan, ytd_investment, period, limits)


def behind_schedule(
    annual_plan: Decimal, ytd_investment: Decimal, period: Period, limits: Thresholds
) -> tuple[Colour, Decimal, Decimal, Decimal] | None:
    """`lag` of a project known to be live and in construction at the period's end (an
    assessment's count, which knows it already)."""
    if annual_plan <= 0:
        return None
    rate = percent(ytd_investment, annual_plan)
    assert rate is not None
    target = period.time_target()
    behind = target - rate
    if behind > limits.lagging_red_points:
        return Colour.RED, rate, target, behind
    if behind >= limits.lagging_yellow_points:
        return Colour.YELLOW, rate, target, behind
    return None


def lagging(
    project: ProjectFacts,
    annual_plan: Decimal,
    ytd_investment: Decimal,
    period: Period,
    limits: Thresholds,
) -> Exposure | None:
    found = lag(project, annual_plan, ytd_investment, period, limits)
    if found is None:
        return None
    colour, rate, target, behind = found
    return Exposure(
        kind=ExposureKind.LAGGING,
        colour=colour,
        county=project.county,
        project_id=project.project_id,
        project_name=project.name,
        reason=(
            f"投资完成率{format_rate(rate)}%，低于序时进度{format_rate(target)}%"
            f"{format_rate(behind)}个百分点"
        ),
        detail={
            "annual_plan": format_amount(annual_plan),
            "ytd_investment": format_amount(ytd_investment),
            "completion_rate": format_rate(rate),
            "time_target": format_rate(target),
            "behind_points": format_rate(behind),
        },
    )


def overdue(problem: ProblemFacts, period: Period, project_name: str | None) -> Exposure | None:
    if problem.overdue_on is None or problem.overdue_on > period.last_day:
        return None
    if problem.closed_on is not None and problem.closed_on <= period.last_day:
        return None
    return Exposure(
        kind=ExposureKind.OVERDUE,
        colour=Colour.RED,
        county=problem.county,
        project_id=problem.project_id,
        project_name=project_name,
        issue_id=problem.issue_id,
        reason=f"办理期限{_date(problem.deadline)}已过（{_date(problem.overdue_on)}标记超期），至{period}末未销号",
        detail={
            "title": problem.title,
            "category": problem.category,
            "unit": problem.unit,
            "deadline": _date(problem.deadline),
            "flagged_on": _date(problem.overdue_on),
            "status": problem.status,
        },
    )


def _date(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
