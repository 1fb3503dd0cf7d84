"""What scoring knows of each upstream aggregate, as the read model keeps it (the ORM rows in
`models` have these attributes). The rules read these and nothing else."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Protocol


class ProjectFacts(Protocol):
    project_id: str
    county: str
    name: str
    level: str | None
    track: str
    stage: str
    planned_start: dt.date | None
    actual_start: dt.date | None
    actual_completion: dt.date | None
    withdrawn_on: dt.date | None  # the date its withdrawal (退出) carried


class PlanFacts(Protocol):
    project_id: str
    year: int
    annual_investment: Decimal


class ReportFacts(Protocol):
    project_id: str
    year: int
    month: int
    ytd_investment: Decimal


class ProblemFacts(Protocol):
    issue_id: str
    project_id: str
    county: str
    title: str
    status: str
    category: str
    unit: str | None
    deadline: dt.date | None
    reported_on: dt.date
    resolved_on: dt.date | None
    on_time: bool | None
    overdue_on: dt.date | None
    closed_on: dt.date | None


class AllocationFacts(Protocol):
    allocation_id: str
    project_id: str
    county: str
    factor: str
    year: int
    amount: Decimal
    unit: str
    allocated_on: dt.date
    released_on: dt.date | None


class GrantFacts(Protocol):
    grant_id: str
    county: str
    year: int
    amount: Decimal
    granted_on: dt.date
