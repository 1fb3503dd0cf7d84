"""The registry's tables. A project is the aggregate: its plans, reports, milestones, stage
history and list changes change only through it, and each change bumps `projects.version`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    cast,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table

AMOUNT = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(6))
    level: Mapped[str | None] = mapped_column(String(40))
    track: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(30), unique=True)
    code_format: Mapped[str | None] = mapped_column(String(3))
    code_year: Mapped[int | None] = mapped_column(Integer)
    code_month: Mapped[int | None] = mapped_column(Integer)
    code_region: Mapped[str | None] = mapped_column(String(6))
    total_investment: Mapped[Decimal] = mapped_column(AMOUNT)
    planned_start: Mapped[dt.date | None] = mapped_column(Date)
    planned_completion: Mapped[dt.date | None] = mapped_column(Date)
    actual_start: Mapped[dt.date | None] = mapped_column(Date)
    actual_completion: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(200))
    leader: Mapped[str | None] = mapped_column(String(100))
    service_officer: Mapped[str | None] = mapped_column(String(100))
    responsible_unit: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    content: Mapped[str | None] = mapped_column(Text)
    lng: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    lat: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class StageChange(Base):
    """History of four-batch stage moves (who, when, from, to, why)."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AnnualPlan(Base):
    __tablename__ = "annual_plans"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    annual_investment: Mapped[Decimal] = mapped_column(AMOUNT)
    # month (as a string key "1".."12") -> cumulative target, as decimal strings
    monthly_targets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class MonthlyReport(Base):
    """月度调度: one per project and month; a resubmission replaces it (and is an event)."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("project_id", "year", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    ytd_investment: Mapped[Decimal] = mapped_column(AMOUNT)
    month_investment: Mapped[Decimal] = mapped_column(AMOUNT)
    started: Mapped[bool] = mapped_column(Boolean)
    progress_note: Mapped[str | None] = mapped_column(Text)
    correction_note: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Milestone(Base):
    """配档表 entry: a planned date and, once reached, the actual date."""

    __tablename__ = "milestones"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    planned_date: Mapped[dt.date] = mapped_column(Date)
    actual_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class ListChange(Base):
    """增补 / 调整 / 退出 of the key list, with reason and effective date."""

    __tablename__ = "list_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_level: Mapped[str | None] = mapped_column(String(40))
    to_level: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


Index("ix_projects_name", Project.name)
# The project list is ordered by (created_at, id) and filtered by any of these: each filter has an
# index in that order, so a first page and a keyset page read only the rows they answer
# (tests/integration/test_registry_lists_postgres.py checks the plans).
_ORDER = (Project.created_at, Project.id)
Index("ix_projects_created", *_ORDER)
Index(  # a county user's list filtered further: counted from the index alone
    "ix_projects_county_created",
    Project.county,
    *_ORDER,
    postgresql_include=["level", "stage", "track"],
)
Index("ix_projects_level_created", Project.level, *_ORDER)
Index("ix_projects_stage_created", Project.stage, *_ORDER)
Index("ix_projects_track_created", Project.track, *_ORDER)
Index(  # key=true: the key list, a few per cent of the library
    "ix_projects_key_created",
    *_ORDER,
    postgresql_where=Project.level.is_not(None),
    sqlite_where=Project.level.is_not(None),
)
# `q` (name or code contains): trigrams on PostgreSQL (pg_trgm, created by the migration), a
# plain index of the same name on SQLite, where a LIKE '%…%' scans anyway.
Index(
    "ix_projects_search",
    Project.name,
    Project.code,
    postgresql_using="gin",
    postgresql_ops={"name": "gin_trgm_ops", "code": "gin_trgm_ops"},
)
# `tag`: containment in the JSON list, on PostgreSQL only (SQLite reads the list with json_each).
Index(
    "ix_projects_tags",
    cast(Project.tags, JSONB).label("tags"),
    postgresql_using="gin",
    postgresql_ops={"tags": "jsonb_path_ops"},
).ddl_if(dialect="postgresql")
