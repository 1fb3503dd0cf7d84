"""API models of the registry: Create / Update / Public kept apart.

Amounts are Decimal and travel as JSON strings (万元 unless said otherwise).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from services.registry.domain.enums import Level, ListChangeKind, Stage, Track
from services.registry.domain.listing import NEEDS_LEVEL
from services.registry.domain.project_code import CODE_SCHEMA_PATTERN, parse_project_code
from services.registry.domain.reports import PERIOD_SCHEMA_PATTERN, parse_period
from services.registry.domain.stages import INITIAL_STAGES
from shared.amounts import Amount, NonNegativeAmount, decimal_string
from shared.errors import InvalidInput
from shared.fields import BusinessDate, InputModel, required_text
from shared.rates import Rate

Name = Annotated[str, *required_text(200)]
Tag = Annotated[str, *required_text(50)]


class _Change(InputModel):
    """A partial change: a field in NOT_NULL may be left out but not set to null. Its schema is
    not nullable, and shows no `null` default either (a client would take it for a value)."""

    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        for name in cls.NOT_NULL:
            schema["properties"][name].pop("default", None)
        return schema


def _absent() -> Any:
    """The default of a NOT_NULL field: absent (None in Python, never in the request)."""
    return Field(None)


def _valid_code(code: str | None) -> str | None:
    """A project code is checked as the schema's pattern says (422 on field "code")."""
    if code is not None and code.strip():
        try:
            parse_project_code(code)
        except InvalidInput as exc:
            raise PydanticCustomError("project_code", exc.detail) from None
    return code


ProjectCode = Annotated[
    str,
    Field(
        description="national project code 项目代码 (blank: none)",
        json_schema_extra={"pattern": CODE_SCHEMA_PATTERN},
    ),
]

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

    name: Name
    county: Annotated[
        str, Field(pattern=r"^\d{6}$", description="6-digit division code; old codes resolve")
    ]
    level: Level | None = None
    track: Track
    stage: Stage = Stage.PLANNING
    code: ProjectCode | None = None
    total_investment: NonNegativeAmount = Field(description="总投资, 万元")
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    owner: str | None = Field(None, max_length=200, description="项目单位")
    leader: str | None = Field(None, max_length=100, description="帮包领导")
    service_officer: str | None = Field(None, max_length=100, description="驻企服务员")
    responsible_unit: str | None = Field(None, max_length=200, description="责任单位")
    industry: str | None = Field(None, max_length=100)
    tags: list[Tag] = Field(default_factory=list)
    content: str | None = Field(None, max_length=4000, description="建设内容")
    location: Location | None = None

    _code = field_validator("code")(_valid_code)

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in tags))


# A project is registered at any stage but withdrawn (withdrawing is a move of its own).
_INITIAL = [s.value for s in Stage if s in INITIAL_STAGES]
InitialStage = Annotated[
    Stage,
    WithJsonSchema(
        {"type": "string", "enum": _INITIAL, "description": "the stage it is registered at"},
        mode="validation",
    ),
]


class ProjectCreate(ProjectFields):
    """POST /v1/projects. A project created as started/completed needs its dates (a rule across
    fields and against today: 409)."""

    stage: InitialStage = Stage.PLANNING
    actual_start: BusinessDate | None = None
    actual_completion: BusinessDate | None = None

    @field_validator("stage")
    @classmethod
    def _initial_stage(cls, stage: Stage) -> Stage:
        if stage not in INITIAL_STAGES:
            raise PydanticCustomError(
                "initial_stage",
                "a project cannot be created as {stage}; create it, then withdraw it",
                {"stage": stage.value},
            )
        return stage


