"""A dispatcher sends nothing whose lease would run out before the try could end: a long round
(a slow endpoint before it, a robot's row of singles) must not post what another dispatcher may
have claimed since, which would send one webhook-id twice."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifications.config import NotificationsConfig
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER
from tests.support.receiver import WebhookReceiver


class JumpingClock:
    """The instant a round claims at, then (from the next reading on) `jump` later: the round
    took that long before it came to this delivery."""

    def __init__(self, start: dt.datetime, jump: dt.timedelta) -> None:
        self.start, self.jump, self.readings = start, jump, 0

    def __call__(self) -> dt.datetime:
        self.readings += 1
        return self.start if self.readings == 1 else self.start + self.jump


async def test_a_delivery_whose_lease_is_nearly_over_waits_for_a_later_round(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    answer = await notifications.client.post(
        "/v1/subscriptions", json={"url": receiver.url("/hooks")}, headers=COMMANDER
    )
    assert answer.status_code == 201, answer.text
    await notifications.upstream.register()
    await notifications.settled()
    config = notifications.runtime.config
    start = dt.datetime.now(dt.UTC)
    # the round reaches the delivery with less than one try's time left on its lease
    late = dt.timedelta(seconds=config.lease_seconds - config.http_timeout + 1)
    tried = await notifications.dispatcher(clock=JumpingClock(start, late)).step()
    assert tried == 1 and receiver.requests == []
    # once the lease is over, a round (this dispatcher's or another's) claims and sends it
    after = start + dt.timedelta(seconds=config.lease_seconds + 1)
    assert await notifications.dispatcher(clock=lambda: after).step() == 1
    assert len(receiver.requests) == 1


def test_the_lease_must_outlast_a_try() -> None:
    with pytest.raises(ValueError, match="LEASE_SECONDS must exceed"):
        NotificationsConfig(lease_seconds=10, http_timeout=10)
