"""An allocation's life (分配 → 已使用 or 收回): active → used, or active → released. Only an
active allocation can be released or marked used; its dates keep their order."""

from __future__ import annotations

import datetime as dt

from services.factors.domain.vocabulary import AllocationStatus
from shared.errors import RuleViolation


class NotActive(RuleViolation):
    """Only an active allocation can be released or marked used."""

    def __init__(self, allocation_id: str, status: str) -> None:
        what = {
            AllocationStatus.RELEASED: "was already released (收回)",
            AllocationStatus.USED: "has been used (已使用); a used allocation stays drawn",
        }.get(AllocationStatus(status), f"is {status}")
        super().__init__(f"allocation {allocation_id} {what}")


def check_active(allocation_id: str, status: str) -> None:
    if status != AllocationStatus.ACTIVE:
        raise NotActive(allocation_id, status)


def check_use_by(use_by: dt.date | None, today: dt.date) -> None:
    """A new allocation's use-by date may not have passed already (409: today decides)."""
    if use_by is not None and use_by < today:
        message = f"the use-by date {use_by} has passed"
        raise RuleViolation(message, errors=[{"field": "use_by", "message": message}])


def check_used_on(on: dt.date, allocated_on: dt.date) -> None:
    """An allocation is used on or after the day it was allocated (409: its state decides)."""
    if on < allocated_on:
        message = f"it was allocated on {allocated_on}, after {on}"
        raise RuleViolation(message, errors=[{"field": "date", "message": message}])
