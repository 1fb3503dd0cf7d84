"""The default rules one by one, from real events: each occasion is published by the other
services' `Upstream`, applied by the service's own consumer, and read back through the inbox of
each recipient the rule names (and of some it must not name). The reminders that come due with
time (blue, a missing plan) are in test_reminders.py; replacing the rules is at the end."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from services.notifications.domain.rules import DEFAULT_RULES
from tests.api.notifications.conftest import NotificationsApp
from tests.api.notifications.inboxes import (
    MEE,
    NDRC,
    NRPB,
    PROJECT,
    county,
    inbox,
    leader_inbox,
    only,
    unit,
)
from tests.conftest import COMMANDER, token
from tests.support.fake_robots import FakeRobots
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA, Upstream

D = dt.date
ASSIGNED_ON, DEADLINE = D(2020, 9, 21), D(2020, 9, 28)


async def assigned_problem(
    up: Upstream,
    *,
    county_code: str = BINCHENG,
    deadline: D = DEADLINE,
    co_units: tuple[str, ...] = (),
    leader: str | None = None,
) -> tuple[str, str]:
    """A project of `county_code` with a problem assigned to NRPB: (project id, problem id)."""
    pid = await up.register(county_code, name=PROJECT, leader=leader)
    qid = await up.report_problem(pid, ASSIGNED_ON, title="用地指标不足")
    await up.assign(qid, ASSIGNED_ON, deadline, co_units=co_units)
    return pid, qid


def test_every_default_rule_is_tested_here_or_in_test_reminders() -> None:
    tested = {
        "issue-assigned",
        "issue-due-soon",  # test_reminders
        "issue-overdue",
        "issue-resolved",
        "issue-plan-missing",  # test_reminders
        "ranking-published",
        "project-exposed",
        "factor-allocated",
        "factor-released",
        "pool-nearly-full",
        "subscription-disabled",  # the dispatcher's tests (a failing endpoint switched off)
    }
    assert {r.id for r in DEFAULT_RULES} == tested


# ---------------------------------------------------------------- 交办
async def test_an_assignment_tells_the_unit_and_each_co_unit_with_the_deadline_as_a_date(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    _, qid = await assigned_problem(up, co_units=(NDRC, MEE))
    await notifications.settled()

    for who in (NRPB, NDRC, MEE):
        note = await only(notifications, unit(who), "issue-assigned")
        assert note["recipient_kind"] == "department" and note["recipient_key"] == who
        assert note["title"] == f"【交办】{PROJECT}：用地指标不足"
        assert note["body"].startswith(f"滨城区{PROJECT}的问题“用地指标不足”已交办{NRPB}")
        assert f"（配合单位：{NDRC}、{MEE}）" in note["body"]
        assert "请于2020年9月28日前办结" in note["body"]
        assert note["link"] == f"/issues/v1/issues/{qid}"
        assert note["county"] == BINCHENG
        assert note["read_at"] is None
    # not the county, not the command office, not another department
    assert await inbox(notifications, county(BINCHENG)) == []
    assert await inbox(notifications, COMMANDER) == []
    assert await inbox(notifications, unit("市工业和信息化局")) == []


# ---------------------------------------------------------------- 红色督办
async def test_red_tells_the_unit_the_county_and_the_commander_once_per_deadline(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    _, qid = await assigned_problem(up, county_code=BOXING, co_units=(NDRC,))
    await up.flag_overdue(qid, D(2020, 9, 29))
    await notifications.settled()

    told = [unit(NRPB), county(BOXING), COMMANDER]
    for headers in told:
        note = await only(notifications, headers, "issue-overdue")
        assert note["title"] == f"【红色督办】{PROJECT}：用地指标不足"
        assert "博兴县" in note["body"] and "已超过办结期限2020年9月28日" in note["body"]
        assert f"责任单位{NRPB}" in note["body"]
        assert note["link"] == f"/issues/v1/issues/{qid}"
    assert await inbox(notifications, unit(NDRC), "issue-overdue") == []  # co-units: not told
    assert await inbox(notifications, county(BINCHENG)) == []

    await up.flag_overdue(qid, D(2020, 9, 30))  # flagged again, the same deadline: nobody
    await notifications.settled()
    for headers in told:
        assert len(await inbox(notifications, headers, "issue-overdue")) == 1

    await up.extend(qid, D(2020, 10, 16), D(2020, 9, 30))  # a new deadline, overdue in turn
    await up.flag_overdue(qid, D(2020, 10, 19))
    await notifications.settled()
    for headers in told:
        notes = await inbox(notifications, headers, "issue-overdue")
        assert len(notes) == 2
        assert "已超过办结期限2020年10月16日" in notes[0]["body"]  # newest first


async def test_red_across_the_national_day_holiday_is_told_once(
    notifications: NotificationsApp,
) -> None:
    """Due on 2020-09-30, the last working day before the holiday (Oct 1–8): issues flags it on
    Oct 9, the first working day after it. The red is there once, the blue scan of that day
    adds nothing for a deadline already past."""
    up = notifications.upstream
    _, qid = await assigned_problem(up, deadline=D(2020, 9, 30))
    await up.flag_overdue(qid, D(2020, 10, 9))
    await notifications.settled()
    assert await notifications.scan(dt.datetime(2020, 10, 9, 2, 0, tzinfo=dt.UTC)) == 0
    await up.flag_overdue(qid, D(2020, 10, 10))  # the make-up Saturday: flagged again
    await notifications.settled()

    for headers in (unit(), county(BINCHENG), COMMANDER):
        note = await only(notifications, headers, "issue-overdue")
        assert "已超过办结期限2020年9月30日" in note["body"]
    assert await inbox(notifications, unit(), "issue-due-soon") == []


# ---------------------------------------------------------------- 办结: feedback asked
async def test_a_resolution_asks_the_reporting_county_for_feedback(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    _, qid = await assigned_problem(up, county_code=ZHANHUA)
    await up.resolve(qid, D(2020, 9, 25))
    await notifications.settled()

    note = await only(notifications, county(ZHANHUA), "issue-resolved")
    assert note["title"] == f"【请反馈】{PROJECT}：用地指标不足"
    assert (
        note["body"] == f"{NRPB}已办结{PROJECT}的问题“用地指标不足”，请沾化区核实并反馈办理效果。"
    )
    assert "反馈" in note["body"]
    assert note["link"] == f"/issues/v1/issues/{qid}"
    assert await inbox(notifications, unit(), "issue-resolved") == []
    assert await inbox(notifications, COMMANDER) == []
    assert await inbox(notifications, county(BINCHENG)) == []


# ---------------------------------------------------------------- 通报
async def test_a_publication_tells_every_division_and_each_exposed_project_its_county_and_leader(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    region = notifications.ctx.region
    unstarted = await up.register(BOXING, name="博兴县绿色板材项目", leader="张三")
    late = await up.register(BINCHENG, name=PROJECT, leader="李四")
    await up.update(late, leader="王五")  # the registry's latest snapshot names the leader
    qid = await up.report_problem(late, ASSIGNED_ON)
    names = {d.code: d.name for d in region.divisions}
    await up.publish_ranking(
        2020,
        9,
        list(region.codes),
        names=names,
        exposed=[up.exposed(unstarted), up.exposed(late, "overdue", issue_id=qid)],
    )
    await notifications.settled()

    note = await only(notifications, county(ZHANHUA), "ranking-published")
    assert note["title"] == "【通报】2020年9月县区考核排名已发布"
    first, last = names[region.codes[0]], names[region.codes[-1]]
    assert f"第一名{first}，最后一名{last}" in note["body"]
    assert "未开工项目1个、进度滞后项目0个、超期问题1个" in note["body"]
    assert note["link"] == "/scoring/v1/rankings?year=2020&month=9"
    assert len(region.codes) == 10
    told = [len(await inbox(notifications, county(c), "ranking-published")) for c in region.codes]
    told.append(len(await inbox(notifications, COMMANDER, "ranking-published")))
    assert told == [1] * 11

    exposed = await only(notifications, county(BOXING), "project-exposed")
    assert exposed["title"] == "【通报】博兴县绿色板材项目列入未开工项目通报"
    assert "帮包领导张三" in exposed["body"] and "博兴县" in exposed["body"]
    assert exposed["link"] == f"/registry/v1/projects/{unstarted}"
    assert [n["title"] for n in await leader_inbox(notifications, "张三")] == [exposed["title"]]

    overdue = await only(notifications, county(BINCHENG), "project-exposed")
    assert overdue["title"] == f"【通报】{PROJECT}列入超期问题通报"
    assert "帮包领导王五" in overdue["body"]
    assert len(await leader_inbox(notifications, "王五", "project-exposed")) == 1
    assert await leader_inbox(notifications, "李四") == []
    assert await inbox(notifications, county(ZHANHUA), "project-exposed") == []
    assert await inbox(notifications, COMMANDER, "project-exposed") == []


async def test_a_leaders_inbox_is_the_command_offices_to_read(
    notifications: NotificationsApp,
) -> None:
    answer = await notifications.client.get(
        "/v1/notifications",
        params={"recipient_kind": "leader", "recipient_key": "张三"},
        headers=county(BOXING),
    )
    assert answer.status_code == 403, answer.text


# ---------------------------------------------------------------- factors
async def test_an_allocation_and_its_release_tell_the_projects_county(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    pid = await up.register(BOXING, name="博兴县绿色板材项目", leader="张三")
    aid = await up.allocate(pid, amount="12.5")
    await up.release(aid, D(2020, 6, 1))
    await notifications.settled()

    given = await only(notifications, county(BOXING), "factor-allocated")
    assert given["title"] == "【要素保障】博兴县绿色板材项目获配用地计划指标"
    assert given["body"] == "博兴县博兴县绿色板材项目获配2020年用地计划指标12.5mu。"
    assert given["link"] == f"/factors/v1/allocations/{aid}"
    taken = await only(notifications, county(BOXING), "factor-released")
    assert taken["title"] == "【要素收回】博兴县绿色板材项目释放用地计划指标"
    assert "已释放：收回" in taken["body"]
    assert await inbox(notifications, COMMANDER) == []
    assert await leader_inbox(notifications, "张三") == []
    assert await inbox(notifications, county(BINCHENG)) == []


async def test_a_pool_passing_90_percent_tells_the_commander_once(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    await up.issue_quota(factor="land", year=2020, amount="100")
    pid = await up.register(BINCHENG)

    async def commander_told(amount: str) -> list[dict[str, Any]]:
        await up.allocate(pid, amount=amount)
        await notifications.settled()
        return await inbox(notifications, COMMANDER, "pool-nearly-full")

    assert await commander_told("50") == []
    assert await commander_told("35") == []  # 85%
    [note] = await commander_told("10")  # 95%: past 90
    assert note["title"] == "【要素预警】2020年用地计划指标使用率已达95.0%"
    assert "已配置95mu，使用率95.0%，超过90%预警线" in note["body"]
    assert note["link"] == "/factors/v1/pools/pool-land-2020"
    assert len(await commander_told("3")) == 1  # 98%: still past it, not told again
    assert await inbox(notifications, county(BINCHENG), "pool-nearly-full") == []


# ---------------------------------------------------------------- duplicates
async def test_a_duplicate_event_writes_nothing_twice(notifications: NotificationsApp) -> None:
    """An at-least-once relay publishes an event again (the same CloudEvent id): neither the
    notification nor the pool's utilisation counts it twice."""
    up = notifications.upstream
    await up.issue_quota(amount="100")
    await assigned_problem(up)
    assigned = len(up.sent) - 1
    pid = await up.register(BOXING)
    await up.allocate(pid, amount="50")
    allocated = len(up.sent) - 1
    await up.redeliver(assigned)
    await up.redeliver(allocated)  # counted twice it would take the pool to 100%
    await notifications.settled()

    assert len(await inbox(notifications, unit(), "issue-assigned")) == 1
    assert len(await inbox(notifications, county(BOXING), "factor-allocated")) == 1
    assert await inbox(notifications, COMMANDER, "pool-nearly-full") == []


