"""Stand-ins for the read model's rows: plain dataclasses with the attributes the Protocols in
`services.scoring.domain.facts` ask for, with defaults so a test names only what it is about."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.events.catalogue.registry import Stage, Track

COUNTY = "371602"  # 滨城区
OTHER = "371603"  # 沾化区


@dataclass
class Project:
    project_id: str
    county: str = COUNTY
    name: str = "项目"
    level: str | None = None
    track: str = Track.IMPLEMENTATION
    stage: str = Stage.RESERVE
    planned_start: dt.date | None = None
    actual_start: dt.date | None = None
    actual_completion: dt.date | None = None
    withdrawn_on: dt.date | None = None


@dataclass
class Plan:
    project_id: str
    year: int
    annual_investment: Decimal


@dataclass
class Report:
    project_id: str
    year: int
    month: int
    ytd_investment: Decimal


@dataclass
class Problem:
    issue_id: str
    project_id: str = "p1"
    county: str = COUNTY
    title: str = "问题"
    status: str = "open"
    category: str = "land"
    unit: str | None = None
    deadline: dt.date | None = None
    reported_on: dt.date = dt.date(2020, 1, 15)
    resolved_on: dt.date | None = None
    on_time: bool | None = None
    overdue_on: dt.date | None = None
    closed_on: dt.date | None = None


@dataclass
class Allocation:
    allocation_id: str
    project_id: str = "p1"
    county: str = COUNTY
    factor: str = "land"
    year: int = 2020
    amount: Decimal = Decimal(0)
    unit: str = "mu"
    allocated_on: dt.date = dt.date(2020, 2, 1)
    released_on: dt.date | None = None


@dataclass
class Grant:
    grant_id: str
    county: str = COUNTY
    year: int = 2020
    amount: Decimal = Decimal(0)
    granted_on: dt.date = dt.date(2020, 2, 1)
