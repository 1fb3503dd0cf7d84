"""The scoring service's tables.

The read model (`projects` … `credit_grants`) is what scoring knows of the other services'
aggregates, one row per aggregate as its latest event left it, each with the `version`
(`sequence`) that put it there. Every read-model row belongs to an `epoch`: the live model is
the current epoch's rows; a rebuild fills the next epoch from the beginning of the log and then
takes over (`readmodel`). `standings` keeps each period's figures and scores per division as
these rows give them, maintained as events arrive (`standings`), so a read need not compute them.

`schemes` keeps the assessment methods set over HTTP; `publications` the frozen snapshots.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, MetaData, Numeric, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table

MONEY = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class EpochState(StrEnum):
    BUILDING = "building"  # a rebuild is filling it
    CURRENT = "current"  # the live model: exactly one
    RETIRED = "retired"  # replaced by a rebuilt one; its rows are deleted
    FAILED = "failed"  # a rebuild that failed or was abandoned; its rows are deleted


class Epoch(Base):
    """One generation of the read model. Exactly one is `current`; a rebuild's is `building`
    until it takes over; the ones it replaced are `retired` (their rows are deleted)."""

    __tablename__ = "epochs"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(20))  # an EpochState
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(200))
    events: Mapped[int | None] = mapped_column(Integer)  # messages a rebuild read


class _ReadModel:
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class ProjectView(_ReadModel, Base):
    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    county: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str | None] = mapped_column(String(40))
    track: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    planned_start: Mapped[dt.date | None] = mapped_column(Date)
    actual_start: Mapped[dt.date | None] = mapped_column(Date)
    actual_completion: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)


class PlanView(_ReadModel, Base):
    __tablename__ = "plans"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    annual_investment: Mapped[Decimal] = mapped_column(MONEY)


class ReportView(_ReadModel, Base):
    __tablename__ = "reports"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    ytd_investment: Mapped[Decimal] = mapped_column(MONEY)


class ProblemView(_ReadModel, Base):
    __tablename__ = "problems"

    issue_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36))
    county: Mapped[str] = mapped_column(String(6))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    reported_on: Mapped[dt.date] = mapped_column(Date)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    overdue_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)


class AllocationView(_ReadModel, Base):
    __tablename__ = "allocations"

    allocation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36))
    county: Mapped[str] = mapped_column(String(6))
    factor: Mapped[str] = mapped_column(String(40))
    pollutant: Mapped[str | None] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    unit: Mapped[str] = mapped_column(String(20))
    advance: Mapped[bool] = mapped_column(Boolean)
    allocated_on: Mapped[dt.date] = mapped_column(Date)
    used_on: Mapped[dt.date | None] = mapped_column(Date)
    released_on: Mapped[dt.date | None] = mapped_column(Date)


class GrantView(_ReadModel, Base):
    __tablename__ = "credit_grants"

    grant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36))
    county: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    granted_on: Mapped[dt.date] = mapped_column(Date)


READ_MODEL: tuple[type[_ReadModel], ...] = (
    ProjectView,
    PlanView,
    ReportView,
    ProblemView,
    AllocationView,
    GrantView,
)


class Standing(Base):
    """A division's figures and score for a period, as the epoch's facts give them: kept by
    `services.scoring.standings` in the transaction that changes the facts, so a ranking or a
    scorecard is a SELECT. `basis` names the thresholds and divisions the figures were computed
    with, `scheme_digest` the scheme the points were scored by; a read with another basis or
    scheme does not use them as they are."""

    __tablename__ = "standings"

    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    county: Mapped[str] = mapped_column(String(6), primary_key=True)
    basis: Mapped[str] = mapped_column(String(32))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    scheme_version: Mapped[str] = mapped_column(String(40))
    scheme_digest: Mapped[str] = mapped_column(String(32))
    indicators: Mapped[list[Any]] = mapped_column(JSON)  # [rank, points] per indicator, in order
    total: Mapped[str] = mapped_column(String(20))  # points: a decimal string
    rank: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(100))


class Scheme(Base):
    """An assessment method 考核办法 as set with `PUT /v1/schemes/{version}`."""

    __tablename__ = "schemes"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # 1 when set first, one more at each replacement: the ETag of the scheme's answers
    revision: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class Publication(Base):
    """A frozen ranking and its exposure lists for a period (通报): later events change nothing."""

    __tablename__ = "publications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    scheme_version: Mapped[str] = mapped_column(String(40))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("uq_publications_period", "year", "month", unique=True),)
