"""Group robots through the whole path: events → notifications → robot deliveries → the
dispatcher → a local fake DingTalk / WeCom server that checks signatures and enforces 20
messages a minute per robot."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest

from services.notifications.domain.digest import ROBOT_LIMIT, digest_title
from shared.db import utcnow
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, token
from tests.support.fake_robots import FakeRobots, serve_in_thread
from tests.support.receiver import FakeClock

NRPB = "市自然资源和规划局"
UNIT = token("department", department=NRPB)
SECRET = "SEC0123456789abcdef"
ASSIGNED_ON, DEADLINE = dt.date(2020, 9, 21), dt.date(2020, 9, 28)


async def give_channels(notifications: NotificationsApp, *channels: dict[str, Any]) -> None:
    answer = await notifications.client.post(
        "/v1/recipients",
        json={"kind": "department", "key": NRPB, "name": NRPB, "channels": list(channels)},
        headers=COMMANDER,
    )
    assert answer.status_code == 201, answer.text


async def assign_problems(notifications: NotificationsApp, count: int, first: int = 0) -> None:
    up = notifications.upstream
    pid = await up.register(name="滨州高新区智能制造产业园")
    for i in range(first, first + count):
        qid = await up.report_problem(pid, ASSIGNED_ON, title=f"用地指标不足{i:02d}")
        await up.assign(qid, ASSIGNED_ON, DEADLINE)
    await notifications.settled()


async def inbox_titles(notifications: NotificationsApp) -> list[str]:
    answer = await notifications.client.get("/v1/notifications?limit=200", headers=UNIT)
    assert answer.status_code == 200, answer.text
    return [n["title"] for n in answer.json()["items"]]


def dingtalk_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["markdown"]["title"] + "\n" + m["markdown"]["text"] for m in messages]


async def test_a_burst_for_one_dingtalk_robot_is_kept_within_its_limit_by_one_digest(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    url = fake_robots.register_dingtalk("nrpb-robot", SECRET)
    await give_channels(notifications, {"type": "dingtalk", "url": url, "secret": SECRET})
    await assign_problems(notifications, 30)
    titles = await inbox_titles(notifications)
    assert len(titles) == 30

    dispatcher = notifications.dispatcher(clock=FakeClock(utcnow()), rng=random.Random(1))
    try:
        assert await dispatcher.step() == 30
        assert await dispatcher.step() == 0  # nothing left over, nothing held back
    finally:
        await dispatcher.close()

    messages = fake_robots.received("nrpb-robot")
    assert not fake_robots.refused  # the robot's own limiter never had to say no
    assert len(messages) <= ROBOT_LIMIT
    digests = [m for m in messages if m["markdown"]["title"].startswith("快车道通知汇总")]
    assert len(digests) == 1
    singles = len(messages) - 1
    assert digests[0]["markdown"]["title"] == digest_title(30 - singles)
    texts = dingtalk_texts(messages)
    for title in titles:  # every notification reached the group, singly or in the digest
        assert any(title in text for text in texts), title
    single = next(m for m in messages if m not in digests)
    title = single["markdown"]["title"]
    assert title.startswith("【交办】滨州高新区智能制造产业园：")
    text = single["markdown"]["text"]
    assert text.startswith(f"### {title}\n\n滨城区滨州高新区智能制造产业园的问题")
    assert text.count(title) == 1  # one heading, not the title twice
    assert "请于2020年9月28日前办结" in text
    # each digested item shows its title and the first line of its body, not the title twice
    digest = digests[0]["markdown"]["text"]
    assert digest.count("滨城区滨州高新区智能制造产业园的问题") == 30 - singles


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utcnow())


@pytest.fixture
def robots_on_the_clock(clock: FakeClock) -> Iterator[FakeRobots]:
    """A fake robot server whose rolling minute runs on the test's clock, as the dispatcher's
    does, so a test can wait out the minute without sleeping."""
    robots = FakeRobots(clock=lambda: clock().timestamp())
    with serve_in_thread(robots.app()) as base_url:
        robots.base_url = base_url
        yield robots


async def burst_around_a_digest(
    notifications: NotificationsApp, robots: FakeRobots, clock: FakeClock
) -> list[str]:
    """12 messages at t, 18 more at t+30 s (7 singles and a digest of 11: the minute is full),
    3 more at t+40 s (held), then t+61 s: the 12 sends of t have left the window, so the robot
    has room for 12. Returns the texts the robot accepted."""
    url = robots.register_dingtalk("nrpb-robot", SECRET)
    await give_channels(notifications, {"type": "dingtalk", "url": url, "secret": SECRET})
    dispatcher = notifications.dispatcher(clock=clock, rng=random.Random(1))
    try:
        await assign_problems(notifications, 12)
        clock.at(utcnow())
        assert await dispatcher.step() == 12
        assert len(robots.received("nrpb-robot")) == 12

        await assign_problems(notifications, 18, first=12)  # 30 within the minute
        clock.advance(seconds=30)
        assert await dispatcher.step() == 18
        assert len(robots.received("nrpb-robot")) == ROBOT_LIMIT  # 7 singles and a digest

        await assign_problems(notifications, 3, first=30)  # the minute is full
        clock.advance(seconds=10)
        assert await dispatcher.step() == 3
        assert len(robots.received("nrpb-robot")) == ROBOT_LIMIT  # held, not sent, not lost
        assert await dispatcher.step() == 0  # held until a minute after the first send

        clock.advance(seconds=21)  # the first sends leave the window
        assert await dispatcher.step() == 3
        assert await dispatcher.step() == 0
    finally:
        await dispatcher.close()
    assert not robots.refused
    return dingtalk_texts(robots.received("nrpb-robot"))


async def test_a_robot_whose_minute_is_full_holds_messages_until_there_is_room(
    notifications: NotificationsApp, robots_on_the_clock: FakeRobots, clock: FakeClock
) -> None:
    texts = await burst_around_a_digest(notifications, robots_on_the_clock, clock)
    titles = await inbox_titles(notifications)
    assert len(titles) == 33
    for title in titles:
        assert any(title in text for text in texts), title


async def test_a_digest_counts_as_one_send_against_the_robots_limit(
    notifications: NotificationsApp, robots_on_the_clock: FakeRobots, clock: FakeClock
) -> None:
    texts = await burst_around_a_digest(notifications, robots_on_the_clock, clock)
    # at t+61 s the window holds 8 sends (7 singles and one digest): room for 3 singles
    assert len(texts) == ROBOT_LIMIT + 3
    assert not any(t.startswith("快车道通知汇总") for t in texts[ROBOT_LIMIT:])


async def test_a_wecom_robot_gets_markdown(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    await give_channels(notifications, {"type": "wecom", "url": fake_robots.wecom_url("k-nrpb")})
    await assign_problems(notifications, 1)
    dispatcher = notifications.dispatcher(clock=FakeClock(utcnow()))
    try:
        assert await dispatcher.step() == 1
    finally:
        await dispatcher.close()
    (message,) = fake_robots.received("k-nrpb")
    assert message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    (title,) = await inbox_titles(notifications)
    assert content.startswith(f"### {title}\n\n")
    assert "市自然资源和规划局" in content and "2020年9月28日" in content
    assert "[查看详情](/issues/v1/issues/" in content
    assert not fake_robots.refused


async def test_a_refusing_robot_holds_back_no_other_channel(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    # a DingTalk robot whose token the server does not know (errcode 300001) beside a WeCom one
    await give_channels(
        notifications,
        {"type": "dingtalk", "url": fake_robots.dingtalk_url("unknown"), "secret": SECRET},
        {"type": "wecom", "url": fake_robots.wecom_url("k-nrpb")},
    )
    await assign_problems(notifications, 1)
    dispatcher = notifications.dispatcher(clock=FakeClock(utcnow()), rng=random.Random(1))
    try:
        assert await dispatcher.step() == 2
    finally:
        await dispatcher.close()
    assert len(fake_robots.received("k-nrpb")) == 1
    assert fake_robots.refused == {"unknown_token": 1}


async def test_robot_links_lead_to_the_console_when_its_address_is_set(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    """A group chat cannot open a path: KUAICHE_NOTIFICATIONS_PUBLIC_URL goes before it."""
    config = notifications.runtime.config.model_copy(
        update={"public_url": "https://kuaiche.binzhou.example"}
    )
    notifications.runtime.config = config  # what the handlers' Context is built from
    url = fake_robots.wecom_url("nrpb-wecom")
    await give_channels(notifications, {"type": "wecom", "url": url})
    await assign_problems(notifications, 1)
    await notifications.dispatcher().step()
    (message,) = fake_robots.received("nrpb-wecom")
    content = message["markdown"]["content"]
    assert "(https://kuaiche.binzhou.example/issues/v1/issues/" in content
