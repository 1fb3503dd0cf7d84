"""Events the registry publishes on `kuaiche.registry`, keyed by project id."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.amounts import Amount

SOURCE = "kuaiche/registry"


# ---- the vocabulary of the registry's events: values every consumer reads
class Level(StrEnum):
    """Highest designation on the key-project list (重点项目级别). None = in the library, not key."""

    PROVINCIAL_MAJOR_CONSTRUCTION = "provincial_major_construction"  # 省重大建设类
    PROVINCIAL_MAJOR_PREPARATION = "provincial_major_preparation"  # 省重大准备类
    PROVINCIAL_PREFERRED = "provincial_preferred"  # 省优选
    INVESTMENT_ATTRACTION = "investment_attraction"  # 双招双引
    CITY_KEY = "city_key"  # 市重点
    CITY_INFRASTRUCTURE = "city_infrastructure"  # 市城区基础设施
    COUNTY_KEY = "county_key"  # 县重点


class Track(StrEnum):
    """实施类 implementation vs 准备类 preparation."""

    IMPLEMENTATION = "implementation"  # 实施类
    PREPARATION = "preparation"  # 准备类


class Stage(StrEnum):
    """Four-batch stage 四个一批, plus withdrawn 退出."""

    PLANNING = "planning"  # 谋划
    RESERVE = "reserve"  # 储备
    STARTED = "started"  # 开工
    COMPLETED = "completed"  # 竣工
    WITHDRAWN = "withdrawn"  # 退出


class ListChangeKind(StrEnum):
    """Changes to the key list during the year (增补 / 调整 / 退出)."""

    ADDED = "added"  # 增补: put on the key list at a level
    ADJUSTED = "adjusted"  # 调整: moved to another level
    WITHDRAWN = "withdrawn"  # 退出: taken off the key list


class RegistryEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPE: ClassVar[str]

    project_id: str


class ProjectSnapshot(RegistryEvent):
    """The fields of a project consumers keep in their projections."""

    name: str
    county: str
    level: str | None
    track: str
    stage: str
    code: str | None
    total_investment: Amount
    planned_start: dt.date | None
    planned_completion: dt.date | None
    actual_start: dt.date | None
    actual_completion: dt.date | None
    leader: str | None
    responsible_unit: str | None
    industry: str | None
    tags: list[str]
    version: int


class ProjectRegistered(ProjectSnapshot):
    TYPE = "kuaiche.project.registered.v1"


class ProjectUpdated(ProjectSnapshot):
    TYPE = "kuaiche.project.updated.v1"
    changed: list[str]


class ProjectStageChanged(RegistryEvent):
    TYPE = "kuaiche.project.stage_changed.v1"
    from_stage: str
    to_stage: str
    date: dt.date
    reason: str | None
    track: str
    level: str | None
    planned_start: dt.date | None
    actual_start: dt.date | None
    actual_completion: dt.date | None


class PlanSet(RegistryEvent):
    TYPE = "kuaiche.project.plan_set.v1"
    year: int
    annual_investment: Amount
    monthly_targets: dict[int, Amount]


class ReportSubmitted(RegistryEvent):
    TYPE = "kuaiche.project.report_submitted.v1"
    period: str
    year: int
    month: int
    ytd_investment: Amount
    month_investment: Amount
    started: bool
    progress_note: str | None
    correction_note: str | None


class MilestoneUpdated(RegistryEvent):
    TYPE = "kuaiche.project.milestone_updated.v1"
    milestone_id: str
    name: str
    planned_date: dt.date
    actual_date: dt.date | None


class ListChanged(RegistryEvent):
    TYPE = "kuaiche.project.list_changed.v1"
    kind: str
    from_level: str | None
    to_level: str | None
    reason: str
    effective_date: dt.date


EVENT_TYPES: dict[str, type[BaseModel]] = {
    model.TYPE: model
    for model in (
        ProjectRegistered,
        ProjectUpdated,
        ProjectStageChanged,
        PlanSet,
        ReportSubmitted,
        MilestoneUpdated,
        ListChanged,
    )
}
