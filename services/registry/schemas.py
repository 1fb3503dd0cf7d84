"""API models of the registry: Create / Update / Public kept apart.

Amounts are Decimal and travel as JSON strings (万元 unless said otherwise).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.registry.domain.enums import Level, ListChangeKind, Stage, Track
from shared.amounts import Amount, NonNegativeAmount, decimal_string
from shared.fields import BusinessDate, InputModel
from shared.rates import Rate

# A coordinate as the column holds it (NUMERIC(10, 6)): degrees with at most 6 decimal places.
LNG_PATTERN = r"^-?(180(\.0{1,6})?|(1[0-7]\d|[1-9]?\d)(\.\d{1,6})?)$"
LAT_PATTERN = r"^-?(90(\.0{1,6})?|[1-8]?\d(\.\d{1,6})?)$"
Longitude = Annotated[
    Decimal, *decimal_string(LNG_PATTERN, "117.9708", "-180 to 180, at most 6 decimal places")
]
Latitude = Annotated[
    Decimal, *decimal_string(LAT_PATTERN, "37.3817", "-90 to 90, at most 6 decimal places")
]


class Location(InputModel):
    """Travels as decimal strings, in the canonical text ("117.9708" as sent, not the column's
    "117.970800")."""

    model_config = ConfigDict(extra="forbid")

    lng: Longitude
    lat: Latitude


class ProjectFields(InputModel):
    """Fields a project has that a client may set (shared by create and import)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    county: Annotated[
        str, Field(pattern=r"^\d{6}$", description="6-digit division code; old codes resolve")
    ]
    level: Level | None = None
    track: Track
    stage: Stage = Stage.PLANNING
    code: str | None = Field(None, description="national project code 项目代码")
    total_investment: NonNegativeAmount = Field(description="总投资, 万元")
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    owner: str | None = Field(None, max_length=200, description="项目单位")
    leader: str | None = Field(None, max_length=100, description="帮包领导")
    service_officer: str | None = Field(None, max_length=100, description="驻企服务员")
    responsible_unit: str | None = Field(None, max_length=200, description="责任单位")
    industry: str | None = Field(None, max_length=100)
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list)
    content: str | None = Field(None, max_length=4000, description="建设内容")
    location: Location | None = None

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in tags))


class ProjectCreate(ProjectFields):
    """POST /v1/projects. A project created as started/completed needs its dates."""

    actual_start: BusinessDate | None = None
    actual_completion: BusinessDate | None = None


class ProjectUpdate(InputModel):
    """PATCH /v1/projects/{id} (with If-Match). Level and stage change only through list
    changes and stage moves, which are audited; the county owns the project and stays."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    track: Track | None = None
    code: str | None = None
    total_investment: NonNegativeAmount | None = None
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    owner: str | None = Field(None, max_length=200)
    leader: str | None = Field(None, max_length=100)
    service_officer: str | None = Field(None, max_length=100)
    responsible_unit: str | None = Field(None, max_length=200)
    industry: str | None = Field(None, max_length=100)
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = None
    content: str | None = Field(None, max_length=4000)
    location: Location | None = None


class ProjectCodeInfo(BaseModel):
    format: str
    year: int
    month: int | None
    region: str


class ProjectPublic(BaseModel):
    id: str
    name: str
    county: str
    county_name: str | None
    level: Level | None
    level_label: str | None
    key: bool
    track: Track
    stage: Stage
    stage_label: str
    code: str | None
    code_info: ProjectCodeInfo | None
    total_investment: Amount
    planned_start: dt.date | None
    planned_completion: dt.date | None
    actual_start: dt.date | None
    actual_completion: dt.date | None
    withdrawn_on: dt.date | None
    owner: str | None
    leader: str | None
    service_officer: str | None
    responsible_unit: str | None
    industry: str | None
    tags: list[str]
    content: str | None
    location: Location | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class StageMoveIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    stage: Stage
    date: BusinessDate
    reason: str | None = Field(None, max_length=2000)


class StageChangePublic(BaseModel):
    from_stage: Stage | None
    to_stage: Stage
    date: dt.date
    reason: str | None
    actor: str
    at: dt.datetime


class ProjectDetail(ProjectPublic):
    """One project as GET /v1/projects/{id} (and its creation) answers it."""

    stage_history: list[StageChangePublic]


class AuditEvent(BaseModel):
    """A change of the project as the event it emitted."""

    type: str
    sequence: int
    actor: str | None
    time: dt.datetime
    data: dict[str, Any]


class PlanIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    annual_investment: NonNegativeAmount
    monthly_targets: dict[Annotated[int, Field(ge=1, le=12)], NonNegativeAmount] = Field(
        default_factory=dict,
        description="cumulative target by month 1–12, 万元",
        json_schema_extra={"propertyNames": {"pattern": "^([1-9]|1[0-2])$"}},
    )


class PlanPublic(BaseModel):
    project_id: str
    year: int
    annual_investment: Amount
    monthly_targets: dict[int, Amount]
    version: int


# What the domain's parse_period accepts, for the schema; the domain's check speaks when it fails.
PERIOD_PATTERN = r"^(199\d|20\d\d|2100)-(0[1-9]|1[0-2])$"


class ReportIn(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period: Annotated[
        str, Field(description="YYYY-MM", json_schema_extra={"pattern": PERIOD_PATTERN})
    ]
    ytd_investment: NonNegativeAmount
    month_investment: NonNegativeAmount
    started: bool = False
    progress_note: str | None = Field(None, max_length=4000, description="形象进度")
    correction_note: str | None = Field(
        None, max_length=2000, description="required when YTD is below the previous month's"
    )


class ReportPublic(BaseModel):
    project_id: str
    period: str
    ytd_investment: Amount
    month_investment: Amount
    started: bool
    progress_note: str | None
    correction_note: str | None
    submitted_by: str
    submitted_at: dt.datetime


class ProgressPublic(BaseModel):
    project_id: str
    year: int
    annual_plan: Amount | None
    ytd_actual: Amount
    target_to_date: Amount | None
    completion_rate: Rate | None
    time_elapsed: Rate
    lag_points: Rate | None
    plan_rate_to_date: Rate | None
    as_of: str = Field(description="the month the figures stand at, YYYY-MM")
    reports: list[ReportPublic]


class MilestoneIn(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    planned_date: BusinessDate
    actual_date: BusinessDate | None = None
    note: str | None = Field(None, max_length=2000)


class MilestoneUpdate(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actual_date: BusinessDate | None = None
    planned_date: BusinessDate | None = None
    note: str | None = Field(None, max_length=2000)


class MilestonePublic(BaseModel):
    id: str
    project_id: str
    name: str
    planned_date: dt.date
    actual_date: dt.date | None
    note: str | None
    overdue: bool
    days_overdue: int


class ListChangeIn(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ListChangeKind
    level: Level | None = Field(None, description="the new level, for added and adjusted")
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    effective_date: BusinessDate


class ListChangePublic(BaseModel):
    id: int
    project_id: str
    kind: ListChangeKind
    from_level: Level | None
    to_level: Level | None
    reason: str
    effective_date: dt.date
    actor: str
    at: dt.datetime


class ImportResult(BaseModel):
    imported: int
    ids: list[str]


class DivisionPublic(BaseModel):
    code: str
    name: str
    kind: str
    official: bool
    old_codes: list[str]


class RegionPublic(BaseModel):
    code: str
    name: str
    divisions: list[DivisionPublic]
