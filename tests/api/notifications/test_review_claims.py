"""Review: a claim's lease is written to the database, so a second dispatcher (another replica)
claiming at the same instant does not take the rows the first is still sending."""

from __future__ import annotations

import datetime as dt

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER
from tests.support.receiver import WebhookReceiver


async def test_a_second_dispatcher_does_not_claim_what_the_first_holds(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    answer = await notifications.client.post(
        "/v1/subscriptions", json={"url": receiver.url("/hooks")}, headers=COMMANDER
    )
    assert answer.status_code == 201, answer.text
    await notifications.upstream.register()
    await notifications.settled()
    now = dt.datetime.now(dt.UTC)
    first = await notifications.dispatcher(clock=lambda: now)._claim()
    assert len(first) == 1
    # the first is still sending: another replica's round finds nothing to take
    assert await notifications.dispatcher(clock=lambda: now)._claim() == []
    later = now + dt.timedelta(seconds=notifications.runtime.config.lease_seconds + 1)
    assert len(await notifications.dispatcher(clock=lambda: later)._claim()) == 1
