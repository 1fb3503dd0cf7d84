"""The factors' vocabularies (要素). Values are the API's words; labels are what users read."""

from enum import StrEnum

from shared.events.catalogue.factors import (  # the contract's words, read by every consumer
    FACTOR_LABELS,
    POLLUTANT_LABELS,
    Factor,
    Pollutant,
)

__all__ = ["FACTOR_LABELS", "POLLUTANT_LABELS", "Factor", "Pollutant"]


class Scope(StrEnum):
    PROVINCIAL = "provincial"  # 省级统筹: the province's pool for provincial major projects
    CITY = "city"  # the city's yearly quota


SCOPE_LABELS: dict[Scope, str] = {Scope.PROVINCIAL: "省级统筹", Scope.CITY: "市级"}


class AllocationStatus(StrEnum):
    """active → used (the project consumed it: land approved, energy assessed ...) or
    active → released (收回). Only an active allocation can be released."""

    ACTIVE = "active"
    USED = "used"  # 已使用
    RELEASED = "released"  # 收回


class SourceKind(StrEnum):
    """Where replacement emissions come from."""

    CLOSED = "closed"  # 关停
    RETROFITTED = "retrofitted"  # 提标改造
