"""Exposure lists 通报/曝光: what puts a project or a problem on a list, and in which colour."""

import datetime as dt
from decimal import Decimal

import pytest

from services.scoring.domain.exposure import (
    Colour,
    Exposure,
    ExposureKind,
    Thresholds,
    lagging,
    overdue,
    unstarted,
)
from services.scoring.domain.periods import Period
from shared.events.catalogue.registry import Stage, Track
from tests.unit.scoring.helpers import Problem, Project

D = Decimal
APRIL = Period(2020, 4)  # 序时进度 33.3
DEFAULTS = Thresholds()


# ---- unstarted 未开工


def planned(
    day: dt.date | None,
    *,
    actual_start: dt.date | None = None,
    track: str = Track.IMPLEMENTATION,
    stage: str = Stage.RESERVE,
) -> Project:
    return Project(
        "p1",
        name="滨城项目",
        planned_start=day,
        actual_start=actual_start,
        track=track,
        stage=stage,
    )


def colour_of(found: Exposure | None) -> Colour | None:
    return found.colour if found else None


def test_not_past_the_planned_start_month_is_not_listed() -> None:
    assert unstarted(planned(dt.date(2020, 4, 1)), APRIL, DEFAULTS) is None
    assert unstarted(planned(dt.date(2020, 6, 1)), APRIL, DEFAULTS) is None


def test_one_month_past_the_planned_start_is_yellow() -> None:
    found = unstarted(planned(dt.date(2020, 3, 31)), APRIL, DEFAULTS)
    assert found is not None
    assert (found.kind, found.colour) == (ExposureKind.UNSTARTED, Colour.YELLOW)
    assert (found.county, found.project_id, found.project_name) == ("371602", "p1", "滨城项目")
    assert found.detail == {"planned_start": "2020-03-31", "months_late": 1}
    assert found.reason == "计划2020-03开工，至2020-04末未开工，已逾期1个月"


@pytest.mark.parametrize(
    ("planned_start", "colour"),
    [
        (dt.date(2020, 2, 1), Colour.YELLOW),  # 2 months late
        (dt.date(2020, 1, 1), Colour.RED),  # exactly 3 months late
        (dt.date(2019, 11, 1), Colour.RED),  # 5 months late, across the year
    ],
)
def test_red_once_the_red_threshold_of_months_has_passed(
    planned_start: dt.date, colour: Colour
) -> None:
    found = unstarted(planned(planned_start), APRIL, DEFAULTS)
    assert found is not None
    assert found.colour == colour


def test_started_by_the_periods_end_is_not_listed() -> None:
    started = planned(dt.date(2020, 1, 1), actual_start=dt.date(2020, 4, 30))
    assert unstarted(started, APRIL, DEFAULTS) is None


def test_started_only_after_the_periods_end_is_still_listed_for_that_period() -> None:
    started_later = planned(dt.date(2020, 1, 1), actual_start=dt.date(2020, 5, 1))
    found = unstarted(started_later, APRIL, DEFAULTS)
    assert found is not None
    assert found.colour == Colour.RED


def test_a_preparation_project_is_never_unstarted() -> None:
    prep = planned(dt.date(2020, 1, 1), track=Track.PREPARATION)
    assert unstarted(prep, APRIL, DEFAULTS) is None


def test_a_withdrawn_project_is_not_listed() -> None:
    withdrawn = planned(dt.date(2020, 1, 1), stage=Stage.WITHDRAWN)
    assert unstarted(withdrawn, APRIL, DEFAULTS) is None


def test_a_project_without_a_planned_start_is_not_listed() -> None:
    assert unstarted(planned(None), APRIL, DEFAULTS) is None


def test_the_red_threshold_is_configurable() -> None:
    sooner = Thresholds(unstarted_red_after_months=2)
    two_late = planned(dt.date(2020, 2, 1))
    one_late = planned(dt.date(2020, 3, 1))
    assert colour_of(unstarted(two_late, APRIL, sooner)) == Colour.RED
    assert colour_of(unstarted(one_late, APRIL, sooner)) == Colour.YELLOW
    assert colour_of(unstarted(two_late, APRIL, DEFAULTS)) == Colour.YELLOW


# ---- lagging 进度滞后 (annual plan 1000 万元, so 万元 spent ÷ 10 is the completion rate)


def in_construction(**fields: object) -> Project:
    """A project started in March 2020: in construction at April's end."""
    return Project("p1", stage=Stage.STARTED, actual_start=dt.date(2020, 3, 2), **fields)  # type: ignore[arg-type]


def behind_april(
    ytd: str, project: Project | None = None, limits: Thresholds = DEFAULTS
) -> Exposure | None:
    return lagging(project or in_construction(), D(1000), D(ytd), APRIL, limits)


