"""Request and response bodies of the scoring API. Decimals travel as strings: points with two
decimal places, rates with one (percent), amounts without trailing zeros."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from services.scoring.domain.exposure import Colour, ExposureKind
from services.scoring.domain.scheme import VERSION_PATTERN, Indicator, RewardTier
from services.scoring.models import EpochState
from shared.amounts import Amount
from shared.fields import MAX_YEAR, MIN_YEAR, InputModel

Points = Annotated[
    Decimal,
    PlainSerializer(
        lambda v: format(v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f"),
        return_type=str,
        when_used="json",
    ),
]
"""Points in an answer: a decimal string with two decimal places ("87.25", "-3.00")."""

Shown = str | int | None  # a raw figure as printed: counts as numbers, rates and amounts as text


class IndicatorScorePublic(BaseModel):
    key: str
    name: str
    metric: str
    formula: str  # the formula type
    value: Shown
    rank: int | None = None  # the division's rank on the metric (rank_bands)
    points: Points


class FactorSupportPublic(BaseModel):
    count: int
    amount: Amount
    unit: str


class ScorecardPublic(BaseModel):
    county: str
    name: str
    year: int
    month: int
    scheme_version: str
    indicators: list[IndicatorScorePublic]
    total: Points
    rank: int
    tier: str | None
    figures: dict[str, Shown]
    key_projects_by_level: dict[str, int]
    factor_support: dict[str, FactorSupportPublic]


class ScorecardList(BaseModel):
    year: int
    month: int
    scheme_version: str
    items: list[ScorecardPublic]
    total: int = Field(ge=0, description="how many cards match, over all pages")


class FiguresPublic(BaseModel):
    """GET /v1/figures: the figures of every division the caller may see, together."""

    year: int
    month: int
    scope: str = Field(description='"city", or the county code of a county\'s own figures')
    name: str = Field(description="the city's name, or the county's")
    divisions: list[str] = Field(description="the divisions counted, by code")
    figures: dict[str, Shown]
    key_projects_by_level: dict[str, int]
    factor_support: dict[str, FactorSupportPublic]


class RankingEntry(BaseModel):
    county: str
    name: str
    score: Points
    rank: int
    tier: str | None


class RankingPublic(BaseModel):
    year: int
    month: int
    scheme_version: str
    items: list[RankingEntry]
    total: int = Field(ge=0, description="how many divisions are ranked, over all pages")


class ExposureItem(BaseModel):
    kind: ExposureKind
    colour: Colour
    county: str
    county_name: str
    project_id: str
    project_name: str | None
    issue_id: str | None
    reason: str
    detail: dict[str, Any]


class ExposureList(BaseModel):
    kind: ExposureKind
    year: int
    month: int
    items: list[ExposureItem]
    total: int


class PublicationIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    month: int = Field(ge=1, le=12)
    scheme: str | None = Field(None, max_length=40, pattern=VERSION_PATTERN)  # default: in effect
    note: str | None = Field(None, max_length=2000)


class PublicationSummary(BaseModel):
    id: str
    year: int
    month: int
    scheme_version: str
    published_at: dt.datetime


class PublicationPage(BaseModel):
    items: list[PublicationSummary]
    total: int


class SchemePublic(BaseModel):
    version: str
    name: str
    effective_from: str
    indicators: list[Indicator]
    tie_break: str
    reward_tiers: list[RewardTier]
    max_score: Points
    builtin: bool
    set_by: str | None
    set_at: dt.datetime | None


class SchemeList(BaseModel):
    items: list[SchemePublic]
    total: int = Field(ge=0, description="how many schemes there are, over all pages")


class PublicationPublic(BaseModel):
    """A frozen 通报. `scheme` is the method as it was applied. A county's copy holds its own
    scorecard and exposure items only, a department's the ranking only."""

    id: str
    year: int
    month: int
    scheme_version: str
    scheme: SchemePublic
    note: str | None
    published_by: str
    published_at: dt.datetime
    ranking: list[RankingEntry]
    scorecards: list[ScorecardPublic]
    exposure: dict[str, list[ExposureItem]]


class EpochPublic(BaseModel):
    number: int
    state: EpochState
    started_at: dt.datetime
    finished_at: dt.datetime | None
    started_by: str
    events: int | None


class EpochList(BaseModel):
    items: list[EpochPublic]
    total: int = Field(ge=0, description="how many epochs are kept, over all pages")