# ---------------------------------------------------------------- a robot channel
async def test_a_unit_with_a_dingtalk_robot_gets_the_assignment_signed(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    secret = "SECrules0123456789"
    url = fake_robots.register_dingtalk("nrpb-group", secret)
    answer = await notifications.client.post(
        "/v1/recipients",
        json={
            "kind": "department",
            "key": NRPB,
            "name": NRPB,
            "channels": [{"type": "dingtalk", "url": url, "secret": secret}],
        },
        headers=COMMANDER,
    )
    assert answer.status_code == 201, answer.text
    up = notifications.upstream
    _, qid = await assigned_problem(up, co_units=(NDRC,))  # NDRC has no robot: inbox only
    pid = await up.register(BINCHENG)
    await up.allocate(pid)  # factor-allocated goes to the inbox only
    await notifications.settled()

    dispatcher = notifications.dispatcher(rng=random.Random(1))
    try:
        assert await dispatcher.step() == 1
        assert await dispatcher.step() == 0
    finally:
        await dispatcher.close()
    assert not fake_robots.refused  # the fake robot checked the 加签 signature
    [message] = fake_robots.received("nrpb-group")
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["title"] == f"【交办】{PROJECT}：用地指标不足"
    assert "请于2020年9月28日前办结" in message["markdown"]["text"]
    assert f"/issues/v1/issues/{qid}" in message["markdown"]["text"]
    assert len(await inbox(notifications, unit(), "issue-assigned")) == 1  # and the inbox too


# ---------------------------------------------------------------- replacing the rules
async def get_rules(n: NotificationsApp) -> tuple[int, list[dict[str, Any]], str]:
    answer = await n.client.get("/v1/rules", headers=COMMANDER)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["version"], body["rules"], answer.headers["etag"]


async def put_rules(
    n: NotificationsApp,
    rules: list[dict[str, Any]],
    if_match: str | None,
    headers: dict[str, str] = COMMANDER,
) -> Any:
    extra = {} if if_match is None else {"If-Match": if_match}
    return await n.client.put("/v1/rules", json={"rules": rules}, headers={**headers, **extra})


def changed(rules: list[dict[str, Any]], rule_id: str, **fields: Any) -> list[dict[str, Any]]:
    return [{**r, **fields} if r["id"] == rule_id else r for r in rules]


async def test_the_default_rules_are_version_0_and_a_put_makes_version_1(
    notifications: NotificationsApp,
) -> None:
    version, rules, etag = await get_rules(notifications)
    assert (version, etag) == (0, '"0"')
    assert [r["id"] for r in rules] == [r.id for r in DEFAULT_RULES]
    answer = await put_rules(notifications, changed(rules, "issue-assigned", enabled=False), '"0"')
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 1 and answer.headers["etag"] == '"1"'
    version, rules, etag = await get_rules(notifications)
    assert (version, etag) == (1, '"1"')
    assert next(r for r in rules if r["id"] == "issue-assigned")["enabled"] is False

    up = notifications.upstream
    _, qid = await assigned_problem(up)  # the disabled rule tells nobody
    await up.resolve(qid, D(2020, 9, 25))  # the others still do
    await notifications.settled()
    assert await inbox(notifications, unit()) == []
    assert len(await inbox(notifications, county(BINCHENG), "issue-resolved")) == 1


async def test_a_rule_set_written_by_the_commander_changes_the_messages(
    notifications: NotificationsApp,
) -> None:
    _, rules, _ = await get_rules(notifications)
    rules = changed(
        rules,
        "issue-resolved",
        audience=["county", "commander"],
        channels=["inbox"],
        body="{project}已办结（{unit}），请{county}反馈。详情：{link}",
    )
    assert (await put_rules(notifications, rules, '"0"')).status_code == 200
    up = notifications.upstream
    _, qid = await assigned_problem(up)
    await up.resolve(qid, D(2020, 9, 25))
    await notifications.settled()
    for headers in (county(BINCHENG), COMMANDER):
        note = await only(notifications, headers, "issue-resolved")
        assert (
            note["body"]
            == f"{PROJECT}已办结（{NRPB}），请滨城区反馈。详情：/issues/v1/issues/{qid}"
        )


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        (
            lambda rules: changed(rules, "factor-allocated", channels=["inbox", "sms"]),
            422,
            "channels.1",
        ),
        (
            lambda rules: changed(rules, "issue-assigned", body="预算{budget}万元，期限{deadline}"),
            409,
            "budget",
        ),
        (
            lambda rules: changed(rules, "ranking-published", audience=["every_division", "unit"]),
            409,
            "unit",
        ),
        (lambda rules: [*rules, rules[0]], 409, "issue-assigned"),
        (lambda rules: changed(rules, "issue-due-soon", working_days=None), 409, "working_days"),
    ],
    ids=[
        "unknown-channel",
        "unknown-field",
        "audience-the-trigger-cannot-name",
        "ids-twice",
        "due-soon-without-working-days",
    ],
)
async def test_a_bad_rule_set_is_refused_and_changes_nothing(
    notifications: NotificationsApp, change: Any, status: int, named: str
) -> None:
    _, rules, _ = await get_rules(notifications)
    assert (await put_rules(notifications, rules, '"0"')).status_code == 200
    answer = await put_rules(notifications, change(rules), '"1"')
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert named in answer.text
    version, after, _ = await get_rules(notifications)
    assert (version, after) == (1, rules)


