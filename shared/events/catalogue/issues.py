"""Events the issues service publishes on `kuaiche.issues`, keyed by project id.

Every event carries the problem's identity and where it stands after the move, so a consumer
(scoring's exposure lists, notifications) needs no other source: the `subject` is the problem
id, the `sequence` its version, the `county` the project's county. Business dates (`*_on`,
deadlines) are Asia/Shanghai calendar dates, so figures per county and period (collected by
`reported_on`, resolved, on time, overdue) come from the events as they stand.

One event is not about a problem: `CalendarScheduleSet`, an uploaded working-day schedule
(subject `calendar/<year>`, keyed `calendar-<year>`, no county). A consumer of this topic that
handles problems picks the `IssueEvent` types, not every type here.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

SOURCE = "kuaiche/issues"


# The words a problem's `status` and `category` carry, with what users read (the exposure
# notices of scoring print them too).
class Status(StrEnum):
    REPORTED = "reported"  # 收集: collected, awaiting assignment
    ASSIGNED = "assigned"  # 交办: with a responsible unit and a deadline
    PLANNED = "planned"  # 方案: a complex problem's plan, which sets the resolution deadline
    RESOLVED = "resolved"  # 办结: the unit says what was done
    CLOSED = "closed"  # 销号: the command office's verdict


STATUS_LABELS: dict[Status, str] = {
    Status.REPORTED: "收集",
    Status.ASSIGNED: "交办",
    Status.PLANNED: "方案",
    Status.RESOLVED: "办结",
    Status.CLOSED: "销号",
}


class Category(StrEnum):
    LAND = "land"  # 用地
    ENERGY = "energy"  # 能耗
    ENVIRONMENTAL_CAPACITY = "environmental_capacity"  # 环境容量/总量
    WATER = "water"  # 用水
    FUNDS = "funds"  # 资金
    APPROVALS = "approvals"  # 审批手续
    UTILITIES = "utilities"  # 水电气暖
    DEMOLITION = "demolition"  # 征迁
    CONSTRUCTION = "construction"  # 施工
    OTHER = "other"  # 其他


CATEGORY_LABELS: dict[Category, str] = {
    Category.LAND: "用地",
    Category.ENERGY: "能耗",
    Category.ENVIRONMENTAL_CAPACITY: "环境容量/总量",
    Category.WATER: "用水",
    Category.FUNDS: "资金",
    Category.APPROVALS: "审批手续",
    Category.UTILITIES: "水电气暖",
    Category.DEMOLITION: "征迁",
    Category.CONSTRUCTION: "施工",
    Category.OTHER: "其他",
}


class IssueEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPE: ClassVar[str]

    issue_id: str
    project_id: str
    county: str
    status: str  # after the move
    category: str
    complexity: str
    unit: str | None  # the responsible unit, once assigned
    deadline: dt.date | None  # the resolution deadline in force (Asia/Shanghai date)
    reported_on: dt.date  # the day it was collected 收集: the period it counts in
    version: int


class IssueReported(IssueEvent):
    TYPE = "kuaiche.issue.reported.v1"
    title: str
    source: str
    round_id: str | None


class IssueAssigned(IssueEvent):
    TYPE = "kuaiche.issue.assigned.v1"
    co_units: list[str]
    working_days: int | None  # general problems; a complex one's deadline comes with its plan
    plan_due: dt.date | None  # complex problems: the plan is due by then
    assigned_on: dt.date


class IssueObjected(IssueEvent):
    """The unit objected to the assignment within its window; the problem awaits reassignment."""

    TYPE = "kuaiche.issue.objected.v1"
    objecting_unit: str
    reason: str


class IssuePlanned(IssueEvent):
    TYPE = "kuaiche.issue.planned.v1"
    planned_on: dt.date
    on_time: bool  # submitted by the plan's due date


class IssueExtended(IssueEvent):
    TYPE = "kuaiche.issue.extended.v1"
    previous_deadline: dt.date
    requested_on: dt.date
    reason: str


class IssueResolved(IssueEvent):
    TYPE = "kuaiche.issue.resolved.v1"
    resolved_on: dt.date
    on_time: bool


class IssueAccepted(IssueEvent):
    """The reporter accepted the resolution (feedback); the problem awaits its closing."""

    TYPE = "kuaiche.issue.accepted.v1"
    comment: str | None


class IssueReopened(IssueEvent):
    """The reporter rejected the resolution; back to the unit with a new deadline."""

    TYPE = "kuaiche.issue.reopened.v1"
    comment: str


class IssueClosed(IssueEvent):
    TYPE = "kuaiche.issue.closed.v1"
    verdict: str  # agreed 同意 | deferred 暂缓
    closed_on: dt.date
    note: str | None
    resolved_on: dt.date  # the resolution it closes
    on_time: bool  # that resolution came by its deadline


class IssueOverdue(IssueEvent):
    """Flagged once by the worker's scan when the deadline passed while the problem was open."""

    TYPE = "kuaiche.issue.overdue.v1"
    flagged_at: dt.datetime
    flagged_on: dt.date  # the business day it was found overdue (Asia/Shanghai)


class CalendarScheduleSet(BaseModel):
    """The commander uploaded the State Council schedule of `year` (PUT /v1/calendar/{year}).

    An uploaded schedule wins over the `chinesecalendar` package for its year, on every service
    that reckons in working days (`shared.calendar.WorkCalendar`). `version` counts the uploads
    of that year from 1 (it is also the event's `sequence`): a consumer keeps the latest version
    per year and ignores an older one that arrives late. Dates are Asia/Shanghai calendar dates.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPE: ClassVar[str] = "kuaiche.calendar.schedule_set.v1"

    year: int
    holidays: list[dt.date]  # weekdays off (holidays and bridge days), sorted
    workdays: list[dt.date]  # weekend make-up working days 调休, sorted
    note: str | None  # e.g. the notice's number 国办发明电〔2026〕N号
    version: int


EVENT_TYPES: dict[str, type[BaseModel]] = {
    model.TYPE: model
    for model in (
        IssueReported,
        IssueAssigned,
        IssueObjected,
        IssuePlanned,
        IssueExtended,
        IssueResolved,
        IssueAccepted,
        IssueReopened,
        IssueClosed,
        IssueOverdue,
        CalendarScheduleSet,
    )
}
