"""Vocabularies of the problem list 问题清单."""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalogue.issues import (  # the contract's words, read by every consumer
    CATEGORY_LABELS,
    STATUS_LABELS,
    Category,
    Status,
)

__all__ = ["CATEGORY_LABELS", "STATUS_LABELS", "Category", "Status"]


OPEN_STATUSES = frozenset({Status.ASSIGNED, Status.PLANNED})  # with a unit working on it
RESOLVED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})  # count as resolved in figures


class Complexity(StrEnum):
    GENERAL = "general"  # 一般: 3–5 working days
    COMPLEX = "complex"  # 复杂: a plan within 2 working days, which sets its own deadline


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
