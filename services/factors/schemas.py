"""Request and response models of the factors API. Amounts are decimals that travel as JSON
strings; an input amount may name its unit (`unit`), and answers are always in the factor's
canonical unit (亩, 吨标准煤, 吨/年, 万立方米/年, 万元)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.factors.domain.vocabulary import (
    AllocationStatus,
    Factor,
    Pollutant,
    ReleaseCause,
    Scope,
    SourceKind,
)
from shared.amounts import Amount, decimal_string
from shared.events.catalogue.registry import Level
from shared.fields import MAX_YEAR, MIN_YEAR, BusinessDate, InputModel
from shared.rates import Rate


# An amount as typed by the caller, in the unit it names: more than zero, up to 14 digits
# before the point and 8 after (the conversion to the factor's unit, which keeps 4 places,
# says when the value does not fit the ledger).
def positive_decimal(digits: int, places: int) -> str:
    """The pattern of a decimal string more than zero with at most `digits` digits before the
    point and `places` after it."""
    whole = rf"[1-9]\d{{0,{digits - 1}}}"
    if places == 0:
        return rf"^{whole}$"
    under_one = "|".join("0" * z + rf"[1-9]\d{{0,{places - 1 - z}}}" for z in range(places))
    return rf"^({whole}(\.\d{{1,{places}}})?|0\.({under_one}))$"


INPUT_AMOUNT_PATTERN = positive_decimal(14, 8)
InputAmount = Annotated[
    Decimal,
    *decimal_string(
        INPUT_AMOUNT_PATTERN,
        "1928",
        "more than zero, at most 14 digits before the point and 8 after",
    ),
]


def amount_by_unit(default: str, by_unit: dict[str, str]) -> dict[str, Any]:
    """The JSON Schema that says which amounts each unit takes: those the conversion into the
    canonical unit holds exactly (4 places, 11 digits). `default` is the canonical unit's (or
    no unit's) pattern, `by_unit` the other units'."""
    named = {"properties": {"unit": {"enum": list(by_unit)}}, "required": ["unit"]}
    return {
        "allOf": [
            *(
                {
                    "if": {"properties": {"unit": {"const": unit}}, "required": ["unit"]},
                    "then": {"properties": {"amount": {"pattern": pattern}}},
                }
                for unit, pattern in by_unit.items()
            ),
            {"if": named, "else": {"properties": {"amount": {"pattern": default}}}},
        ]
    }


# 万元 as given; 亿元 × 10,000; 元 ÷ 10,000.
FUNDS_AMOUNTS = amount_by_unit(
    positive_decimal(11, 4), {"yi_yuan": positive_decimal(7, 8), "yuan": positive_decimal(14, 0)}
)
# 吨/年 as given; kg ÷ 1,000.
POLLUTANT_AMOUNTS = amount_by_unit(positive_decimal(11, 4), {"kg": positive_decimal(14, 1)})


# A pool's unit is one of its factor's, its amount one that unit's conversion holds exactly, and
# only a pollutant pool names a pollutant.
POOL_AMOUNTS: dict[str, Any] = {
    "allOf": [
        {
            "if": {"properties": {"factor": {"const": factor}}, "required": ["factor"]},
            "then": {
                "properties": {
                    "unit": {"enum": [canonical, *others, None]},
                    # a pollutant pool names its pollutant; other pools do not
                    "pollutant": (
                        {"enum": [p.value for p in Pollutant]}
                        if factor == "pollutant"
                        else {"type": "null"}
                    ),
                },
                **({"required": ["pollutant"]} if factor == "pollutant" else {}),
                **amount_by_unit(positive_decimal(11, 4), others),
            },
        }
        for factor, canonical, others in (
            ("land", "mu", {"hectare": positive_decimal(9, 4)}),  # 亩 × 15
            ("energy", "tce", {"10k_tce": positive_decimal(7, 8)}),  # × 10,000
            ("pollutant", "t", {"kg": positive_decimal(14, 1)}),  # ÷ 1,000
            ("water", "10k_m3", {"m3": positive_decimal(14, 0)}),  # ÷ 10,000
        )
    ]
}


# Text refuses NUL characters (InputModel says so by name); the schema says it too.
NO_NUL: dict[str, Any] = {"pattern": r"^[^\x00]*$"}
# An id as another resource gives it: no NUL (the database refuses one), at most 36 characters.
Id = Annotated[str, Field(max_length=36, json_schema_extra=NO_NUL)]
Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
# A replacement ratio (倍量替代) from 1:1 to 10:1, at most 2 places.
Ratio = Annotated[
    Decimal,
    *decimal_string(r"^(10(\.0{1,2})?|[1-9](\.\d{1,2})?)$", "2", "1 to 10, at most 2 places"),
]
# A share of a pool in percent: more than 0, at most 100, at most 2 places.
Share = Annotated[
    Decimal,
    *decimal_string(
        r"^(100(\.0{1,2})?|[1-9]\d?(\.\d{1,2})?|0\.([1-9]\d?|0[1-9]))$",
        "30",
        "more than 0, at most 100, at most 2 places",
    ),
]
# The units an input may name (domain/units.py): a pool's or an allocation's must be one of its
# factor's, which the use case checks; a source's are the pollutants', a credit line's the funds'.
Unit = Literal["mu", "hectare", "tce", "10k_tce", "t", "kg", "10k_m3", "m3"]
PollutantUnit = Literal["t", "kg"]
FundsUnit = Literal["10k_yuan", "yi_yuan", "yuan"]
Text = Annotated[str, Field(min_length=1, max_length=2000, json_schema_extra=NO_NUL)]
Name = Annotated[str, Field(min_length=1, max_length=200, json_schema_extra=NO_NUL)]


# ---------------------------------------------------------------- pools
class RingFenceIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    min_level: Level = Field(description="kept for projects at this level or above")
    amount: InputAmount


class PoolCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=POOL_AMOUNTS)

    factor: Factor
    pollutant: Pollutant | None = Field(
        None, description="required for the pollutant factor", validate_default=True
    )
    year: Year
    scope: Scope
    amount: InputAmount
    unit: Unit | None = Field(None, description="default: the factor's canonical unit")
    name: Name | None = None
    ring_fences: list[RingFenceIn] = Field(default_factory=list, max_length=10)
    advance_share: Share | None = Field(
        None, description="the most advances (预支) may take, in percent of the pool"
    )

    @field_validator("pollutant", mode="after")
    @classmethod
    def _pollutant_only_for_pollutants(
        cls, pollutant: Pollutant | None, info: ValidationInfo
    ) -> Pollutant | None:
        # a field error (not a model one), so the 422 names `pollutant`
        factor = info.data.get("factor")
        if factor is not None and (factor is Factor.POLLUTANT) != (pollutant is not None):
            raise ValueError("a pollutant pool names its pollutant; other pools do not")
        return pollutant


class RingFencePublic(BaseModel):
    min_level: Level
    amount: Amount
    available_below: Amount = Field(description="what a project below these levels may draw")


class PoolPublic(BaseModel):
    id: str
    factor: Factor
    factor_label: str
    pollutant: Pollutant | None
    year: int
    scope: Scope
    scope_label: str
    name: str | None
    unit: str
    unit_label: str
    amount: Amount
    allocated: Amount
    remaining: Amount
    advance: Amount
    released: Amount
    utilisation: Rate | None = Field(description="allocated / amount, percent, 1 dp half up")
    advance_share: Amount | None
    ring_fences: list[RingFencePublic]
    version: int
    created_at: dt.datetime


# ---------------------------------------------------------------- allocations
class AllocationCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    pool_id: Id
    project_id: Id
    amount: InputAmount
    unit: Unit | None = None
    advance: bool = Field(False, description="预支: before approvals are complete")
    source_id: Id | None = Field(None, description="pollutants: the replacement source")
    ratio: Ratio | None = Field(
        None, description="pollutants: replacement ratio (default: the source's)"
    )
    note: Text | None = None
    use_by: BusinessDate | None = Field(
        None, description="released (收回) by the worker when still unused after this date"
    )


class ReleaseIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class UseIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    date: BusinessDate | None = Field(None, description="default: today (Asia/Shanghai)")
    note: Text | None = None


class AllocationPublic(BaseModel):
    id: str
    pool_id: str
    project_id: str
    county: str
    level: Level | None
    factor: Factor
    pollutant: Pollutant | None
    year: int
    unit: str
    amount: Amount
    charged: Amount
    ratio: Amount | None
    source_id: str | None
    advance: bool
    status: AllocationStatus
    note: str | None
    allocated_on: dt.date
    allocated_by: str
    use_by: dt.date | None
    used_on: dt.date | None
    used_by: str | None
    released_on: dt.date | None
    released_by: str | None
    release_cause: ReleaseCause | None
    release_reason: str | None
    version: int


# ---------------------------------------------------------------- replacement sources
class SourceCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=POLLUTANT_AMOUNTS)

    pollutant: Pollutant
    name: Name = Field(description="the closed or retrofitted plant")
    kind: SourceKind
    county: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    amount: InputAmount = Field(description="freed emissions, 吨/年")
    unit: PollutantUnit | None = None
    ratio: Ratio | None = Field(None, description="default: the city's ratio for the pollutant")
    note: Text | None = None


class SourcePublic(BaseModel):
    id: str
    pollutant: Pollutant
    name: str
    kind: SourceKind
    county: str | None
    unit: str
    amount: Amount
    used: Amount
    remaining: Amount
    ratio: Amount
    note: str | None
    version: int


# ---------------------------------------------------------------- funds
class CreditDemandCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=FUNDS_AMOUNTS)

    project_id: Id
    amount: InputAmount
    unit: FundsUnit | None = Field(None, description="default 10k_yuan (万元); yi_yuan, yuan")
    year: Year | None = Field(None, description="default: this year")
    purpose: Text | None = None


class GrantIn(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=FUNDS_AMOUNTS)

    bank: Name
    amount: InputAmount
    unit: FundsUnit | None = None
    date: BusinessDate | None = Field(None, description="default: today (Asia/Shanghai)")


class DisbursementIn(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=FUNDS_AMOUNTS)

    amount: InputAmount
    unit: FundsUnit | None = None
    date: BusinessDate | None = None


class GrantPublic(BaseModel):
    id: str
    bank: str
    amount: Amount
    granted_on: dt.date


class DisbursementPublic(BaseModel):
    id: str
    amount: Amount
    disbursed_on: dt.date


class CreditDemandPublic(BaseModel):
    id: str
    project_id: str
    county: str
    year: int
    unit: str
    amount: Amount
    granted: Amount
    disbursed: Amount
    purpose: str | None
    grants: list[GrantPublic]
    disbursements: list[DisbursementPublic]
    version: int


class CreditFigures(BaseModel):
    projects: int
    demanded: Amount
    granted: Amount
    disbursed: Amount


class CountyCredit(CreditFigures):
    county: str


class CreditSummary(CreditFigures):
    year: int
    unit: str
    counties: list[CountyCredit]


# ---------------------------------------------------------------- factor summary
class CountyFactor(BaseModel):
    county: str
    allocated: Amount
    advance: Amount
    released: Amount
    allocations: int


class FactorSummaryRow(BaseModel):
    factor: Factor
    factor_label: str
    pollutant: Pollutant | None
    unit: str
    pool: Amount
    allocated: Amount
    advance: Amount
    released: Amount
    remaining: Amount
    utilisation: Rate | None
    counties: list[CountyFactor]


class FactorSummary(BaseModel):
    year: int
    factors: list[FactorSummaryRow]
