"""The factors' tables. A pool is the aggregate the invariant lives on: every allocation and
release changes `pools.allocated` under the pool's row lock, and a CHECK keeps
`allocated <= amount` in the database itself. Credit demands do the same for grants and
disbursements. `projects` is the local projection of the registry's events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.events.catalogue.registry import Stage
from shared.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table

AMOUNT = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class ProjectView(Base):
    """What factors knows of a project, from the registry's events (never by calling it)."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(6), index=True)
    level: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)  # the last registry sequence applied
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    @property
    def withdrawn(self) -> bool:
        return self.stage == Stage.WITHDRAWN


class Pool(Base):
    __tablename__ = "pools"
    __table_args__ = (
        UniqueConstraint("key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
        CheckConstraint("allocated <= amount", name="allocated_within_pool"),
        CheckConstraint(
            "advance_allocated >= 0 AND advance_allocated <= allocated", name="advance_within"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(60))  # factor:pollutant:year:scope, one pool each
    factor: Mapped[str] = mapped_column(String(20), index=True)
    pollutant: Mapped[str | None] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer, index=True)
    scope: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    allocated: Mapped[Decimal] = mapped_column(AMOUNT)
    advance_allocated: Mapped[Decimal] = mapped_column(AMOUNT)
    released: Mapped[Decimal] = mapped_column(AMOUNT)  # cumulative, for the summary
    advance_share: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    ring_fences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class ReplacementSource(Base):
    """A closed or retrofitted plant whose freed emissions (吨/年) new projects replace."""

    __tablename__ = "replacement_sources"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("used >= 0 AND used <= amount", name="used_within_source"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pollutant: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    county: Mapped[str | None] = mapped_column(String(6))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    used: Mapped[Decimal] = mapped_column(AMOUNT)
    ratio: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    note: Mapped[str | None] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("charged >= amount", name="charged_covers_amount"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(36), index=True)
    county: Mapped[str] = mapped_column(String(6), index=True)
    level: Mapped[str | None] = mapped_column(String(40))  # the project's level when allocated
    factor: Mapped[str] = mapped_column(String(20))
    pollutant: Mapped[str | None] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)  # what the project gets
    charged: Mapped[Decimal] = mapped_column(AMOUNT)  # what the pool bears (ratio × amount)
    ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    source_id: Mapped[str | None] = mapped_column(ForeignKey("replacement_sources.id"))
    advance: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    allocated_on: Mapped[dt.date] = mapped_column(Date)
    allocated_by: Mapped[str] = mapped_column(String(200))
    use_by: Mapped[dt.date | None] = mapped_column(Date, index=True)  # released when unused by then
    used_on: Mapped[dt.date | None] = mapped_column(Date)
    used_by: Mapped[str | None] = mapped_column(String(200))
    use_note: Mapped[str | None] = mapped_column(Text)
    released_on: Mapped[dt.date | None] = mapped_column(Date)
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_cause: Mapped[str | None] = mapped_column(String(20))
    release_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class CreditDemand(Base):
    """A project's credit need (万元) for a year, and what banks granted and disbursed."""

    __tablename__ = "credit_demands"
    __table_args__ = (
        UniqueConstraint("project_id", "year"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("granted >= 0 AND granted <= amount", name="granted_within_demand"),
        CheckConstraint("disbursed >= 0 AND disbursed <= granted", name="disbursed_within"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36), index=True)
    county: Mapped[str] = mapped_column(String(6), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    granted: Mapped[Decimal] = mapped_column(AMOUNT)
    disbursed: Mapped[Decimal] = mapped_column(AMOUNT)
    purpose: Mapped[str | None] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class CreditGrant(Base):
    """Credit a bank granted (授信) against a demand."""

    __tablename__ = "credit_grants"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    demand_id: Mapped[str] = mapped_column(ForeignKey("credit_demands.id"), index=True)
    bank: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    granted_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CreditDisbursement(Base):
    """Money a bank paid out (放款) against the credit granted."""

    __tablename__ = "credit_disbursements"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    demand_id: Mapped[str] = mapped_column(ForeignKey("credit_demands.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
