"""Webhook delivery through the whole path: upstream events → the consumer queues a delivery
per matching subscription → the dispatcher (driven by a fake clock) posts to a real local
receiver, which checks the Standard Webhooks signature on its own."""

from __future__ import annotations

import datetime as dt
import json
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.notifications.channels.webhook import new_secret
from services.notifications.delivery import Dispatcher
from services.notifications.domain.retry import DISABLE_AFTER, JITTER, SCHEDULE
from shared.db import utcnow
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER
from tests.support.receiver import (
    FakeClock,
    Reply,
    WebhookReceiver,
    signatures,
)
from tests.support.upstream import BINCHENG, ZHANHUA

ASSIGNED = "kuaiche.issue.assigned.v1"
REPORTED = "kuaiche.issue.reported.v1"
CONTENT_TYPE = "application/cloudevents+json"


# ---------------------------------------------------------------- helpers
async def subscribe(notifications: NotificationsApp, url: str, **fields: Any) -> dict[str, Any]:
    answer = await notifications.client.post(
        "/v1/subscriptions", json={"url": url, **fields}, headers=COMMANDER
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["secret"].startswith("whsec_")
    return created


async def subscription(notifications: NotificationsApp, sub_id: str) -> tuple[dict, str]:
    answer = await notifications.client.get(f"/v1/subscriptions/{sub_id}", headers=COMMANDER)
    assert answer.status_code == 200, answer.text
    assert "secret" not in answer.json()  # shown once, never read back
    return answer.json(), answer.headers["etag"]


async def patch(notifications: NotificationsApp, sub_id: str, **fields: Any) -> dict[str, Any]:
    _, etag = await subscription(notifications, sub_id)
    answer = await notifications.client.patch(
        f"/v1/subscriptions/{sub_id}", json=fields, headers=COMMANDER | {"If-Match": etag}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def deliveries(notifications: NotificationsApp, sub_id: str, **params: Any) -> dict:
    answer = await notifications.client.get(
        f"/v1/subscriptions/{sub_id}/deliveries", params=params, headers=COMMANDER
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def only_delivery(notifications: NotificationsApp, sub_id: str) -> dict[str, Any]:
    page = await deliveries(notifications, sub_id)
    assert page["total"] == 1, page
    return page["items"][0]


async def assigned(notifications: NotificationsApp, county: str = BINCHENG) -> dict[str, Any]:
    """A problem reported and assigned in `county`, applied; returns the assigned CloudEvent."""
    up = notifications.upstream
    pid = await up.register(county)
    qid = await up.report_problem(pid, dt.date(2020, 9, 21))
    await up.assign(qid, dt.date(2020, 9, 21), dt.date(2020, 9, 28))
    await notifications.settled()
    event = json.loads(up.sent[-1].value)
    assert event["type"] == ASSIGNED
    return event


@asynccontextmanager
async def dispatching(
    notifications: NotificationsApp, clock: FakeClock
) -> AsyncIterator[Dispatcher]:
    dispatcher = notifications.dispatcher(clock=clock, rng=random.Random(1))
    try:
        yield dispatcher
    finally:
        await dispatcher.close()


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_until(delivery: dict[str, Any], clock: FakeClock) -> float:
    return (at(delivery["next_attempt_at"]) - clock()).total_seconds()


async def commander_notices(notifications: NotificationsApp) -> list[dict[str, Any]]:
    answer = await notifications.client.get("/v1/notifications", headers=COMMANDER)
    assert answer.status_code == 200, answer.text
    return [n for n in answer.json()["items"] if n["rule_id"] == "subscription-disabled"]


# ---------------------------------------------------------------- 1. the signed CloudEvent
async def test_a_subscriber_gets_the_cloud_event_signed_with_its_secret(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(
        notifications, receiver.url("/assigned"), event_types=[ASSIGNED], county=BINCHENG
    )
    everything = await subscribe(notifications, receiver.url("/all"))
    await assigned(notifications, ZHANHUA)  # another county: not for the filtered one
    event = await assigned(notifications, BINCHENG)

    # only the matching event is queued (the registrations, reports, Zhanhua's are not)
    assert (await deliveries(notifications, sub["id"]))["total"] == 1
    assert (await deliveries(notifications, everything["id"]))["total"] == 6

    async with dispatching(notifications, FakeClock(utcnow())) as dispatcher:
        assert await dispatcher.step() == 7
    (request,) = receiver.to("/assigned")
    assert request.json() == event  # the body is the CloudEvent
    assert request.json()["data"]["unit"] == "市自然资源和规划局"
    assert request.webhook_id == event["id"]
    assert request.headers["webhook-timestamp"].isdigit()
    assert request.headers["content-type"] == CONTENT_TYPE
    assert receiver.verify(request, sub["secret"])
    assert not receiver.verify(request, everything["secret"])
    assert len(receiver.to("/all")) == 6
    assert all(receiver.verify(r, everything["secret"]) for r in receiver.to("/all"))

    delivery = await only_delivery(notifications, sub["id"])
    assert delivery["status"] == "delivered"
    assert delivery["webhook_id"] == event["id"]
    assert delivery["event_type"] == ASSIGNED
    assert [a["status"] for a in delivery["attempt_log"]] == [200]


async def test_a_changed_filter_applies_to_the_events_after_it(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[REPORTED])
    await assigned(notifications)
    await patch(notifications, sub["id"], event_types=[ASSIGNED], county=ZHANHUA)
    await assigned(notifications, BINCHENG)
    event = await assigned(notifications, ZHANHUA)
    page = await deliveries(notifications, sub["id"])
    assert sorted(d["event_type"] for d in page["items"]) == [ASSIGNED, REPORTED]
    assert page["items"][0]["webhook_id"] == event["id"]  # newest first


# ---------------------------------------------------------------- 2. retries
async def test_a_receiver_failing_twice_gets_the_event_on_the_third_try_with_the_same_id(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    event = await assigned(notifications)
    receiver.answer(Reply(500, body="upstream down"), Reply(500, body="upstream down"))
    clock = FakeClock(utcnow())
    async with dispatching(notifications, clock) as dispatcher:
        assert await dispatcher.step() == 1
        delivery = await only_delivery(notifications, sub["id"])
        assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
            "pending",
            1,
            500,
        )
        assert seconds_until(delivery, clock) == 0  # the first retry is at once (Svix)

        assert await dispatcher.step() == 1
        delivery = await only_delivery(notifications, sub["id"])
        assert delivery["attempts"] == 2
        assert "HTTP 500" in delivery["last_error"] and "upstream down" in delivery["last_error"]
        wait = seconds_until(delivery, clock)
        assert SCHEDULE[1] * JITTER[0] <= wait <= SCHEDULE[1] * JITTER[1]
        assert await dispatcher.step() == 0  # not yet
        clock.advance(seconds=wait - 0.5)
        assert await dispatcher.step() == 0
        clock.advance(seconds=0.5)
        assert await dispatcher.step() == 1

    requests = receiver.requests
    assert len(requests) == 3
    assert {r.webhook_id for r in requests} == {event["id"]}  # stable across retries
    assert all(receiver.verify(r, sub["secret"]) for r in requests)
    assert all(r.json() == event for r in requests)

    delivery = await only_delivery(notifications, sub["id"])
    assert delivery["status"] == "delivered"
    assert delivery["delivered_at"] is not None and delivery["next_attempt_at"] is None
    log = delivery["attempt_log"]
    assert [a["status"] for a in log] == [500, 500, 200]
    assert [a["ok"] for a in log] == [False, False, True]
    assert all(isinstance(a["latency_ms"], int) and a["latency_ms"] >= 0 for a in log)
    assert ["upstream down" in (a["error"] or "") for a in log] == [True, True, False]
    assert [at(a["attempted_at"]) for a in log] == sorted(at(a["attempted_at"]) for a in log)


async def test_retry_after_is_honoured(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    await assigned(notifications)
    receiver.answer(Reply(429, retry_after="120"))
    clock = FakeClock(utcnow())
    async with dispatching(notifications, clock) as dispatcher:
        assert await dispatcher.step() == 1
        delivery = await only_delivery(notifications, sub["id"])
        assert delivery["last_status"] == 429
        assert seconds_until(delivery, clock) >= 120  # not the schedule's "at once"
        clock.advance(seconds=119)
        assert await dispatcher.step() == 0
        clock.advance(seconds=1)
        assert await dispatcher.step() == 1
    assert (await only_delivery(notifications, sub["id"]))["status"] == "delivered"


# ---------------------------------------------------------------- 3. disabling
async def test_410_disables_the_subscription_and_tells_the_commander(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    await assigned(notifications)
    receiver.answer(410)
    clock = FakeClock(utcnow())
    async with dispatching(notifications, clock) as dispatcher:
        assert await dispatcher.step() == 1
        delivery = await only_delivery(notifications, sub["id"])
        assert (delivery["status"], delivery["last_status"]) == ("failed", 410)  # no retry

        shown, _ = await subscription(notifications, sub["id"])
        assert shown["enabled"] is False
        assert "410" in shown["disabled_reason"]
        (notice,) = await commander_notices(notifications)
        assert receiver.url() in notice["title"] and "410" in notice["body"]

        # while it is off, new events wait (paused) instead of being sent
        await assigned(notifications)
        clock.at(utcnow())
        assert await dispatcher.step() == 1
        paused = await deliveries(notifications, sub["id"], status="paused")
        assert paused["total"] == 1
        assert len(receiver.requests) == 1


async def test_an_endpoint_failing_for_five_days_is_disabled_and_resumes_when_enabled(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    first = await assigned(notifications)
    receiver.default = Reply(503)
    clock = FakeClock(utcnow())
    started = clock()
    async with dispatching(notifications, clock) as dispatcher:
        # the whole schedule: 1 try and 8 retries, each when it is due
        for _ in range(1 + len(SCHEDULE)):
            assert await dispatcher.step() == 1
            delivery = await only_delivery(notifications, sub["id"])
            if delivery["status"] == "pending":
                clock.at(at(delivery["next_attempt_at"]))
        assert delivery["status"] == "failed"  # the schedule is used up
        assert delivery["attempts"] == 1 + len(SCHEDULE)
        assert clock() - started < DISABLE_AFTER
        shown, _ = await subscription(notifications, sub["id"])
        assert shown["enabled"] is True  # failing, but not for 5 days yet
        assert at(shown["failing_since"]) == started
        assert await commander_notices(notifications) == []

        clock.at(started + DISABLE_AFTER)
        second = await assigned(notifications)
        assert await dispatcher.step() == 1
        shown, _ = await subscription(notifications, sub["id"])
        assert shown["enabled"] is False
        assert "5 days" in shown["disabled_reason"]
        (notice,) = await commander_notices(notifications)
        assert notice["link"] == f"/notifications/v1/subscriptions/{sub['id']}"

        third = await assigned(notifications)  # comes while it is off
        await dispatcher.step()
        assert (await deliveries(notifications, sub["id"], status="paused"))["total"] == 2
        tried = len(receiver.requests)
        assert tried == 2 + len(SCHEDULE)  # the paused ones were not sent

        # the receiver is mended; switching it on again sends what waited
        receiver.default = Reply(200)
        unconditional = await notifications.client.patch(
            f"/v1/subscriptions/{sub['id']}", json={"enabled": True}, headers=COMMANDER
        )
        assert unconditional.status_code == 428
        enabled = await patch(notifications, sub["id"], enabled=True)
        assert enabled["enabled"] is True and enabled["disabled_reason"] is None
        assert enabled["failing_since"] is None
        assert (await deliveries(notifications, sub["id"], status="pending"))["total"] == 2
        assert await dispatcher.step() == 2

    page = await deliveries(notifications, sub["id"])
    status = {d["webhook_id"]: d["status"] for d in page["items"]}
    assert status == {first["id"]: "failed", second["id"]: "delivered", third["id"]: "delivered"}
    assert {r.webhook_id for r in receiver.requests[tried:]} == {second["id"], third["id"]}
    assert len(await commander_notices(notifications)) == 1


# ---------------------------------------------------------------- 4. redelivery and replay
async def test_a_redelivery_is_a_new_delivery_with_the_same_webhook_id(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    event = await assigned(notifications)
    clock = FakeClock(utcnow())
    async with dispatching(notifications, clock) as dispatcher:
        assert await dispatcher.step() == 1
        old = await only_delivery(notifications, sub["id"])
        base = f"/v1/subscriptions/{sub['id']}/deliveries"
        answer = await notifications.client.post(f"{base}/{old['id']}/redeliver", headers=COMMANDER)
        assert answer.status_code == 201, answer.text
        new = answer.json()
        assert new["id"] != old["id"]
        assert new["webhook_id"] == old["webhook_id"] == event["id"]
        assert (new["status"], new["attempts"]) == ("pending", 0)
        assert answer.headers["location"] == f"{base}/{new['id']}"
        missing = await notifications.client.post(
            f"{base}/{new['id'][:-4]}0000/redeliver", headers=COMMANDER
        )
        assert missing.status_code == 404
        clock.at(utcnow())  # the new delivery is due
        assert await dispatcher.step() == 1
    first, again = receiver.requests
    assert first.webhook_id == again.webhook_id == event["id"]
    assert first.body == again.body
    assert receiver.verify(again, sub["secret"])
    page = await deliveries(notifications, sub["id"])
    assert page["total"] == 2
    assert {d["id"]: d["status"] for d in page["items"]} == {
        old["id"]: "delivered",
        new["id"]: "delivered",
    }


async def test_a_replay_sends_a_windows_events_again_with_their_ids(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[REPORTED])
    up = notifications.upstream
    pid = await up.register()
    for _ in range(4):
        await up.report_problem(pid, dt.date(2020, 9, 21))
    await notifications.settled()
    reports = [json.loads(m.value) for m in up.sent[1:]]
    times = [at(e["time"]) for e in reports]
    assert times == sorted(set(times))  # distinct instants: the window can cut between them
    clock = FakeClock(utcnow())
    async with dispatching(notifications, clock) as dispatcher:
        assert await dispatcher.step() == 4

        window = {
            "since": times[1].isoformat(),
            "until": (times[2] + dt.timedelta(microseconds=1)).isoformat(),
        }
        answer = await notifications.client.post(
            f"/v1/subscriptions/{sub['id']}/replay", json=window, headers=COMMANDER
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"queued": 2}  # [since, until): the 2nd and the 3rd

        clock.at(utcnow())  # the new delivery is due
        assert await dispatcher.step() == 2
    replayed = receiver.requests[4:]
    assert sorted(r.webhook_id for r in replayed) == sorted(e["id"] for e in reports[1:3])
    by_id = {e["id"]: e for e in reports}
    for request in replayed:
        assert request.json() == by_id[request.webhook_id]
        assert receiver.verify(request, sub["secret"])
    assert (await deliveries(notifications, sub["id"]))["total"] == 6

    long_ago = {"since": "2020-01-01T00:00:00+08:00", "until": "2020-01-02T00:00:00+08:00"}
    answer = await notifications.client.post(
        f"/v1/subscriptions/{sub['id']}/replay", json=long_ago, headers=COMMANDER
    )
    assert answer.json() == {"queued": 0}


# ---------------------------------------------------------------- 5. secret rotation
async def test_during_a_rotation_both_secrets_sign_and_each_alone_verifies(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    rotated = await patch(notifications, sub["id"], rotate_secret=True)
    old_secret, new_secret_ = sub["secret"], rotated["secret"]
    assert new_secret_.startswith("whsec_") and new_secret_ != old_secret
    assert (await patch(notifications, sub["id"], description="账本"))["secret"] is None

    await assigned(notifications)
    clock = FakeClock(utcnow())
    async with dispatching(notifications, clock) as dispatcher:
        assert await dispatcher.step() == 1
        (during,) = receiver.requests
        entries = signatures(during.headers["webhook-signature"])
        assert [version for version, _ in entries] == ["v1", "v1"]
        assert receiver.verify(during, new_secret_)
        assert receiver.verify(during, old_secret)
        assert not receiver.verify(during, new_secret())

        # once the overlap is over, only the new secret signs
        hours = notifications.ctx.config.rotation_overlap_hours
        await assigned(notifications)
        clock.at(utcnow() + dt.timedelta(hours=hours, minutes=1))
        assert await dispatcher.step() == 1
    after = receiver.requests[1]
    assert len(signatures(after.headers["webhook-signature"])) == 1
    assert receiver.verify(after, new_secret_)
    assert not receiver.verify(after, old_secret)


# ---------------------------------------------------------------- 6. channels stay apart
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_failing_endpoint_never_holds_back_a_healthy_one(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    dead = await subscribe(
        notifications, f"http://127.0.0.1:{closed_port()}/hooks", event_types=[ASSIGNED]
    )
    healthy = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    event = await assigned(notifications)
    async with dispatching(notifications, FakeClock(utcnow())) as dispatcher:
        assert await dispatcher.step() == 2  # both tried in the same round
    (request,) = receiver.requests
    assert request.webhook_id == event["id"]
    assert (await only_delivery(notifications, healthy["id"]))["status"] == "delivered"
    failing = await only_delivery(notifications, dead["id"])
    assert failing["status"] == "pending"  # to be retried
    (attempt,) = failing["attempt_log"]
    assert attempt["status"] is None and attempt["ok"] is False
    assert attempt["error"]


# ---------------------------------------------------------------- 7. written before tried
async def test_every_delivery_is_written_before_it_is_tried_and_a_duplicate_adds_none(
    notifications: NotificationsApp, receiver: WebhookReceiver
) -> None:
    sub = await subscribe(notifications, receiver.url(), event_types=[ASSIGNED])
    event = await assigned(notifications)
    delivery = await only_delivery(notifications, sub["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 0 and delivery["attempt_log"] == []
    assert delivery["webhook_id"] == event["id"]
    assert receiver.requests == []

    up = notifications.upstream
    await up.redeliver(len(up.sent) - 1)  # the relay publishes the same event again
    await notifications.settled()
    assert (await deliveries(notifications, sub["id"]))["total"] == 1

    async with dispatching(notifications, FakeClock(utcnow())) as dispatcher:
        assert await dispatcher.step() == 1
        await up.redeliver(len(up.sent) - 1)  # and again after it was sent
        await notifications.settled()
        assert await dispatcher.step() == 0
    assert len(receiver.requests) == 1
    assert (await deliveries(notifications, sub["id"]))["total"] == 1
