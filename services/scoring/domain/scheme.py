"""The assessment method 考核办法: versioned data, validated here. A scheme lists indicators (each
a metric from the catalogue scored by one formula), the indicator that breaks ties in the total,
and the reward tiers. `DEFAULT_SCHEME` ships with the service and applies until a stored scheme
takes effect."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.scoring.domain.formulas import Formula
from services.scoring.domain.metrics import METRICS, Metric
from services.scoring.domain.periods import Period
from shared.fields import MAX_YEAR, MIN_YEAR, NO_NUL_PATTERN, rule_error

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
VERSION = re.compile(VERSION_PATTERN)
"""A scheme's version: 1–40 letters, digits, '.', '_' or '-', not starting with a sign."""
DEFAULT_VERSION = "default"
STORED = "stored"  # validation context of a body read back from the database
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Key = Annotated[str, Field(pattern=KEY_PATTERN)]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL_PATTERN)]
# What the schema shows of the fields checked below with their reasons (the API's own messages):
# a metric of the catalogue, a YYYY-MM month.
MetricName = Annotated[str, Field(json_schema_extra={"enum": list(METRICS)})]
Month = Annotated[
    str, Field(json_schema_extra={"pattern": r"^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"})
]


def _formula_fits_metric_schema(schema: dict[str, Any]) -> None:
    """The schema says what `_formula_fits_metric` checks: a formula that reads certain kinds
    of metric goes with a metric of those kinds."""
    branches: list[dict[str, Any]] = []
    for formula in get_args(get_args(Formula)[0]):
        kinds = formula.KINDS
        metrics = [name for name, m in METRICS.items() if not kinds or m.kind in kinds]
        (name,) = get_args(formula.model_fields["type"].annotation)
        branches.append(
            {
                "properties": {
                    "metric": {"enum": metrics},
                    "formula": {"properties": {"type": {"const": name}}},
                }
            }
        )
    schema["anyOf"] = branches


class Indicator(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra=_formula_fits_metric_schema
    )
    key: Key
    name: Label
    metric: MetricName
    formula: Formula

    @model_validator(mode="after")
    def _formula_fits_metric(self) -> Indicator:
        metric = METRICS.get(self.metric)
        if metric is None:
            raise ValueError(f"unknown metric {self.metric!r}; known: {', '.join(METRICS)}")
        kinds = self.formula.KINDS
        if kinds and metric.kind not in kinds:
            wanted = " or ".join(str(k) for k in kinds)
            raise ValueError(
                f"{self.formula.type} needs a {wanted} metric; {self.metric} is a {metric.kind}"
            )
        return self

    @property
    def measure(self) -> Metric:
        return METRICS[self.metric]


class RewardTier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Label
    max_rank: int = Field(ge=1, le=1000)


class SchemeBody(BaseModel):
    """What `PUT /v1/schemes/{version}` takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL_PATTERN)]
    effective_from: Month  # periods from this month on use the scheme
    indicators: list[Indicator] = Field(min_length=1, max_length=40)
    tie_break: Key  # one of the indicators' keys
    reward_tiers: list[RewardTier] = Field(default_factory=list, max_length=10)

    @field_validator("effective_from")
    @classmethod
    def _period(cls, value: str, info: ValidationInfo) -> str:
        period = Period.parse(value)  # raises ValueError with the reason
        stored = bool(info.context and info.context.get(STORED))  # set before the range held
        if not stored and not MIN_YEAR <= period.year <= MAX_YEAR:
            raise ValueError(f"{value}: the year must lie between {MIN_YEAR} and {MAX_YEAR}")
        return value

    @field_validator("indicators")
    @classmethod
    def _unique_keys(cls, indicators: list[Indicator]) -> list[Indicator]:
        keys = [i.key for i in indicators]
        if len(keys) != len(set(keys)):
            raise rule_error("indicator keys must be unique")  # JSON Schema cannot say it
        return indicators

    @field_validator("tie_break")
    @classmethod
    def _an_indicator(cls, tie_break: str, info: ValidationInfo) -> str:
        indicators = info.data.get("indicators")
        if indicators is not None and tie_break not in {i.key for i in indicators}:
            raise rule_error(f"tie_break {tie_break!r} is not one of the indicators")
        return tie_break

    @field_validator("reward_tiers")
    @classmethod
    def _increasing(cls, tiers: list[RewardTier]) -> list[RewardTier]:
        ranks = [t.max_rank for t in tiers]
        if ranks != sorted(set(ranks)):
            raise rule_error("reward tiers go by strictly increasing max_rank")
        return tiers

    @property
    def period(self) -> Period:
        return Period.parse(self.effective_from)

    @property
    def max_score(self) -> Decimal:
        """The most a division can score: every positive indicator at its ceiling."""
        return sum((i.formula.ceiling for i in self.indicators), Decimal(0))


def _ratio(points: str) -> dict:
    return {"type": "ratio_points", "points": points}


DEFAULT_SCHEME = SchemeBody.model_validate(
    {
        "name": "重点项目县区考核办法（默认）",
        "effective_from": "2000-01",
        "indicators": [
            {
                "key": "investment",
                "name": "投资完成（序时进度）",
                "metric": "schedule_rate",
                "formula": _ratio("40"),
            },
            {"key": "starts", "name": "项目开工", "metric": "start_rate", "formula": _ratio("25")},
            {
                "key": "resolution",
                "name": "问题办结",
                "metric": "resolution_rate",
                "formula": _ratio("12"),
            },
            {
                "key": "on_time",
                "name": "按期办结",
                "metric": "on_time_rate",
                "formula": {
                    "type": "bands",
                    "bands": [
                        {"at_least": "95", "points": "8"},
                        {"at_least": "85", "points": "6"},
                        {"at_least": "70", "points": "4"},
                    ],
                    "otherwise": "0",
                },
            },
            {
                "key": "factors",
                "name": "要素保障",
                "metric": "factor_allocations",
                "formula": {"type": "per_item", "points_per_item": "0.25", "cap": "8"},
            },
            {
                "key": "service",
                "name": "服务推进（新开工排名）",
                "metric": "new_starts_ytd",
                "formula": {
                    "type": "rank_bands",
                    "bands": [
                        {"max_rank": 3, "points": "7"},
                        {"max_rank": 6, "points": "5"},
                        {"max_rank": 10, "points": "3"},
                    ],
                },
            },
            {
                "key": "unstarted",
                "name": "未开工扣分",
                "metric": "unstarted_projects",
                "formula": {"type": "deduction", "points_per_event": "1", "cap": "10"},
            },
            {
                "key": "overdue",
                "name": "问题超期扣分",
                "metric": "problems_overdue",
                "formula": {"type": "deduction", "points_per_event": "0.5", "cap": "5"},
            },
        ],
        "tie_break": "investment",
        "reward_tiers": [{"name": "先进", "max_rank": 3}],
    }
)


def stored_scheme(body: dict[str, Any]) -> SchemeBody:
    """A scheme body as stored: one set before the year range was checked still reads."""
    return SchemeBody.model_validate(body, context={STORED: True})
