"""Request and response models of the factors API. Amounts are decimals that travel as JSON
strings; an input amount may name its unit (`unit`), and answers are always in the factor's
canonical unit (亩, 吨标准煤, 吨/年, 万立方米/年, 万元)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from services.factors.domain.units import (
    INPUT_DIGITS,
    MAX_INTEGER_DIGITS,
    STORED_PLACES,
    Measure,
    accepted_units,
)
from services.factors.domain.vocabulary import (
    AllocationStatus,
    Factor,
    Pollutant,
    Scope,
    SourceKind,
)
from shared.amounts import Amount, decimal_string, format_amount
from shared.events.catalogue.factors import ReleaseCause
from shared.events.catalogue.registry import Level
from shared.fields import MAX_YEAR, MIN_YEAR, BusinessDate, InputModel
from shared.rates import Rate


# An amount as typed by the caller, in the unit it names: more than zero, up to 14 digits
# before the point and 8 after; which of those each unit takes is `amount_in_unit`'s.
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
# The amounts each unit takes (domain/units.py INPUT_DIGITS): those whose conversion into the
# canonical unit the ledger holds exactly. No unit is the canonical unit's.
UNIT_AMOUNT_PATTERNS: dict[str, str] = {
    unit: positive_decimal(*digits) for unit, digits in INPUT_DIGITS.items()
}
CANONICAL_AMOUNT_PATTERN = positive_decimal(MAX_INTEGER_DIGITS, STORED_PLACES)
_INPUT_AMOUNT = re.compile(INPUT_AMOUNT_PATTERN)


def amount_in_unit(value: Any, unit: str | None) -> Any:
    """The request's amount (as sent) if it matches its unit's pattern; the 422 on `amount`
    its schema predicts otherwise. What is no decimal string at all is left to the type."""
    text = format_amount(value) if isinstance(value, Decimal) else value
    if not isinstance(text, str) or not _INPUT_AMOUNT.fullmatch(text):
        return value
    digits, places = INPUT_DIGITS.get(unit or "", (MAX_INTEGER_DIGITS, STORED_PLACES))
    if not re.fullmatch(UNIT_AMOUNT_PATTERNS.get(unit or "", CANONICAL_AMOUNT_PATTERN), text):
        raise PydanticCustomError(
            "amount_in_unit",
            "an amount in {unit} has at most {digits} digits before the point and {places} "
            "after; more would not convert exactly into the unit it is kept in",
            {"unit": unit or "the canonical unit", "digits": digits, "places": places},
        )
    return value


def amount_by_unit(units: list[str], amount: str = "amount") -> dict[str, Any]:
    """The JSON Schema that says which amounts each of `units` takes (`amount_in_unit`); with no
    unit, the canonical unit's."""
    return {
        "allOf": [
            *(
                {
                    "if": {"properties": {"unit": {"const": unit}}, "required": ["unit"]},
                    "then": {"properties": {amount: {"pattern": UNIT_AMOUNT_PATTERNS[unit]}}},
                }
                for unit in units
            ),
            {
                "if": {"properties": {"unit": {"enum": units}}, "required": ["unit"]},
                "else": {"properties": {amount: {"pattern": CANONICAL_AMOUNT_PATTERN}}},
            },
        ]
    }


class UnitAmount(InputModel):
    """A request whose `amount` is given in its `unit`, which its model declares before the
    amount (so the unit is read first)."""

    @field_validator("amount", mode="before", check_fields=False)
    @classmethod
    def _amount_in_unit(cls, value: Any, info: ValidationInfo) -> Any:
        if "unit" not in info.data:  # the unit was refused: that is the 422
            return value
        return amount_in_unit(value, info.data["unit"])


FUNDS_AMOUNTS = amount_by_unit(accepted_units(Measure.FUNDS))
POLLUTANT_AMOUNTS = amount_by_unit(accepted_units(Measure.POLLUTANT))
FACTOR_UNITS = [unit for factor in Factor for unit in accepted_units(Measure(factor))]
# an allocation's unit is one of its pool's factor's, which only the pool knows (409 otherwise)
ALLOCATION_AMOUNTS = amount_by_unit(FACTOR_UNITS)


def _ring_fence_amounts(unit: str) -> dict[str, Any]:
    pattern = UNIT_AMOUNT_PATTERNS[unit]
    return {"ring_fences": {"items": {"properties": {"amount": {"pattern": pattern}}}}}