async def test_replacing_the_rules_needs_the_current_version_and_the_command_office(
    notifications: NotificationsApp,
) -> None:
    _, rules, _ = await get_rules(notifications)
    assert (await put_rules(notifications, rules, None)).status_code == 428
    assert (await put_rules(notifications, rules, '"0"')).status_code == 200
    stale = await put_rules(notifications, rules, '"0"')  # another commander's write came first
    assert stale.status_code == 412, stale.text
    for headers in (county(BINCHENG), unit(), token("viewer")):
        answer = await put_rules(notifications, rules, '"1"', headers)
        assert answer.status_code == 403, answer.text
    assert (await get_rules(notifications))[0] == 1
    assert (
        await notifications.client.get("/v1/rules", headers=county(BINCHENG))
    ).status_code == 200


async def test_an_allocation_that_comes_before_its_pool_still_counts(
    notifications: NotificationsApp,
) -> None:
    """A pool's events are keyed by the pool, an allocation's by its project: on different
    partitions, the allocation can be applied before the QuotaIssued that set the pool up."""
    up = notifications.upstream
    pid = await up.register(BINCHENG)
    await up.allocate(pid, amount="50")
    await notifications.settled()
    await up.issue_quota(factor="land", year=2020, amount="100")
    await notifications.settled()
    assert await inbox(notifications, COMMANDER, "pool-nearly-full") == []
    await up.allocate(pid, amount="45")  # 95% of the pool, with the first 50
    await notifications.settled()
    [note] = await inbox(notifications, COMMANDER, "pool-nearly-full")
    assert "已配置95mu" in note["body"]


async def test_a_pool_set_up_after_allocations_past_90_percent_is_told_when_it_comes(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    pid = await up.register(BINCHENG)
    await up.allocate(pid, amount="92")
    await notifications.settled()
    assert await inbox(notifications, COMMANDER, "pool-nearly-full") == []
    await up.issue_quota(factor="land", year=2020, amount="100")
    await notifications.settled()
    await up.allocate(pid, amount="3")  # 95%: still past it, not told again
    await notifications.settled()
    [note] = await inbox(notifications, COMMANDER, "pool-nearly-full")
    assert "已配置92mu，使用率92.0%" in note["body"]
