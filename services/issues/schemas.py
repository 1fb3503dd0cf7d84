"""API models of the issues service: inputs (InputModel: no NUL, extra fields refused) and
public shapes kept apart. Rates are decimals with one place, carried as JSON strings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from services.issues.domain.enums import Category, Colour, Complexity, Source, Status, Verdict
from shared.calendar import MAX_WORKDAYS, repeated
from shared.fields import NOT_BLANK_PATTERN, BusinessDate, InputModel, required_text, rule_error
from shared.rates import Rate

# Required texts hold more than whitespace (shared.fields.required_text says so to clients).
# NUL is refused everywhere (InputModel), which the patterns say as well.
Text200 = Annotated[str, *required_text(200)]
Text2000 = Annotated[str, *required_text(2000)]
Text4000 = Annotated[str, *required_text(4000)]
Id36 = Annotated[str, *required_text(36)]
WorkingDays = Annotated[int, Field(ge=1, le=MAX_WORKDAYS)]


class _Input(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# What the schema states (a required partner field, distinct items, a bound) is refused with
# 422 by a ValueError; a rule it cannot state (one field against another) raises rule_error,
# answered 409, naming the field.


# ---------------------------------------------------------------- inputs
class IssueCreate(_Input):
    """POST /v1/issues: a problem of a project the service knows (from the registry). A problem
    from a supervision round names its round, and only such a problem does (the schema's
    if/then/else says so too)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "properties": {"source": {"const": Source.SUPERVISION_ROUND.value}},
                "required": ["source"],
            },
            "then": {"required": ["round_id"], "properties": {"round_id": {"type": "string"}}},
            "else": {"properties": {"round_id": {"type": "null"}}},
        }
    )

    project_id: Id36
    category: Category
    title: Text200
    description: Text4000
    source: Source
    complexity: Complexity = Complexity.GENERAL
    round_id: Id36 | None = Field(None, validate_default=True)

    # Cross-field checks are field validators (not model ones), so the problem names the field;
    # the schema's if/then/else states this pair, so a breach is 422.
    @field_validator("round_id")
    @classmethod
    def _round_goes_with_its_source(cls, round_id: str | None, info: ValidationInfo) -> str | None:
        source = info.data.get("source")
        if source is Source.SUPERVISION_ROUND and round_id is None:
            raise ValueError("a problem from a supervision round names its round_id")
        if round_id is not None and source is not None and source is not Source.SUPERVISION_ROUND:
            raise ValueError("round_id is given only when source is supervision_round")
        return round_id


class AssignIn(_Input):
    """交办: the responsible unit, optional co-units, and (general problems) working days."""

    unit: Text200
    co_units: Annotated[
        list[Text200], Field(max_length=20, json_schema_extra={"uniqueItems": True})
    ] = Field(default_factory=list)
    working_days: WorkingDays | None = Field(
        None,
        description="general: 3–5 by default configuration, default 5 (another number is 409); "
        "complex: omit (its plan sets the deadline)",
    )

    @field_validator("co_units", mode="before")
    @classmethod
    def _items_are_unique(cls, co_units: object) -> object:
        """The schema's uniqueItems: the same text twice is 422."""
        if isinstance(co_units, list) and all(isinstance(u, str) for u in co_units):
            if len(set(co_units)) != len(co_units):
                raise ValueError("co_units must not repeat a unit")
        return co_units

    @field_validator("co_units")
    @classmethod
    def _distinct_units(cls, co_units: list[str], info: ValidationInfo) -> list[str]:
        # Texts that differ only by surrounding whitespace (trimmed) name the same unit.
        if len(set(co_units)) != len(co_units):
            raise rule_error("co_units name the same unit twice once trimmed of whitespace")
        if info.data.get("unit") in co_units:
            raise rule_error("the responsible unit is not also a co-unit")
        return co_units


class ObjectIn(_Input):
    reason: Text2000


class PlanIn(_Input):
    """方案: what will be done, and the resolution deadline it sets (a working day ahead)."""

    plan: Text4000
    deadline: BusinessDate


class ResolveIn(_Input):
    resolution: Text4000


