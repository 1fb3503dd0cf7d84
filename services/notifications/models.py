"""The notifications service's tables.

- projections kept from the other services' events: `projects`, `problems`, `pools` (what a
  message needs to name: a project's name, county and leader, a problem's unit and deadline, a
  pool's fill) and `calendar_years` (the State Council schedules uploaded to issues);
- `rule_sets`: the versioned rules (who is told what); the highest version is in force;
- `recipients`: the people the rules name, with their robot channels;
- `notifications`: the inbox, one row per message per recipient, unique per occasion, so a
  duplicate event or a second scan sends nothing twice;
- `subscriptions`: downstream systems' webhook endpoints;
- `deliveries` and `delivery_attempts`: every message bound for a webhook or a robot is a row
  before it is tried (a restart loses none that were due), and each try is recorded;
- `feed`: every event seen, in the order it was applied, for the live stream and replays.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table

BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency = idempotency_table(Base.metadata)


# ---------------------------------------------------------------- projections
class ProjectView(Base):
    """What notifications knows of a registry project, from its events."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(6), index=True)
    leader: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)


class ProblemView(Base):
    """What notifications knows of an issues problem: enough to remind its unit in time."""

    __tablename__ = "problems"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36))
    county: Mapped[str] = mapped_column(String(6))
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20))
    complexity: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(200))
    co_units: Mapped[list[str]] = mapped_column(JSON, default=list)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    plan_due: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)


Index("ix_problems_scan", ProblemView.status, ProblemView.deadline)


class PoolView(Base):
    """A factors quota pool's size and what is charged to it, to see it pass a threshold."""

    __tablename__ = "pools"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    factor: Mapped[str] = mapped_column(String(40))
    pollutant: Mapped[str | None] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    allocated: Mapped[Decimal] = mapped_column(Numeric(20, 4), default=Decimal(0))


class CalendarYearView(Base):
    """A State Council schedule uploaded to issues; it wins over the package for its year."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    workdays: Mapped[list[str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)


# ---------------------------------------------------------------- rules and recipients
class RuleSet(Base):
    """One version of the rules; the highest version is in force."""

    __tablename__ = "rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Recipient(Base):
    """Someone the rules name: the command office, a county (by division code), a department
    (by name) or a project's 帮包 leader (by name), with the robots that reach them."""

    __tablename__ = "recipients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    # [{"id", "type": dingtalk|wecom, "url", "secret"}]; secrets are never answered back
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


Index("uq_recipients_kind_key", Recipient.kind, Recipient.key, unique=True)


class Notification(Base):
    """One message in one recipient's inbox."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # what makes it the same message: rule, occasion and recipient (a rerun adds nothing)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    recipient_key: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(60))
    trigger: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[str | None] = mapped_column(String(36))  # the event behind it, if one
    county: Mapped[str | None] = mapped_column(String(6))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    in_inbox: Mapped[bool] = mapped_column(Boolean)  # false: the rule sends it by robot only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


Index(
    "ix_notifications_inbox",
    Notification.recipient_kind,
    Notification.recipient_key,
    Notification.created_at,
)


# ---------------------------------------------------------------- webhooks and deliveries
class Subscription(Base):
    """A downstream system's webhook endpoint (Standard Webhooks)."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)  # empty: every type
    county: Mapped[str | None] = mapped_column(String(6))  # only this county's events
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)


class Delivery(Base):
    """One message bound for one webhook endpoint or one robot, written before it is tried."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # webhook | dingtalk | wecom
    # webhook: the subscription id; robot: "<recipient id>/<channel id>"
    target: Mapped[str] = mapped_column(String(80))
    # webhook: the CloudEvent id (the webhook-id header); robot: the notification id
    message_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # the CloudEvent's JSON, or the robot's markdown
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    leased_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # a redelivery or a replay adds a new row; `generation` keeps it apart from the first
    generation: Mapped[int] = mapped_column(Integer, default=0)


Index(
    "uq_deliveries_message",
    Delivery.target,
    Delivery.message_id,
    Delivery.generation,
    unique=True,
)
Index("ix_deliveries_due", Delivery.status, Delivery.next_attempt_at)
Index("ix_deliveries_target", Delivery.target, Delivery.created_at)


class DeliveryAttempt(Base):
    """One try of one delivery: when, what came back, how long it took."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    target: Mapped[str] = mapped_column(String(80))
    # one HTTP request: a robot's digest is one send for all the deliveries it carries (what
    # the robot's 20-a-minute budget counts)
    send_id: Mapped[str] = mapped_column(String(36))
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


Index("ix_delivery_attempts_target", DeliveryAttempt.target, DeliveryAttempt.attempted_at)


# ---------------------------------------------------------------- the live feed
class FeedEntry(Base):
    """Every event applied, numbered in commit order (the stream's `id:`, what `Last-Event-ID`
    resumes from). On PostgreSQL the writers take a transaction-scoped advisory lock before
    adding a row, so the numbers become visible in order and a reader never skips one."""

    __tablename__ = "feed"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(200))
    county: Mapped[str | None] = mapped_column(String(6))
    units: Mapped[list[str]] = mapped_column(JSON, default=list)  # departments it concerns
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # the event's time
    event: Mapped[str] = mapped_column(Text)  # the CloudEvent's JSON
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


Index("ix_feed_time", FeedEntry.time)
