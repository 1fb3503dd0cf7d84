"""Vocabularies of the problem list 问题清单."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    REPORTED = "reported"  # 收集: collected, awaiting assignment
    ASSIGNED = "assigned"  # 交办: with a responsible unit and a deadline
    PLANNED = "planned"  # 方案: a complex problem's plan, which sets the resolution deadline
    RESOLVED = "resolved"  # 办结: the unit says what was done
    CLOSED = "closed"  # 销号: the command office's verdict


STATUS_LABELS: dict[Status, str] = {
    Status.REPORTED: "收集",
    Status.ASSIGNED: "交办",
    Status.PLANNED: "方案",
    Status.RESOLVED: "办结",
    Status.CLOSED: "销号",
}

OPEN_STATUSES = frozenset({Status.ASSIGNED, Status.PLANNED})  # with a unit working on it
RESOLVED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})  # count as resolved in figures


class Complexity(StrEnum):
    GENERAL = "general"  # 一般: 3–5 working days
    COMPLEX = "complex"  # 复杂: a plan within 2 working days, which sets its own deadline


class Category(StrEnum):
    LAND = "land"  # 用地
    ENERGY = "energy"  # 能耗
    ENVIRONMENTAL_CAPACITY = "environmental_capacity"  # 环境容量/总量
    WATER = "water"  # 用水
    FUNDS = "funds"  # 资金
    APPROVALS = "approvals"  # 审批手续
    UTILITIES = "utilities"  # 水电气暖
    DEMOLITION = "demolition"  # 征迁
    CONSTRUCTION = "construction"  # 施工
    OTHER = "other"  # 其他


CATEGORY_LABELS: dict[Category, str] = {
    Category.LAND: "用地",
    Category.ENERGY: "能耗",
    Category.ENVIRONMENTAL_CAPACITY: "环境容量/总量",
    Category.WATER: "用水",
    Category.FUNDS: "资金",
    Category.APPROVALS: "审批手续",
    Category.UTILITIES: "水电气暖",
    Category.DEMOLITION: "征迁",
    Category.CONSTRUCTION: "施工",
    Category.OTHER: "其他",
}


class Source(StrEnum):
    ENTERPRISE = "enterprise"  # 企业反映
    SERVICE_OFFICER = "service_officer"  # 驻企服务员
    SUPERVISION_ROUND = "supervision_round"  # 巡回督导 (numbered rounds)
    TASK_FORCE = "task_force"  # 专班
    COUNTY = "county"  # 县市区


class Verdict(StrEnum):
    AGREED = "agreed"  # 同意销号
    DEFERRED = "deferred"  # 暂缓销号


class Colour(StrEnum):
    """三色督办单."""

    BLUE = "blue"  # one working day or less left
    YELLOW = "yellow"  # behind its plan: a complex problem whose plan is late
    RED = "red"  # overdue: shown until closed
