"""The five formula types of an assessment method's indicator, each with its parameters and its
one rule for turning a raw value (and, for rank bands, a rank) into points.

- `ratio_points`: rate ÷ 100 × points, capped at `cap` (default: the points; a cap above them
  rewards a rate over 100%); a start rate of 80.0% on 25 points gives 20;
- `bands`: the first band whose bound the value meets (`at_least` or `at_most`), else `otherwise`;
- `per_item`: points per item, capped;
- `rank_bands`: points by the division's rank on the metric among all divisions (ties share the
  better rank; a division without a value ranks last);
- `deduction`: points off per event, capped; always ≤ 0.

A missing value (a rate over nothing: no projects planned, no problems) earns no points and
costs none."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scoring.domain.metrics import Kind
from shared.amounts import decimal_string
from shared.fields import rule_error

_PLACES = r"(\.\d{1,4})?"
_ROUND = r"(\.0{1,4})?"
POINTS_PATTERN = rf"^((0|[1-9]\d{{0,2}}){_PLACES}|1000{_ROUND})$"
POSITIVE_POINTS_PATTERN = (
    rf"^([1-9]\d{{0,2}}{_PLACES}|1000{_ROUND}"
    r"|0\.([1-9]\d{0,3}|0[1-9]\d{0,2}|00[1-9]\d?|000[1-9]))$"
)
THRESHOLD_PATTERN = (
    rf"^(-((0|[1-9]\d{{0,2}}){_PLACES}|1000{_ROUND})"
    rf"|(0|[1-9]\d{{0,8}}){_PLACES}|1000000000{_ROUND})$"
)
Points = Annotated[
    Decimal, *decimal_string(POINTS_PATTERN, "25", "0 to 1000, at most 4 decimal places")
]
PositivePoints = Annotated[
    Decimal,
    *decimal_string(POSITIVE_POINTS_PATTERN, "0.25", "above 0 up to 1000, at most 4 places"),
]
Threshold = Annotated[
    Decimal,
    *decimal_string(
        THRESHOLD_PATTERN, "85", "-1000 to 1000000000, at most 4 decimal places"
    ),
]
HUNDRED = Decimal(100)
ZERO = Decimal(0)


class _Formula(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # metric kinds the formula can read (empty: any)
    KINDS: ClassVar[tuple[Kind, ...]] = ()

    def score(self, value: Decimal | int | None, rank: int | None) -> Decimal:
        raise NotImplementedError

    @property
    def ceiling(self) -> Decimal:
        """The most the formula can give."""
        raise NotImplementedError


class RatioPoints(_Formula):
    type: Literal["ratio_points"]
    points: Points
    cap: Points | None = None
    KINDS = (Kind.RATE,)

    def score(self, value: Decimal | int | None, rank: int | None) -> Decimal:
        if value is None:
            return ZERO
        earned = max(Decimal(value), ZERO) / HUNDRED * self.points
        return min(earned, self.points if self.cap is None else self.cap)

    @property
    def ceiling(self) -> Decimal:
        return self.points if self.cap is None else self.cap


def _one_bound_schema(schema: dict[str, Any]) -> None:
    """The schema says what `_one_bound` checks: exactly one of at_least and at_most is set."""
    schema["oneOf"] = [
        {"required": [bound], "properties": {bound: {"type": "string"}}}
        for bound in ("at_least", "at_most")
    ]


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_one_bound_schema)
    at_least: Threshold | None = None
    at_most: Threshold | None = None
    points: Points

    @model_validator(mode="after")
    def _one_bound(self) -> Band:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("a band has exactly one bound: at_least or at_most")
        return self

    def holds(self, value: Decimal) -> bool:
        if self.at_least is not None:
            return value >= self.at_least
        assert self.at_most is not None
        return value <= self.at_most


class Bands(_Formula):
    type: Literal["bands"]
    bands: list[Band] = Field(min_length=1, max_length=20)
    otherwise: Points = ZERO

    def score(self, value: Decimal | int | None, rank: int | None) -> Decimal:
        if value is None:
            return self.otherwise
        return next((b.points for b in self.bands if b.holds(Decimal(value))), self.otherwise)

    @property
    def ceiling(self) -> Decimal:
        return max([b.points for b in self.bands] + [self.otherwise])


class PerItem(_Formula):
    type: Literal["per_item"]
    points_per_item: PositivePoints
    cap: Points
    KINDS = (Kind.COUNT,)

    def score(self, value: Decimal | int | None, rank: int | None) -> Decimal:
        return min(Decimal(value or 0) * self.points_per_item, self.cap)

    @property
    def ceiling(self) -> Decimal:
        return self.cap


class RankBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_rank: int = Field(ge=1, le=1000)
    points: Points


class RankBands(_Formula):
    type: Literal["rank_bands"]
    bands: list[RankBand] = Field(min_length=1, max_length=50)
    otherwise: Points = ZERO

    @model_validator(mode="after")
    def _ascending(self) -> RankBands:
        ranks = [b.max_rank for b in self.bands]
        if ranks != sorted(set(ranks)):
            raise rule_error("rank bands go by strictly increasing max_rank")
        return self

    def score(self, value: Decimal | int | None, rank: int | None) -> Decimal:
        if value is None or rank is None:
            return self.otherwise
        return next((b.points for b in self.bands if rank <= b.max_rank), self.otherwise)

    @property
    def ceiling(self) -> Decimal:
        return max([b.points for b in self.bands] + [self.otherwise])


class Deduction(_Formula):
    type: Literal["deduction"]
    points_per_event: PositivePoints
    cap: Points | None = None
    KINDS = (Kind.COUNT,)

    def score(self, value: Decimal | int | None, rank: int | None) -> Decimal:
        off = Decimal(value or 0) * self.points_per_event
        if self.cap is not None:
            off = min(off, self.cap)
        return -off

    @property
    def ceiling(self) -> Decimal:
        return ZERO


Formula = Annotated[
    RatioPoints | Bands | PerItem | RankBands | Deduction, Field(discriminator="type")
]
