"""Setting deliveries aside while an endpoint is off, without losing track:

- two deliveries to one endpoint in one round: one answered 410 switches the endpoint off while
  the other is in flight; that other try, answered 200, is recorded as delivered (not left
  paused with no attempt, to be sent again once the endpoint is back);
- a round that read the endpoint as off does not park a delivery if it was enabled meanwhile."""

from __future__ import annotations

import datetime as dt

from services.notifications.models import Delivery, Subscription
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER
from tests.support.receiver import Reply, WebhookReceiver


async def _subscribe(notifications: NotificationsApp, url: str) -> str:
    made = await notifications.client.post(
        "/v1/subscriptions",
        json={"url": url, "event_types": ["kuaiche.issue.reported.v1"]},
        headers=COMMANDER,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _deliveries(notifications: NotificationsApp, sid: str) -> list[dict]:
    page = await notifications.client.get(f"/v1/subscriptions/{sid}/deliveries", headers=COMMANDER)
    return page.json()["items"]


async def test_a_try_in_flight_when_a_sibling_disables_the_endpoint_is_recorded(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sid = await _subscribe(notifications, receiver.url("/hooks"))
    up = notifications.upstream
    pid = await up.register()
    for day in (21, 22):
        await up.report_problem(pid, dt.date(2020, 9, day))
    await notifications.settled()
    receiver.answer(410, Reply(200, delay=0.5))  # the first to arrive: 410; the other: 200 later
    assert await notifications.dispatcher().step() == 2
    statuses = sorted(
        (d["status"], d["last_status"]) for d in await _deliveries(notifications, sid)
    )
    assert statuses == [("delivered", 200), ("failed", 410)]
    shown = (await notifications.client.get(f"/v1/subscriptions/{sid}", headers=COMMANDER)).json()
    assert shown["enabled"] is False


async def test_a_delivery_is_not_parked_if_its_endpoint_was_enabled_meanwhile(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sid = await _subscribe(notifications, receiver.url("/hooks"))
    up = notifications.upstream
    await up.report_problem(await up.register(), dt.date(2020, 9, 21))
    await notifications.settled()
    dispatcher = notifications.dispatcher()
    async with notifications.runtime.session_factory() as session, session.begin():
        sub = await session.get(Subscription, sid)
        assert sub is not None
        sub.enabled = False
    (claimed,) = await dispatcher._claim()
    async with notifications.runtime.session_factory() as session, session.begin():
        sub = await session.get(Subscription, sid)
        assert sub is not None
        sub.enabled = True  # re-enabled after the round read it as off
    await dispatcher._pause(claimed)
    async with notifications.runtime.session_factory() as session:
        row = await session.get(Delivery, claimed.id)
        assert row is not None
        assert (row.status, row.leased_until) == ("pending", None)  # due again at once
    assert await dispatcher.step() == 1
    assert len(receiver.requests) == 1
