"""The issues service's tables. A problem is the aggregate: its history changes only through
it, and each change bumps `issues.version` (the events' `sequence`). `projects` is the local
projection of the registry's projects; `calendar_years` keeps uploaded State Council schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class ProjectView(Base):
    """What the issues service knows of a registry project, from its events."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(6), index=True)
    leader: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)  # the registry's version last applied
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Round(Base):
    """巡回督导: a numbered supervision round that problems can come from."""

    __tablename__ = "rounds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Issue(Base):
    """A problem 问题 of a project. Dates (`*_on`, deadlines) are Asia/Shanghai calendar dates;
    instants are UTC."""

    __tablename__ = "issues"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    county: Mapped[str] = mapped_column(String(6), index=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    complexity: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    round_id: Mapped[str | None] = mapped_column(ForeignKey("rounds.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    unit: Mapped[str | None] = mapped_column(String(200), index=True)
    co_units: Mapped[list[str]] = mapped_column(JSON, default=list)
    working_days: Mapped[int | None] = mapped_column(Integer)
    assigned_on: Mapped[dt.date | None] = mapped_column(Date)
    plan_due: Mapped[dt.date | None] = mapped_column(Date)
    deadline: Mapped[dt.date | None] = mapped_column(Date, index=True)
    plan: Mapped[str | None] = mapped_column(Text)
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    feedback_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str | None] = mapped_column(String(20))
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reported_on: Mapped[dt.date] = mapped_column(Date, index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reported_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class IssueMove(Base):
    """The history of a problem: every move, who made it, when, from, to, and why."""

    __tablename__ = "issue_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issue_id: Mapped[str] = mapped_column(ForeignKey("issues.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[dt.date | None] = mapped_column(Date)  # the deadline in force after it
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CalendarYear(Base):
    """An uploaded State Council holiday schedule; it wins over the package for its year.
    `version` counts its uploads from 1: the sequence of the event each one publishes."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]] = mapped_column(JSON)  # ISO dates
    workdays: Mapped[list[str]] = mapped_column(JSON)  # ISO dates: make-up working days 调休
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


Index("ix_issues_overdue_scan", Issue.status, Issue.deadline)