# A pool's unit is one of its factor's, its amounts (and its ring-fences') ones that unit's
# conversion holds exactly, and only a pollutant pool names a pollutant.
POOL_AMOUNTS: dict[str, Any] = {
    "allOf": [
        {
            "if": {"properties": {"factor": {"const": factor.value}}, "required": ["factor"]},
            "then": {
                "properties": {
                    "unit": {"enum": [*accepted_units(Measure(factor)), None]},
                    # a pollutant pool names its pollutant; other pools do not
                    "pollutant": (
                        {"enum": [p.value for p in Pollutant]}
                        if factor is Factor.POLLUTANT
                        else {"type": "null"}
                    ),
                },
                **({"required": ["pollutant"]} if factor is Factor.POLLUTANT else {}),
            },
        }
        for factor in Factor
    ]
    + [
        {
            "if": {"properties": {"unit": {"const": unit}}, "required": ["unit"]},
            "then": {
                "properties": {
                    "amount": {"pattern": UNIT_AMOUNT_PATTERNS[unit]},
                    **_ring_fence_amounts(unit),
                }
            },
        }
        for unit in FACTOR_UNITS
    ]
    + [
        {
            "if": {"properties": {"unit": {"type": "string"}}, "required": ["unit"]},
            "else": {
                "properties": {
                    "amount": {"pattern": CANONICAL_AMOUNT_PATTERN},
                    "ring_fences": {
                        "items": {"properties": {"amount": {"pattern": CANONICAL_AMOUNT_PATTERN}}}
                    },
                }
            },
        }
    ]
}


# An id as another resource gives it, at most 36 characters (no NUL: InputModel, for every text).
Id = Annotated[str, Field(max_length=36)]
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


class PoolCreate(UnitAmount):
    model_config = ConfigDict(extra="forbid", json_schema_extra=POOL_AMOUNTS)

    factor: Factor
    pollutant: Pollutant | None = Field(
        None, description="required for the pollutant factor", validate_default=True
    )
    year: Year
    scope: Scope
    unit: Unit | None = Field(
        None, description="one of the factor's units; default: its canonical unit"
    )
    amount: InputAmount
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

    @field_validator("unit", mode="after")
    @classmethod
    def _unit_of_the_factor(cls, unit: str | None, info: ValidationInfo) -> str | None:
        factor = info.data.get("factor")
        if factor is not None and unit is not None:
            units = accepted_units(Measure(factor))
            if unit not in units:
                raise ValueError(f"a {factor} pool's unit is one of {', '.join(units)}")
        return unit

    @field_validator("ring_fences", mode="before")
    @classmethod
    def _ring_fences_in_unit(cls, fences: Any, info: ValidationInfo) -> Any:
        if "unit" in info.data and isinstance(fences, list):
            for i, fence in enumerate(fences):
                if isinstance(fence, dict) and "amount" in fence:
                    try:
                        amount_in_unit(fence["amount"], info.data["unit"])
                    except PydanticCustomError as exc:
                        raise PydanticCustomError(
                            "amount_in_unit",
                            "ring_fences[{i}].amount: {why}",
                            {"i": i, "why": exc.message()},
                        ) from exc
        return fences


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
class AllocationCreate(UnitAmount):
    model_config = ConfigDict(extra="forbid", json_schema_extra=ALLOCATION_AMOUNTS)

    pool_id: Id
    project_id: Id
    unit: Unit | None = Field(
        None, description="one of the pool's factor's units (409 otherwise); default: its canonical"
    )
    amount: InputAmount
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
class SourceCreate(UnitAmount):
    model_config = ConfigDict(extra="forbid", json_schema_extra=POLLUTANT_AMOUNTS)

    pollutant: Pollutant
    name: Name = Field(description="the closed or retrofitted plant")
    kind: SourceKind
    county: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    unit: PollutantUnit | None = None
    amount: InputAmount = Field(description="freed emissions, 吨/年")
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
class CreditDemandCreate(UnitAmount):
    model_config = ConfigDict(extra="forbid", json_schema_extra=FUNDS_AMOUNTS)

    project_id: Id
    unit: FundsUnit | None = Field(None, description="default 10k_yuan (万元); yi_yuan, yuan")
    amount: InputAmount
    year: Year | None = Field(None, description="default: this year")
    purpose: Text | None = None


class GrantIn(UnitAmount):
    model_config = ConfigDict(extra="forbid", json_schema_extra=FUNDS_AMOUNTS)

    bank: Name
    unit: FundsUnit | None = None
    amount: InputAmount
    date: BusinessDate | None = Field(None, description="default: today (Asia/Shanghai)")


class DisbursementIn(UnitAmount):
    model_config = ConfigDict(extra="forbid", json_schema_extra=FUNDS_AMOUNTS)

    unit: FundsUnit | None = None
    amount: InputAmount
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
