"""Events the factors service publishes on `kuaiche.factors`. Allocation and credit events are
keyed by project id (so one project's factor history stays in order); pool events by pool id.
Amounts are in the factor's canonical unit (`unit`), carried as decimal strings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.amounts import Amount

SOURCE = "kuaiche/factors"


class Factor(StrEnum):
    """A production factor drawn from a quota pool. Funds (资金) are matched by credit instead."""

    LAND = "land"  # 用地计划指标
    ENERGY = "energy"  # 能耗指标
    POLLUTANT = "pollutant"  # 污染物排放总量替代指标
    WATER = "water"  # 水资源


FACTOR_LABELS: dict[Factor, str] = {
    Factor.LAND: "用地计划指标",
    Factor.ENERGY: "能耗指标",
    Factor.POLLUTANT: "污染物排放总量替代指标",
    Factor.WATER: "水资源",
}


class Pollutant(StrEnum):
    COD = "COD"  # 化学需氧量
    NH3N = "NH3N"  # 氨氮
    SO2 = "SO2"  # 二氧化硫
    NOX = "NOx"  # 氮氧化物
    PARTICULATES = "particulates"  # 颗粒物
    VOCS = "VOCs"  # 挥发性有机物


POLLUTANT_LABELS: dict[Pollutant, str] = {
    Pollutant.COD: "化学需氧量",
    Pollutant.NH3N: "氨氮",
    Pollutant.SO2: "二氧化硫",
    Pollutant.NOX: "氮氧化物",
    Pollutant.PARTICULATES: "颗粒物",
    Pollutant.VOCS: "挥发性有机物",
}


class ReleaseCause(StrEnum):
    """Why an allocation returned to its pool (收回)."""

    MANUAL = "manual"  # the command office took it back, with a reason
    WITHDRAWN = "withdrawn"  # the project was withdrawn (退出)
    EXPIRED = "expired"  # unused past its use-by date (逾期未使用)


class FactorsEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPE: ClassVar[str]


class RingFenceTerms(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_level: str
    amount: Amount


class QuotaIssued(FactorsEvent):
    """A quota pool was set up (指标下达)."""

    TYPE = "kuaiche.quota.issued.v1"
    pool_id: str
    factor: str
    pollutant: str | None
    year: int
    scope: str
    amount: Amount
    unit: str
    ring_fences: list[RingFenceTerms]
    advance_share: Amount | None


class ReplacementSourceRegistered(FactorsEvent):
    """A closed or retrofitted plant's freed emissions, keyed by the source's id."""

    TYPE = "kuaiche.replacement_source.registered.v1"
    source_id: str
    pollutant: str
    name: str
    kind: str
    county: str | None
    amount: Amount  # 吨/年
    ratio: Amount


class AllocationEvent(FactorsEvent):
    """What every allocation event carries: which allocation, of which pool and project."""

    allocation_id: str
    pool_id: str
    project_id: str
    county: str
    factor: str
    pollutant: str | None
    year: int
    amount: Amount  # what the project gets
    charged: Amount  # what the pool bears: ratio × amount for pollutants
    unit: str


class FactorAllocated(AllocationEvent):
    TYPE = "kuaiche.factor.allocated.v1"
    level: str | None
    scope: str
    ratio: Amount | None
    source_id: str | None
    advance: bool
    allocated_on: dt.date
    use_by: dt.date | None


class FactorUsed(AllocationEvent):
    """The project consumed its allocation (land approved, energy assessed ...): it stays drawn
    and is no longer released when the project is withdrawn or the use-by date passes."""

    TYPE = "kuaiche.factor.used.v1"
    used_on: dt.date


class FactorReleased(AllocationEvent):
    """An allocation returned to its pool (收回)."""

    TYPE = "kuaiche.factor.released.v1"
    advance: bool
    cause: ReleaseCause
    reason: str
    released_on: dt.date


class CreditDemanded(FactorsEvent):
    TYPE = "kuaiche.credit.demanded.v1"
    demand_id: str
    project_id: str
    county: str
    year: int
    amount: Amount  # 万元


class CreditGranted(FactorsEvent):
    """A bank granted credit (授信) against a demand."""

    TYPE = "kuaiche.credit.granted.v1"
    demand_id: str
    grant_id: str
    project_id: str
    county: str
    year: int
    bank: str
    amount: Amount
    granted_total: Amount
    granted_on: dt.date


class CreditDisbursed(FactorsEvent):
    """A bank paid out (放款) against the credit granted."""

    TYPE = "kuaiche.credit.disbursed.v1"
    demand_id: str
    disbursement_id: str
    project_id: str
    county: str
    year: int
    amount: Amount
    disbursed_total: Amount
    disbursed_on: dt.date


EVENT_TYPES: dict[str, type[BaseModel]] = {
    model.TYPE: model
    for model in (
        QuotaIssued,
        ReplacementSourceRegistered,
        FactorAllocated,
        FactorUsed,
        FactorReleased,
        CreditDemanded,
        CreditGranted,
        CreditDisbursed,
    )
}
