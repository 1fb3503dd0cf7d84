"""Request and response models of the factors API. Amounts are decimals that travel as JSON
strings; an input amount may name its unit (`unit`), and answers are always in the factor's
canonical unit (亩, 吨标准煤, 吨/年, 万立方米/年, 万元)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

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
_UNDER_ONE = "|".join(f"0{{{z}}}[1-9]\\d{{0,{7 - z}}}" for z in range(8))
INPUT_AMOUNT_PATTERN = rf"^([1-9]\d{{0,13}}(\.\d{{1,8}})?|0\.({_UNDER_ONE}))$"
InputAmount = Annotated[
    Decimal,
    *decimal_string(
        INPUT_AMOUNT_PATTERN,
        "1928",
        "more than zero, at most 14 digits before the point and 8 after",
    ),
]
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
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


# ---------------------------------------------------------------- pools
class RingFenceIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    min_level: Level = Field(description="kept for projects at this level or above")
    amount: InputAmount


class PoolCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

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

    pool_id: Annotated[str, Field(max_length=36)]
    project_id: Annotated[str, Field(max_length=36)]
    amount: InputAmount
    unit: Unit | None = None
    advance: bool = Field(False, description="预支: before approvals are complete")
    source_id: Annotated[str, Field(max_length=36)] | None = Field(
        None, description="pollutants: the replacement source"
    )
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
    model_config = ConfigDict(extra="forbid")

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
    model_config = ConfigDict(extra="forbid")

    project_id: Annotated[str, Field(max_length=36)]
    amount: InputAmount
    unit: FundsUnit | None = Field(None, description="default 10k_yuan (万元); yi_yuan, yuan")
    year: Year | None = Field(None, description="default: this year")
    purpose: Text | None = None


class GrantIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    bank: Name
    amount: InputAmount
    unit: FundsUnit | None = None
    date: BusinessDate | None = Field(None, description="default: today (Asia/Shanghai)")


class DisbursementIn(InputModel):
    model_config = ConfigDict(extra="forbid")

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