class FeedbackIn(_Input):
    """反馈: a rejection says what is still wrong (the schema's if/then says so too)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"accepted": {"const": False}}, "required": ["accepted"]},
            "then": {
                "required": ["comment"],
                "properties": {"comment": {"type": "string", "pattern": NOT_BLANK_PATTERN}},
            },
        }
    )

    accepted: bool
    comment: Annotated[str, Field(max_length=2000)] | None = Field(None, validate_default=True)

    @field_validator("comment")
    @classmethod
    def _a_rejection_says_why(cls, comment: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("accepted") is False and not comment:
            raise ValueError("a rejection needs a comment saying what is still wrong")
        return comment


class CloseIn(_Input):
    """销号: a deferral says why (the schema's if/then says so too)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"verdict": {"const": "deferred"}}, "required": ["verdict"]},
            "then": {
                "required": ["note"],
                "properties": {"note": {"type": "string", "pattern": NOT_BLANK_PATTERN}},
            },
        }
    )

    verdict: Verdict
    note: Annotated[str, Field(max_length=2000)] | None = Field(None, validate_default=True)

    @field_validator("note")
    @classmethod
    def _deferral_says_why(cls, note: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("verdict") is Verdict.DEFERRED and not note:
            raise ValueError("a deferred verdict needs a note saying why")
        return note


class ExtendIn(_Input):
    """延期 granted by the command office, on the unit's request made before the deadline."""

    working_days: WorkingDays = Field(
        description="working days added to the current deadline (at most the configured "
        "maximum, 10 by default: more is 409)"
    )
    reason: Text2000
    requested_on: BusinessDate | None = Field(None, description="default: today")


class RoundCreate(_Input):
    number: int = Field(ge=1, le=10_000)
    name: Text200
    started_on: BusinessDate
    ended_on: BusinessDate | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None

    @field_validator("ended_on")
    @classmethod
    def _order(cls, ended_on: dt.date | None, info: ValidationInfo) -> dt.date | None:
        started_on = info.data.get("started_on")
        if ended_on is not None and started_on is not None and ended_on < started_on:
            raise rule_error("ended_on must not be before started_on")
        return ended_on


class CalendarUpload(_Input):
    """A year's State Council schedule: weekdays off (holidays, bridge days) and the weekend
    days that are make-up working days 调休. Each list is of distinct dates (the schema says
    so: 422); dates outside the path's year, a make-up day on a weekday or a day in both lists
    break rules the schema cannot state (409)."""

    holidays: Annotated[
        list[BusinessDate],
        Field(min_length=1, max_length=366, json_schema_extra={"uniqueItems": True}),
    ]
    workdays: Annotated[
        list[BusinessDate], Field(max_length=366, json_schema_extra={"uniqueItems": True})
    ] = Field(default_factory=list)
    note: Annotated[str, Field(max_length=500)] | None = Field(
        None, description="e.g. the notice's number 国办发明电〔2026〕N号"
    )

    @field_validator("holidays", "workdays")
    @classmethod
    def _listed_once(cls, dates: list[dt.date]) -> list[dt.date]:
        twice = repeated(dates)
        if twice:
            raise ValueError(
                "dates listed more than once: " + ", ".join(d.isoformat() for d in twice)
            )
        return dates


# ---------------------------------------------------------------- public
class MovePublic(BaseModel):
    action: str
    from_status: Status | None
    to_status: Status
    deadline: dt.date | None
    note: str | None
    actor: str
    at: dt.datetime


class IssuePublic(BaseModel):
    id: str
    project_id: str
    project_name: str | None
    county: str
    category: Category
    category_label: str
    complexity: Complexity
    source: Source
    round_id: str | None
    title: str
    description: str
    status: Status
    status_label: str
    unit: str | None
    co_units: list[str]
    working_days: int | None
    assigned_on: dt.date | None
    plan_due: dt.date | None
    deadline: dt.date | None
    plan: str | None
    planned_on: dt.date | None
    resolution: str | None
    resolved_on: dt.date | None
    on_time: bool | None
    feedback_accepted: bool
    verdict: Verdict | None
    close_note: str | None
    closed_on: dt.date | None
    colour: Colour | None
    overdue: bool
    overdue_flagged_at: dt.datetime | None
    reported_on: dt.date
    reported_by: str
    reported_at: dt.datetime
    updated_at: dt.datetime
    version: int


class IssueDetail(IssuePublic):
    history: list[MovePublic]


class Figures(BaseModel):
    collected: int
    resolved: int  # resolved + closed
    resolution_rate: Rate | None  # percent, one decimal, half up; None when nothing collected
    on_time_rate: Rate | None  # percent of the resolved that were resolved by their deadline
    overdue: int


class CategoryFigures(Figures):
    category: Category
    category_label: str


class CountyFigures(Figures):
    county: str


class UnitFigures(Figures):
    unit: str


class StatsPublic(Figures):
    by_category: list[CategoryFigures]
    by_county: list[CountyFigures]
    by_unit: list[UnitFigures]


class RoundPublic(BaseModel):
    id: str
    number: int
    name: str
    started_on: dt.date
    ended_on: dt.date | None
    note: str | None
    issues: int
    created_by: str
    created_at: dt.datetime


class CalendarYearPublic(BaseModel):
    year: int
    source: Literal["uploaded", "package"]  # the schedule in force: uploaded wins
    holidays: list[dt.date]  # weekdays off
    workdays: list[dt.date]  # weekend make-up working days 调休
    note: str | None = None
    uploaded_by: str | None = None
    uploaded_at: dt.datetime | None = None


class WorkdayAnswer(BaseModel):
    date: dt.date