class ProjectUpdate(_Change):
    """PATCH /v1/projects/{id} (with If-Match). Level and stage change only through list
    changes and stage moves, which are audited; the county owns the project and stays. Name,
    track and total investment may be left out but not cleared (not null); a null code, date,
    text or location clears it, null tags are none."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    NOT_NULL = ("name", "track", "total_investment")

    name: Name = _absent()
    track: Track = _absent()
    code: ProjectCode | None = None
    total_investment: NonNegativeAmount = _absent()
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    owner: str | None = Field(None, max_length=200)
    leader: str | None = Field(None, max_length=100)
    service_officer: str | None = Field(None, max_length=100)
    responsible_unit: str | None = Field(None, max_length=200)
    industry: str | None = Field(None, max_length=100)
    tags: list[Tag] | None = None
    content: str | None = Field(None, max_length=4000)
    location: Location | None = None

    _code = field_validator("code")(_valid_code)


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


MONTH_KEY_PATTERN = "^([1-9]|1[0-2])$"
_MONTH_KEY = re.compile(MONTH_KEY_PATTERN)


def _month_key(key: Any) -> Any:
    """A month as a JSON object's key: "1" to "12" exactly as the pattern says (not "01",
    " 1" or "1.0", which an int would take); Python callers may hand in the int."""
    if isinstance(key, str) and not _MONTH_KEY.fullmatch(key):
        raise PydanticCustomError("month_key", "{key} is not a month 1–12", {"key": repr(key)})
    return key


MonthKey = Annotated[int, BeforeValidator(_month_key), Field(ge=1, le=12)]


class PlanIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    annual_investment: NonNegativeAmount
    monthly_targets: dict[MonthKey, NonNegativeAmount] = Field(
        default_factory=dict,
        description="cumulative target by month 1–12, 万元",
        json_schema_extra={"propertyNames": {"pattern": MONTH_KEY_PATTERN}},
    )


class PlanPublic(BaseModel):
    project_id: str
    year: int
    annual_investment: Amount
    monthly_targets: dict[int, Amount]
    version: int


# What the domain's parse_period accepts, for the schema; the domain's check speaks when it fails.
PERIOD_PATTERN = PERIOD_SCHEMA_PATTERN


def _valid_period(period: str) -> str:
    try:
        parse_period(period)
    except InvalidInput as exc:
        raise PydanticCustomError("period", exc.detail) from None
    return period


# A month, YYYY-MM, taken as written (not stripped): the pattern is all it accepts.
Period = Annotated[
    str,
    StringConstraints(strip_whitespace=False),
    AfterValidator(_valid_period),
    Field(description="YYYY-MM", json_schema_extra={"pattern": PERIOD_PATTERN}),
]


class ReportIn(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period: Period
    ytd_investment: NonNegativeAmount
    month_investment: NonNegativeAmount
    started: StrictBool = False
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

    name: Name
    planned_date: BusinessDate
    actual_date: BusinessDate | None = None
    note: str | None = Field(None, max_length=2000)


class MilestoneUpdate(_Change):
    """A null actual date clears it; the planned date may be left out but not cleared."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    NOT_NULL = ("planned_date",)

    actual_date: BusinessDate | None = None
    planned_date: BusinessDate = _absent()
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


_TAKES_NO_LEVEL: list[Any] = [k.value for k, needs in NEEDS_LEVEL.items() if not needs]


class ListChangeIn(InputModel):
    """增补/调整 carry the new level, 退出 none (the schema's if/then/else says so too)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "if": {"properties": {"kind": {"enum": _TAKES_NO_LEVEL}}, "required": ["kind"]},
            "then": {"properties": {"level": {"type": "null"}}},
            "else": {"required": ["level"], "properties": {"level": {"type": "string"}}},
        },
    )

    kind: ListChangeKind
    level: Level | None = Field(
        None, validate_default=True, description="the new level, for added and adjusted"
    )
    reason: Annotated[str, *required_text(2000)]
    effective_date: BusinessDate

    @field_validator("level")
    @classmethod
    def _level_as_the_kind_says(cls, level: Level | None, info: ValidationInfo) -> Level | None:
        kind = info.data.get("kind")
        if kind is not None and NEEDS_LEVEL[kind] and level is None:
            raise PydanticCustomError(
                "level_required", "{kind} needs the new level", {"kind": kind}
            )
        if kind is not None and not NEEDS_LEVEL[kind] and level is not None:
            raise PydanticCustomError(
                "level_forbidden", "a {kind} change takes no level", {"kind": kind}
            )
        return level


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


class ProjectPage(BaseModel):
    """A page of the project list: `{items, total}` as every list, `next` when another page
    follows, and `total_exact: false` when counting stopped at 10,000 matches (so a page costs
    the same in a province's library); both are left out otherwise."""

    items: list[ProjectPublic]
    total: int = Field(
        ge=0,
        description="how many projects match, over all pages; at most 10,000 (see total_exact)",
    )
    total_exact: bool = Field(
        True, description="false when more than 10,000 match: total is then 10,000, a lower bound"
    )
    next: str | None = Field(
        None, description="the cursor of the page after this one; absent on the last page"
    )


class LevelTally(BaseModel):
    level: Level
    label: str
    projects: int
    total_investment: Amount


class StageTally(BaseModel):
    stage: Stage
    label: str
    projects: int
    total_investment: Amount


class CountyTally(BaseModel):
    county: str
    name: str | None = Field(description="the division's name; null for a code the table lacks")
    projects: int
    total_investment: Amount


class ProjectSummary(BaseModel):
    """GET /v1/projects/summary: the projects the filters match, counted and summed (万元)."""

    projects: int
    total_investment: Amount
    key_projects: int
    by_level: list[LevelTally] = Field(description="every level, key projects only")
    by_stage: list[StageTally] = Field(description="every stage")
    by_county: list[CountyTally] = Field(
        description="every division the caller may see and the filter allows"
    )
