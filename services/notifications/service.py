"""Use cases of the notifications service: turning occasions into messages (from the consumer's
transaction and the reminder scan), and the commands of the API (rules, recipients,
subscriptions, the inbox, redelivery and replay). Reads are in `queries`; trying deliveries is
in `delivery`."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import access, queries
from services.notifications.channels.webhook import new_secret
from services.notifications.config import Context
from services.notifications.domain import labels, reminders
from services.notifications.domain.addresses import check_webhook_url
from services.notifications.domain.occasions import (
    Occasion,
    RecipientKind,
    addresses,
    chinese_date,
    dedupe_key,
    due_text,
    robot_text,
)
from services.notifications.domain.recipients import recipient_key, robot_channels
from services.notifications.domain.rules import (
    DEFAULT_RULES,
    ROBOT_CHANNELS,
    ChannelType,
    Rule,
    RuleSetInput,
    Trigger,
    render,
    rules_for,
)
from services.notifications.models import (
    Delivery,
    FeedEntry,
    Notification,
    PoolView,
    ProblemView,
    ProjectView,
    Recipient,
    RuleSet,
    Subscription,
)
from services.notifications.schemas import (
    RecipientCreate,
    RecipientPatch,
    ReplayRequest,
    SubscriptionCreate,
    SubscriptionPatch,
)
from shared.auth import Principal
from shared.calendar import CalendarUnavailable, today_in_shanghai
from shared.db import is_postgres, utcnow
from shared.errors import PreconditionFailed, RuleViolation
from shared.events.envelope import CloudEvent
from shared.rates import percent
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

FEED_LOCK = 0x6B75616963686501  # the advisory lock that numbers the feed in commit order
SCAN_LOCK = 0x6B75616963686502  # one reminder scan at a time across replicas
TITLE_MAX = 300  # notifications.title: names upstream allow can fill a template past it


# ---------------------------------------------------------------- from events
async def record_event(
    session: AsyncSession, ctx: Context, event: CloudEvent, units: Sequence[str]
) -> None:
    """Add the event to the feed and queue it for every webhook subscription it matches."""
    now = utcnow()
    if is_postgres(session):
        # held to commit: feed numbers become visible in the order they were taken
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEED_LOCK})
    body = event.to_json().decode("utf-8")
    session.add(
        FeedEntry(
            event_id=event.id,
            type=event.type,
            county=event.county,
            units=list(units),
            time=event.time,
            event=body,
            created_at=now,
        )
    )
    for sub in await queries.matching_subscriptions(session, event.type, event.county):
        session.add(_webhook_delivery(sub.id, event.id, event.type, body, now))


def _webhook_delivery(
    subscription_id: str,
    event_id: str,
    event_type: str,
    body: str,
    now: dt.datetime,
    generation: int = 0,
) -> Delivery:
    return Delivery(
        id=str(uuid.uuid4()),
        channel="webhook",
        target=subscription_id,
        message_id=event_id,
        event_type=event_type,
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        generation=generation,
    )


async def rules_in_force(
    session: AsyncSession, parsed: dict[int, list[Rule]] | None = None
) -> tuple[int, list[Rule]]:
    """The highest version of the rules, or the default set (version 0) before any was set.
    With `parsed` (a Context's), a version's rules are read and validated once."""
    version = await queries.rules_version(session, per_transaction=parsed is not None)
    if version is None:
        return 0, list(DEFAULT_RULES)
    if parsed is not None and version in parsed:
        return version, parsed[version]
    row = await session.get(RuleSet, version)
    assert row is not None
    rules = [Rule.model_validate(r) for r in row.rules]
    if parsed is not None:
        parsed.clear()
        parsed[version] = rules
    return version, rules


async def notify(
    session: AsyncSession, ctx: Context, occasion: Occasion, rules: Sequence[Rule] | None = None
) -> int:
    """Write the messages the rules in force give for `occasion`: one notification per rule and
    recipient (none twice: the dedupe key), and a robot delivery for each robot channel the
    rule names that the recipient has. Returns how many notifications were new."""
    if rules is None:
        rules = rules_for((await rules_in_force(session, ctx.rules))[1], occasion.trigger)
    now, written = utcnow(), 0
    values = {**occasion.values, "link": occasion.link}
    for rule in rules:
        for address in addresses(occasion, rule.audience, ctx.region.codes):
            key = dedupe_key(rule.id, occasion, address)
            if await session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
                continue
            kind, who = address
            note = Notification(
                id=str(uuid.uuid4()),
                dedupe_key=key,
                recipient_kind=str(kind),
                recipient_key=who,
                rule_id=rule.id,
                trigger=str(rule.trigger),
                event_id=occasion.event_id,
                county=occasion.county,
                title=_clip(render(rule.title, values), TITLE_MAX),
                body=render(rule.body, values),
                link=occasion.link,
                in_inbox=ChannelType.INBOX in rule.channels,
                created_at=now,
            )
            session.add(note)
            written += 1
            robots = [c for c in rule.channels if c in ROBOT_CHANNELS]
            if robots:
                await _queue_robots(session, ctx, note, address, robots, now)
    return written


async def _queue_robots(
    session: AsyncSession,
    ctx: Context,
    note: Notification,
    address: tuple[RecipientKind, str],
    channels: Sequence[ChannelType],
    now: dt.datetime,
) -> None:
    recipient = await queries.recipient_in_transaction(session, address)
    if recipient is None:
        return
    for channel in recipient.channels:
        if channel["type"] not in channels:
            continue
        session.add(
            Delivery(
                id=str(uuid.uuid4()),
                channel=channel["type"],
                target=f"{recipient.id}/{channel['id']}",
                message_id=note.id,
                event_type=note.trigger,
                title=note.title,
                body=robot_text(note.body, note.link, ctx.config.public_url),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def problem_occasion(
    session: AsyncSession,
    ctx: Context,
    problem: ProblemView,
    trigger: Trigger,
    key: str,
    event_id: str | None,
    extra: dict[str, Any] | None = None,
    project: ProjectView | None = None,  # the problem's, read here when not given
) -> Occasion:
    project = project or await session.get(ProjectView, problem.project_id)
    leader = project.leader if project else None
    return Occasion(
        trigger=trigger,
        key=key,
        county=problem.county,
        values={
            "project": project.name if project else problem.project_id,
            "county": ctx.county_name(problem.county),
            "unit": problem.unit,
            "co_units": list(problem.co_units or []),
            "deadline": chinese_date(problem.deadline),
            "plan_due": chinese_date(problem.plan_due),
            "due": due_text(problem.deadline, problem.plan_due),
            "title": problem.title,
            "leader": leader,
            **(extra or {}),
        },
        link=f"/issues/v1/issues/{problem.id}",
        event_id=event_id,
        unit=problem.unit,
        co_units=tuple(problem.co_units or ()),
        leader=leader,
    )


async def pool_passed(
    session: AsyncSession, ctx: Context, pool: PoolView, before: Decimal, event_id: str
) -> int:
    """Tell the rules' audience when an allocation takes a pool past a rule's threshold."""
    if pool.amount <= 0:
        return 0
    written = 0
    _, rules = await rules_in_force(session, ctx.rules)
    for rule in rules_for(rules, Trigger.POOL_NEARLY_FULL):
        threshold = rule.threshold or Decimal(100)
        if not before * 100 < threshold * pool.amount <= pool.allocated * 100:
            continue
        occasion = Occasion(
            trigger=Trigger.POOL_NEARLY_FULL,
            key=f"{pool.id}@{event_id}",
            county=None,
            values={
                "factor": labels.factor(pool.factor, pool.pollutant),
                "year": pool.year,
                "utilisation": percent(pool.allocated, pool.amount),
                "threshold": threshold,
                "amount": pool.amount.normalize(),
                "allocated": pool.allocated.normalize(),
                "unit_of_measure": pool.unit,
            },
            link=f"/factors/v1/pools/{pool.id}",
            event_id=event_id,
        )
        written += await notify(session, ctx, occasion, [rule])
    return written


# ---------------------------------------------------------------- the reminder scan
async def scan_reminders(uow: UnitOfWork, ctx: Context, now: dt.datetime) -> int:
    """Blue deadlines and missing plans as of `now` (Asia/Shanghai's date), each told once:
    a rerun, or a second replica scanning at the same time, adds nothing."""
    today = today_in_shanghai(now)
    try:
        async with uow:
            session = uow.session
            if is_postgres(session):
                got = await session.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SCAN_LOCK}
                )
                if not got:
                    return 0  # another replica is scanning
            calendar = await queries.load_calendar(session)
            _, rules = await rules_in_force(session, ctx.rules)
            due_rules = rules_for(rules, Trigger.ISSUE_DUE_SOON)
            plan_rules = rules_for(rules, Trigger.ISSUE_PLAN_MISSING)
            written = 0
            for problem in await queries.working_problems(session):
                for rule in due_rules:
                    try:
                        due = reminders.due_soon(
                            calendar,
                            problem.status,
                            problem.deadline,
                            today,
                            rule.working_days or 1,
                        )
                    except CalendarUnavailable as exc:
                        log.warning("reminder of %s skipped: %s", problem.id, exc)
                        continue
                    if due:
                        occasion = await problem_occasion(
                            session,
                            ctx,
                            problem,
                            Trigger.ISSUE_DUE_SOON,
                            f"{problem.id}@{problem.deadline}",
                            None,
                            {"working_days": rule.working_days},
                        )
                        written += await notify(session, ctx, occasion, [rule])
                if plan_rules and reminders.plan_missing(
                    problem.status, problem.complexity, problem.plan_due, today
                ):
                    occasion = await problem_occasion(
                        session,
                        ctx,
                        problem,
                        Trigger.ISSUE_PLAN_MISSING,
                        f"{problem.id}@plan{problem.plan_due}",
                        None,
                    )
                    written += await notify(session, ctx, occasion, plan_rules)
        return written
    except IntegrityError:
        log.info("reminder scan raced another replica; its messages stand")
        return 0


# ---------------------------------------------------------------- rules
async def replace_rules(
    uow: UnitOfWork, principal: Principal, expected: int, data: RuleSetInput
) -> RuleSet:
    access.ensure_commander(principal, "replaces the rules")
    try:
        async with uow:
            version, _ = await rules_in_force(uow.session)
            if version != expected:
                raise PreconditionFailed(
                    f"the rules are at version {version}, not {expected}: read them again"
                )
            row = RuleSet(
                version=version + 1,
                rules=[r.model_dump(mode="json") for r in data.rules],
                created_by=principal.actor,
                created_at=utcnow(),
            )
            uow.session.add(row)
    except IntegrityError:  # a concurrent replacement took version + 1 first
        raise PreconditionFailed(f"the rules are past version {expected}") from None
    return row


# ---------------------------------------------------------------- recipients
async def create_recipient(
    uow: UnitOfWork, ctx: Context, principal: Principal, data: RecipientCreate
) -> Recipient:
    key = recipient_key(ctx.region, data.kind, data.key)
    access.ensure_can_manage_recipient(principal, data.kind, key)
    now = utcnow()
    taken = RuleViolation(
        f"{data.kind} {key} already has a recipient: change it with PATCH",
        errors=[{"field": "key", "message": "already exists"}],
    )
    try:
        async with uow:
            if await queries.recipient_at(uow.session, (data.kind, key)) is not None:
                raise taken
            row = _new_recipient(ctx, data, key, now)
            uow.session.add(row)
    except IntegrityError:  # a concurrent create of the same one won the unique index
        raise taken from None
    return row


def _new_recipient(ctx: Context, data: RecipientCreate, key: str, now: dt.datetime) -> Recipient:
    return Recipient(
        id=str(uuid.uuid4()),
        kind=str(data.kind),
        key=key,
        name=data.name,
        channels=robot_channels(data.channels, allow_private=ctx.allow_private_urls),
        version=1,
        created_at=now,
        updated_at=now,
    )


async def update_recipient(
    uow: UnitOfWork,
    ctx: Context,
    principal: Principal,
    recipient_id: str,
    expected: int,
    data: RecipientPatch,
) -> Recipient:
    async with uow:
        row = await queries.get_recipient(uow.session, principal, recipient_id, for_update=True)
        access.ensure_can_manage_recipient(principal, RecipientKind(row.kind), row.key)
        if row.version != expected:
            raise PreconditionFailed(f"recipient {row.id} is at version {row.version}")
        if data.name is not None:
            row.name = data.name
        if data.channels is not None:
            row.channels = robot_channels(
                data.channels, allow_private=ctx.allow_private_urls, kept=row.channels
            )
        row.version += 1
        row.updated_at = utcnow()
    return row


# ---------------------------------------------------------------- subscriptions
async def create_subscription(
    uow: UnitOfWork, ctx: Context, principal: Principal, data: SubscriptionCreate
) -> Subscription:
    county = access.subscription_county(principal, data.county)
    if county is not None:
        county = ctx.region.resolve(county).code
    check_webhook_url(data.url, allow_private=ctx.allow_private_urls)
    now = utcnow()
    async with uow:
        row = Subscription(
            id=str(uuid.uuid4()),
            url=data.url,
            description=data.description,
            event_types=sorted(set(data.event_types)),
            county=county,
            secret=new_secret(),
            enabled=True,
            created_by=principal.actor,
            created_at=now,
            updated_at=now,
            version=1,
        )
        uow.session.add(row)
    return row


async def update_subscription(
    uow: UnitOfWork,
    ctx: Context,
    principal: Principal,
    subscription_id: str,
    expected: int,
    data: SubscriptionPatch,
) -> Subscription:
    now = utcnow()
    async with uow:
        row = await queries.get_subscription(
            uow.session, principal, subscription_id, for_update=True
        )
        if row.version != expected:
            raise PreconditionFailed(f"subscription {row.id} is at version {row.version}")
        fields = data.model_fields_set
        if "url" in fields and data.url is not None:
            check_webhook_url(data.url, allow_private=ctx.allow_private_urls)
            row.url = data.url
        if "description" in fields:
            row.description = data.description
        if "event_types" in fields and data.event_types is not None:
            row.event_types = sorted(set(data.event_types))
        if "county" in fields:
            county = access.subscription_county(principal, data.county)
            row.county = ctx.region.resolve(county).code if county else None
        if "enabled" in fields and data.enabled is not None and data.enabled != row.enabled:
            row.enabled = data.enabled
            row.disabled_reason = None if data.enabled else f"disabled by {principal.actor}"
            row.failing_since = None
            if data.enabled:  # what waited while it was off goes now
                await uow.session.execute(
                    update(Delivery)
                    .where(Delivery.target == row.id, Delivery.status == "paused")
                    .values(status="pending", next_attempt_at=now)
                )
        if data.rotate_secret:
            row.previous_secret = row.secret
            row.previous_secret_expires_at = now + dt.timedelta(
                hours=ctx.config.rotation_overlap_hours
            )
            row.secret = new_secret()
        row.version += 1
        row.updated_at = now
    return row


async def delete_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str) -> None:
    async with uow:
        row = await queries.get_subscription(
            uow.session, principal, subscription_id, for_update=True
        )
        await uow.session.execute(
            update(Delivery)
            .where(Delivery.target == row.id, Delivery.status.in_(("pending", "paused")))
            .values(
                status="failed", last_error="the subscription was deleted", next_attempt_at=None
            )
        )
        await uow.session.delete(row)


async def redeliver(
    uow: UnitOfWork, principal: Principal, subscription_id: str, delivery_id: str
) -> Delivery:
    """Send a delivery's message again, as a new delivery with the same webhook-id."""
    now = utcnow()
    async with uow:
        # the row lock serialises redeliveries and replays: each takes the next generation
        sub = await queries.get_subscription(
            uow.session, principal, subscription_id, for_update=True
        )
        old = await queries.get_delivery(uow.session, sub.id, delivery_id)
        generation = await _next_generation(uow.session, sub.id, old.message_id)
        new = _webhook_delivery(sub.id, old.message_id, old.event_type, old.body, now, generation)
        if not sub.enabled:
            new.status = "paused"
        uow.session.add(new)
    return new


async def replay(
    uow: UnitOfWork, principal: Principal, subscription_id: str, data: ReplayRequest
) -> int:
    """Queue again every kept event of the window that the subscription's filter matches."""
    now, queued = utcnow(), 0
    async with uow:
        sub = await queries.get_subscription(
            uow.session, principal, subscription_id, for_update=True
        )
        for entry in await queries.feed_window(uow.session, data.since, data.until):
            if not queries.subscription_matches(sub, entry.type, entry.county):
                continue
            generation = await _next_generation(uow.session, sub.id, entry.event_id)
            delivery = _webhook_delivery(
                sub.id, entry.event_id, entry.type, entry.event, now, generation
            )
            if not sub.enabled:
                delivery.status = "paused"
            uow.session.add(delivery)
            queued += 1
    return queued


async def _next_generation(session: AsyncSession, target: str, message_id: str) -> int:
    found = await session.scalar(
        select(func.max(Delivery.generation)).where(
            Delivery.target == target, Delivery.message_id == message_id
        )
    )
    return 0 if found is None else found + 1


# ---------------------------------------------------------------- the inbox
async def mark_read(uow: UnitOfWork, principal: Principal, notification_id: str) -> Notification:
    async with uow:
        note = await queries.get_notification(uow.session, principal, notification_id)
        if note.read_at is None:
            note.read_at = utcnow()
    return note


async def mark_all_read(uow: UnitOfWork, principal: Principal) -> int:
    kind, key = access.inbox_of(principal)
    async with uow:
        result = await uow.session.execute(
            update(Notification)
            .where(
                Notification.recipient_kind == str(kind),
                Notification.recipient_key == key,
                Notification.in_inbox.is_(True),
                Notification.read_at.is_(None),
            )
            .values(read_at=utcnow())
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def trim_feed(uow: UnitOfWork, ctx: Context, now: dt.datetime) -> int:
    """Forget feed entries older than the retention (the stream and replays reach no further)."""
    cutoff = now - dt.timedelta(days=ctx.config.feed_retention_days)
    async with uow:
        result = await uow.session.execute(delete(FeedEntry).where(FeedEntry.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
