"""The dispatcher: tries the deliveries that are due, records every attempt, and schedules the
next try on Svix's schedule.

Every delivery is a row before it is tried (the consumer wrote it with the event), so a restart
loses none that were due. A round claims due rows under a lease (`leased_until`), with SKIP
LOCKED on PostgreSQL so replicas share the work without taking the same row; a dispatcher
killed mid-send leaves its rows to be tried again once the lease ends: delivery is
at-least-once, and a webhook's `webhook-id` (the CloudEvent id) is the same on every try, so a
receiver drops what it already has. Each channel's failure stays its own: one endpoint's
timeouts hold no other delivery back.

Robots (DingTalk, WeCom) take 20 messages a minute each: what is due for one robot beyond its
remaining budget goes as one digest message, never lost, never over the limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications import service
from services.notifications.channels import Attempt, robots, webhook
from services.notifications.config import Context
from services.notifications.domain.addresses import resolves_private
from services.notifications.domain.digest import digest_message, plan_robot_sends
from services.notifications.domain.occasions import Occasion
from services.notifications.domain.retry import next_delay, should_disable
from services.notifications.domain.rules import Trigger
from services.notifications.models import Delivery, DeliveryAttempt, Recipient, Subscription
from shared.db import is_postgres, utcnow
from shared.waiting import pause_or_wake

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        ctx: Context,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
        on_attempt: Callable[[str, Attempt], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.ctx = ctx
        self.config = ctx.config
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_attempt = on_attempt
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.config.http_timeout,
                limits=httpx.Limits(max_connections=self.config.dispatch_concurrency),
                trust_env=False,
            )
        return self._client

    async def step(self) -> int:
        """One round: claim what is due, try it, record it. Returns how many were tried."""
        claimed = await self._claim()
        if not claimed:
            return 0
        hooks = [d for d in claimed if d.channel == "webhook"]
        by_robot: dict[str, list[Delivery]] = defaultdict(list)
        for d in claimed:
            if d.channel != "webhook":
                by_robot[d.target].append(d)
        gate = asyncio.Semaphore(self.config.dispatch_concurrency)

        async def guarded(job):
            async with gate:
                await job

        await asyncio.gather(
            *(guarded(self._webhook(d)) for d in hooks),
            *(guarded(self._robot(target, ds)) for target, ds in by_robot.items()),
        )
        return len(claimed)

    def wake(self) -> None:
        """Called after the consumer committed an event (which may have queued deliveries),
        so they go out without waiting a tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self._wake.clear()  # before the round: a commit during it wakes the next
                if not await self.step():
                    await pause_or_wake(stop, self._wake, self.config.dispatch_interval)
        finally:
            await self.close()

    # ------------------------------------------------------------ claiming
    async def _claim(self) -> list[Delivery]:
        now = self.clock()
        lease = now + dt.timedelta(seconds=self.config.lease_seconds)
        async with self.session_factory() as session, session.begin():
            query = (
                select(Delivery)
                .where(
                    Delivery.status == "pending",
                    Delivery.next_attempt_at <= now,
                    or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),
                )
                .order_by(Delivery.next_attempt_at, Delivery.created_at)
                .limit(self.config.dispatch_batch)
            )
            if is_postgres(session):
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.scalars(query)).all())
            for row in rows:
                row.leased_until = lease
            await session.flush()  # the lease is what keeps other dispatchers off these rows
            session.expunge_all()
        return rows

    # ------------------------------------------------------------ webhooks
    async def _webhook(self, delivery: Delivery) -> None:
        async with self.session_factory() as session:
            sub = await session.get(Subscription, delivery.target)
        if sub is None:
            await self._finish(delivery, _refused("the subscription was deleted"), final=True)
            return
        if not sub.enabled:
            await self._pause(delivery)
            return
        if not self._lease_left(delivery):
            return  # another dispatcher may hold it by now: it goes in a later round
        attempt = await self._guarded_post(sub, delivery)
        await self._finish(delivery, attempt, subscription=sub)

    async def _guarded_post(self, sub: Subscription, delivery: Delivery) -> Attempt:
        host = _host(sub.url)
        if not self.ctx.allow_private_urls and await resolves_private(host):
            return _refused(f"{host} resolves to a private address, which production refuses")
        now = self.clock()
        secrets = [sub.secret]
        if sub.previous_secret and (
            sub.previous_secret_expires_at is None or sub.previous_secret_expires_at > now
        ):
            secrets.append(sub.previous_secret)
        return await webhook.post(
            self.client,
            sub.url,
            msg_id=delivery.message_id,
            body=delivery.body.encode("utf-8"),
            secrets=secrets,
            timeout=self.config.http_timeout,
        )

    # ------------------------------------------------------------ robots
    async def _robot(self, target: str, due: Sequence[Delivery]) -> None:
        recipient_id, _, channel_id = target.partition("/")
        async with self.session_factory() as session:
            recipient = await session.get(Recipient, recipient_id)
            since = self.clock() - dt.timedelta(minutes=1)
            recent = list(  # one instant per request: a digest is one send
                (
                    await session.scalars(
                        select(func.min(DeliveryAttempt.attempted_at))
                        .where(
                            DeliveryAttempt.target == target,
                            DeliveryAttempt.attempted_at > since,
                            DeliveryAttempt.status.is_not(None),
                        )
                        .group_by(DeliveryAttempt.send_id)
                    )
                ).all()
            )
        channel = next(
            (c for c in (recipient.channels if recipient else []) if c["id"] == channel_id), None
        )
        if channel is None:
            for d in due:
                await self._finish(d, _refused("the robot channel was removed"), final=True)
            return
        plan = plan_robot_sends(recent, list(due), self.clock())
        for d in plan.singles:
            if not self._lease_left(d):
                continue
            attempt = await self._robot_send(channel, d.title or "", d.body)
            await self._finish(d, attempt)
        if plan.digest and all(self._lease_left(d) for d in plan.digest):
            title, text = digest_message([(d.title or "", d.body) for d in plan.digest])
            attempt = await self._robot_send(channel, title, text)
            send = str(uuid.uuid4())
            for d in plan.digest:
                await self._finish(d, attempt, send_id=send)
        if plan.wait_until is not None:
            held = [d for d in due if d not in plan.singles and d not in plan.digest]
            await self._hold(held, plan.wait_until)

    async def _robot_send(self, channel: dict, title: str, text: str) -> Attempt:
        host = _host(channel["url"])
        if not self.ctx.allow_private_urls and await resolves_private(host):
            return _refused(f"{host} resolves to a private address, which production refuses")
        return await robots.send(
            self.client,
            channel["type"],
            channel["url"],
            channel.get("secret"),
            title,
            text,
            timeout=self.config.http_timeout,
        )

    def _lease_left(self, delivery: Delivery) -> bool:
        """Whether this dispatcher's lease on the delivery outlasts one more try (a long round
        must not send what another dispatcher may have claimed since)."""
        if delivery.leased_until is None:
            return True
        left = (delivery.leased_until - self.clock()).total_seconds()
        return left > self.config.http_timeout

    # ------------------------------------------------------------ recording
    async def _finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        subscription: Subscription | None = None,
        final: bool = False,
        send_id: str | None = None,
    ) -> None:
        now = self.clock()
        if self.on_attempt:
            self.on_attempt(delivery.channel, attempt)
        async with self.session_factory() as session, session.begin():
            row = await session.get(Delivery, delivery.id, with_for_update=True)
            # paused meanwhile (a sibling's 410 disabled the endpoint): the try still happened
            # and is recorded; a failure then waits for the endpoint to be enabled again
            if row is None or row.status not in ("pending", "paused"):
                return
            session.add(
                DeliveryAttempt(
                    delivery_id=row.id,
                    target=row.target,
                    send_id=send_id or str(uuid.uuid4()),
                    attempted_at=now,
                    status=attempt.status,
                    ok=attempt.ok,
                    latency_ms=attempt.latency_ms,
                    error=attempt.error,
                )
            )
            row.attempts += 1
            row.last_status = attempt.status
            row.last_error = attempt.error
            row.leased_until = None
            if attempt.ok:
                row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
            elif row.status == "paused":
                pass
            else:
                delay = (
                    None
                    if final or attempt.gone
                    else next_delay(row.attempts, attempt.retry_after, self.rng)
                )
                if delay is None:
                    row.status, row.next_attempt_at = "failed", None
                else:
                    row.next_attempt_at = now + dt.timedelta(seconds=delay)
            # a success of an endpoint that was not failing changes nothing: no lock taken
            if subscription is not None and not (attempt.ok and subscription.failing_since is None):
                await self._endpoint_health(session, subscription.id, attempt, now)

    async def _endpoint_health(
        self, session: AsyncSession, subscription_id: str, attempt: Attempt, now: dt.datetime
    ) -> None:
        sub = await session.get(Subscription, subscription_id, with_for_update=True)
        if sub is None:
            return
        if attempt.ok:
            sub.failing_since = None
            return
        sub.failing_since = sub.failing_since or now
        reason = None
        if attempt.gone:
            reason = "the endpoint answered 410 Gone"
        elif should_disable(sub.failing_since, now):
            reason = f"every delivery failed since {sub.failing_since.isoformat()} (5 days)"
        if reason is None or not sub.enabled:
            return
        sub.enabled = False
        sub.disabled_reason = reason
        sub.version += 1
        sub.updated_at = now
        await session.execute(
            update(Delivery)
            .where(Delivery.target == sub.id, Delivery.status == "pending")
            .values(status="paused", leased_until=None)
        )
        # the host only: a URL's path or query may carry a token
        log.warning("webhook subscription %s (%s) disabled: %s", sub.id, _host(sub.url), reason)
        await service.notify(
            session,
            self.ctx,
            Occasion(
                trigger=Trigger.SUBSCRIPTION_DISABLED,
                key=f"{sub.id}@{now.isoformat()}",
                county=None,
                values={"url": sub.url, "reason": reason},
                link=f"/notifications/v1/subscriptions/{sub.id}",
            ),
        )

    async def _pause(self, delivery: Delivery) -> None:
        """Set the delivery aside while its endpoint is off: only if it still is (enabled again
        since this round read it, the delivery stays due)."""
        still_off = (
            select(Subscription.id)
            .where(Subscription.id == delivery.target, Subscription.enabled.is_(False))
            .exists()
        )
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.status == "pending", still_off)
                .values(status="paused", leased_until=None)
            )
            await session.execute(  # not paused: due again at once
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.status == "pending")
                .values(leased_until=None)
            )

    async def _hold(self, deliveries: Sequence[Delivery], until: dt.datetime) -> None:
        if not deliveries:
            return
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_([d.id for d in deliveries]), Delivery.status == "pending")
                .values(next_attempt_at=until, leased_until=None)
            )


def _host(url: str) -> str:
    """The host as httpx will connect to it (its IDNA encoding, not urllib's)."""
    return httpx.URL(url).raw_host.decode("ascii")


def _refused(reason: str) -> Attempt:
    return Attempt(ok=False, status=None, latency_ms=0, error=reason)
