"""Reads of the notifications service: the inbox, recipients, subscriptions and their
deliveries, the feed behind the live stream, and what the consumer and the scan look up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import access
from services.notifications.domain.occasions import RecipientKind
from services.notifications.domain.reminders import WORKING
from services.notifications.models import (
    CalendarYearView,
    Delivery,
    DeliveryAttempt,
    FeedEntry,
    Notification,
    ProblemView,
    Recipient,
    RuleSet,
    Subscription,
)
from shared.auth import Principal, Role
from shared.calendar import WorkCalendar, YearSchedule
from shared.db import paginate
from shared.errors import NotFound
from shared.rows import transaction_memo

T = TypeVar("T")


# ---------------------------------------------------------------- for the consumer and the scan
def subscription_matches(sub: Subscription, event_type: str, county: str | None) -> bool:
    if sub.event_types and event_type not in sub.event_types:
        return False
    return sub.county is None or sub.county == county


async def once_per_transaction(
    session: AsyncSession, key: str, load: Callable[[], Awaitable[T]]
) -> T:
    """What `load()` answers, asked once per transaction of `session` for each `key`. For what
    the consumer looks up for every event of a batch (which it applies in one transaction) and
    no transaction that notifies changes: the subscriptions, the recipients' channels, the
    rules in force."""
    memo = transaction_memo(session, "once_per_transaction")
    if key not in memo:
        memo[key] = await load()
    answer: T = memo[key]
    return answer


async def matching_subscriptions(
    session: AsyncSession, event_type: str, county: str | None
) -> list[Subscription]:
    """The subscriptions an event goes to; a disabled one keeps its messages (paused), so a
    re-enabled endpoint gets what it missed. Read once per transaction (a consumer's batch)."""

    async def every() -> Sequence[Subscription]:
        return (await session.scalars(select(Subscription))).all()

    subs = await once_per_transaction(session, "subscriptions", every)
    return [s for s in subs if subscription_matches(s, event_type, county)]


async def recipient_at(
    session: AsyncSession, address: tuple[RecipientKind, str]
) -> Recipient | None:
    kind, key = address
    return await session.scalar(
        select(Recipient).where(Recipient.kind == str(kind), Recipient.key == key)
    )


async def recipient_in_transaction(
    session: AsyncSession, address: tuple[RecipientKind, str]
) -> Recipient | None:
    """`recipient_at`, asked once per transaction (a consumer's batch) for each address."""
    kind, key = address
    return await once_per_transaction(
        session, f"recipient {kind} {key}", lambda: recipient_at(session, address)
    )


async def rules_version(session: AsyncSession, *, per_transaction: bool = False) -> int | None:
    """The highest version of the rules set, None before any was. `per_transaction`: asked
    once in the session's transaction (a consumer's batch notifies for many events in one, and
    no transaction that notifies replaces the rules)."""

    async def highest() -> int | None:
        return await session.scalar(select(func.max(RuleSet.version)))

    if per_transaction:
        return await once_per_transaction(session, "rules version", highest)
    return await highest()


async def load_calendar(session: AsyncSession) -> WorkCalendar:
    """The working-day calendar with the schedules uploaded to issues (from its events)."""
    rows = (await session.scalars(select(CalendarYearView))).all()
    return WorkCalendar(
        {r.year: YearSchedule.from_iso(r.year, r.holidays, r.workdays) for r in rows}
    )


async def working_problems(session: AsyncSession) -> Sequence[ProblemView]:
    """The problems a unit is working on (the scan's candidates)."""
    return (
        await session.scalars(
            select(ProblemView)
            .where(ProblemView.status.in_(sorted(WORKING)))
            .order_by(ProblemView.id)
        )
    ).all()


# ---------------------------------------------------------------- the inbox
def _inbox(kind: RecipientKind, key: str) -> list:
    return [
        Notification.recipient_kind == str(kind),
        Notification.recipient_key == key,
        Notification.in_inbox.is_(True),
    ]


async def list_notifications(
    session: AsyncSession,
    inbox: tuple[RecipientKind, str],
    *,
    unread: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Notification], int]:
    query = select(Notification).where(*_inbox(*inbox))
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id)
    return await paginate(session, query, limit, offset)


async def unread_count(session: AsyncSession, inbox: tuple[RecipientKind, str]) -> int:
    found = await session.scalar(
        select(func.count()).where(*_inbox(*inbox), Notification.read_at.is_(None))
    )
    return int(found or 0)