@pytest.mark.parametrize(
    ("ytd", "colour"),
    [
        ("234", None),  # 23.4%: 9.9 points behind 33.3
        ("233", Colour.YELLOW),  # 23.3%: exactly 10 behind
        ("33", Colour.YELLOW),  # 3.3%: exactly 30 behind
        ("32", Colour.RED),  # 3.2%: 30.1 behind
        ("0", Colour.RED),
        ("400", None),  # ahead of schedule
    ],
)
def test_lagging_colour_by_points_behind_the_time_target(ytd: str, colour: Colour | None) -> None:
    assert colour_of(behind_april(ytd)) == colour


def test_a_lagging_exposure_explains_the_gap() -> None:
    found = behind_april("233")
    assert found is not None
    assert found.kind == ExposureKind.LAGGING
    assert found.reason == "投资完成率23.3%，低于序时进度33.3%10.0个百分点"
    assert found.detail == {
        "annual_plan": "1000",
        "ytd_investment": "233",
        "completion_rate": "23.3",
        "time_target": "33.3",
        "behind_points": "10.0",
    }


def test_a_project_completed_by_the_periods_end_is_not_lagging() -> None:
    done = in_construction(actual_completion=dt.date(2020, 4, 30))
    assert behind_april("0", done) is None
    done_later = in_construction(actual_completion=dt.date(2020, 5, 1))
    assert behind_april("0", done_later) is not None


def test_a_project_not_in_construction_by_the_periods_end_is_not_lagging() -> None:
    """Not started yet is the unstarted list's concern (past its month) or nobody's."""
    assert behind_april("0", Project("p1", planned_start=dt.date(2020, 9, 1))) is None
    starts_in_may = Project("p1", stage=Stage.STARTED, actual_start=dt.date(2020, 5, 1))
    assert behind_april("0", starts_in_may) is None
    assert behind_april("0", in_construction()) is not None


def test_a_withdrawn_project_is_not_lagging() -> None:
    withdrawn = Project("p1", stage=Stage.WITHDRAWN, actual_start=dt.date(2020, 3, 2))
    assert behind_april("0", withdrawn) is None


def test_a_zero_annual_plan_is_not_lagging() -> None:
    assert lagging(Project("p1"), D(0), D(0), APRIL, DEFAULTS) is None


def test_lagging_thresholds_are_configurable() -> None:
    strict = Thresholds(lagging_yellow_points=D(5), lagging_red_points=D(20))
    assert colour_of(behind_april("284", limits=strict)) is None  # 4.9 behind
    assert colour_of(behind_april("283", limits=strict)) == Colour.YELLOW  # 5.0 behind
    assert colour_of(behind_april("133", limits=strict)) == Colour.YELLOW  # 20.0 behind
    assert colour_of(behind_april("132", limits=strict)) == Colour.RED  # 20.1 behind
    assert colour_of(behind_april("283")) is None
    assert colour_of(behind_april("132")) == Colour.YELLOW


# ---- overdue 问题超期


def test_a_problem_flagged_overdue_and_still_open_is_red() -> None:
    problem = Problem(
        "i1",
        project_id="p1",
        deadline=dt.date(2020, 3, 31),
        overdue_on=dt.date(2020, 4, 1),
        title="用地未落实",
        status="in_progress",
    )
    found = overdue(problem, APRIL, "滨城项目")
    assert found is not None
    assert (found.kind, found.colour, found.issue_id) == (ExposureKind.OVERDUE, Colour.RED, "i1")
    assert (found.project_id, found.project_name) == ("p1", "滨城项目")
    assert found.detail["deadline"] == "2020-03-31"
    assert found.detail["flagged_on"] == "2020-04-01"
    assert found.detail["title"] == "用地未落实"


def test_a_problem_flagged_on_the_periods_last_day_is_listed() -> None:
    assert overdue(Problem("i1", overdue_on=dt.date(2020, 4, 30)), APRIL, None) is not None


def test_a_problem_flagged_after_the_period_is_not_listed() -> None:
    assert overdue(Problem("i1", overdue_on=dt.date(2020, 5, 1)), APRIL, None) is None


def test_a_problem_never_flagged_is_not_listed() -> None:
    assert overdue(Problem("i1", deadline=dt.date(2020, 3, 1)), APRIL, None) is None


def test_a_problem_closed_by_the_periods_end_is_not_listed() -> None:
    closed = Problem("i1", overdue_on=dt.date(2020, 3, 1), closed_on=dt.date(2020, 4, 30))
    assert overdue(closed, APRIL, None) is None


def test_a_problem_closed_only_after_the_periods_end_is_still_listed() -> None:
    closed_later = Problem("i1", overdue_on=dt.date(2020, 3, 1), closed_on=dt.date(2020, 5, 1))
    found = overdue(closed_later, APRIL, None)
    assert found is not None
    assert found.colour == Colour.RED
