"""The factors' vocabularies (要素). Values are the API's words; labels are what users read."""

from enum import StrEnum


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