async def get_notification(
    session: AsyncSession, principal: Principal, notification_id: str
) -> Notification:
    note = await session.get(Notification, notification_id)
    if note is None:
        raise NotFound(f"notification {notification_id} not found")
    access.ensure_own_notification(principal, note)
    return note


# ---------------------------------------------------------------- recipients
async def get_recipient(
    session: AsyncSession, principal: Principal, recipient_id: str, *, for_update: bool = False
) -> Recipient:
    row = await session.get(Recipient, recipient_id, with_for_update=for_update)
    if row is None or not access.can_see_recipient(principal, row.kind, row.key):
        raise NotFound(f"recipient {recipient_id} not found")
    return row


async def list_recipients(
    session: AsyncSession,
    principal: Principal,
    kind: RecipientKind | None,
    limit: int,
    offset: int,
) -> tuple[list[Recipient], int]:
    query = select(Recipient)
    if kind is not None:
        query = query.where(Recipient.kind == str(kind))
    if principal.role is Role.COUNTY:
        query = query.where(Recipient.kind == "county", Recipient.key == principal.county)
    elif principal.role is Role.DEPARTMENT:
        query = query.where(Recipient.kind == "department", Recipient.key == principal.department)
    return await paginate(session, query.order_by(Recipient.kind, Recipient.key), limit, offset)


# ---------------------------------------------------------------- subscriptions and deliveries
async def get_subscription(
    session: AsyncSession, principal: Principal, subscription_id: str, *, for_update: bool = False
) -> Subscription:
    if principal.role not in (Role.COMMANDER, Role.COUNTY):
        raise access.Forbidden(f"a {principal.role} may not manage webhook subscriptions")
    row = await session.get(Subscription, subscription_id, with_for_update=for_update)
    if row is None:
        raise NotFound(f"subscription {subscription_id} not found")
    access.ensure_can_see_subscription(principal, row)
    return row


async def list_subscriptions(
    session: AsyncSession, principal: Principal, limit: int, offset: int
) -> tuple[list[Subscription], int]:
    access.subscription_county(principal, None)  # departments and viewers: 403
    query = select(Subscription)
    if principal.role is Role.COUNTY:
        query = query.where(Subscription.county == principal.county)
    return await paginate(
        session, query.order_by(Subscription.created_at, Subscription.id), limit, offset
    )


async def get_delivery(session: AsyncSession, subscription_id: str, delivery_id: str) -> Delivery:
    row = await session.get(Delivery, delivery_id)
    if row is None or row.target != subscription_id:
        raise NotFound(f"delivery {delivery_id} not found")
    return row


async def list_deliveries(
    session: AsyncSession, subscription_id: str, status: str | None, limit: int, offset: int
) -> tuple[list[Delivery], int]:
    query = select(Delivery).where(Delivery.target == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    query = query.order_by(Delivery.created_at.desc(), Delivery.id)
    return await paginate(session, query, limit, offset)


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[str]
) -> dict[str, list[DeliveryAttempt]]:
    found: dict[str, list[DeliveryAttempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(DeliveryAttempt.id)
    )
    for row in rows:
        found[row.delivery_id].append(row)
    return found


# ---------------------------------------------------------------- the feed
async def feed_window(
    session: AsyncSession, since: dt.datetime, until: dt.datetime
) -> Sequence[FeedEntry]:
    return (
        await session.scalars(
            select(FeedEntry)
            .where(FeedEntry.time >= since, FeedEntry.time < until)
            .order_by(FeedEntry.id)
        )
    ).all()


async def feed_after(
    session: AsyncSession, principal: Principal, after: int, types: Sequence[str], limit: int
) -> tuple[list[FeedEntry], int]:
    """Entries after `after` in the holder's scope, and the last id looked at (so a reader
    moves past what it may not see)."""
    query = select(FeedEntry).where(FeedEntry.id > after)
    if principal.role is Role.COUNTY:
        query = query.where(FeedEntry.county == principal.county)
    if types:
        query = query.where(or_(*(FeedEntry.type == t for t in types)))
    rows = list((await session.scalars(query.order_by(FeedEntry.id).limit(limit))).all())
    last = rows[-1].id if rows else after
    return [r for r in rows if access.sees_feed_entry(principal, r)], last


async def feed_head(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(FeedEntry.id))) or 0)
