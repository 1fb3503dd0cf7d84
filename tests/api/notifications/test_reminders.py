"""The reminders that come due with time, from the worker's scan (`notifications.scan(at)`) on
China's working-day calendar, as the unit reads them in its inbox.

2020's National Day holiday is Oct 1–8, with make-up working days on Sunday Sep 27 and Saturday
Oct 10: the working day after Sep 30 is Oct 9, the one after Friday Sep 25 is Sunday Sep 27.
A scan's day is its Shanghai date (`shanghai(day)` is 10:00 there)."""

from __future__ import annotations

import datetime as dt

from shared.calendar import package_schedule
from tests.api.notifications.conftest import NotificationsApp
from tests.api.notifications.inboxes import NRPB, PROJECT, county, inbox, shanghai, unit
from tests.conftest import COMMANDER
from tests.support.upstream import BINCHENG, Upstream

D = dt.date
BLUE, PLAN = "issue-due-soon", "issue-plan-missing"


async def problem_due(up: Upstream, deadline: D, *, title: str = "用地指标不足") -> str:
    pid = await up.register(BINCHENG, name=PROJECT)
    qid = await up.report_problem(pid, D(2020, 9, 14), title=title)
    await up.assign(qid, D(2020, 9, 14), deadline)
    return qid


async def blue(n: NotificationsApp) -> list[dict]:
    return await inbox(n, unit(), BLUE)


async def test_blue_before_the_national_day_holiday_comes_on_its_last_working_day(
    notifications: NotificationsApp,
) -> None:
    """Due Oct 9: on Sep 29 the next working day is Sep 30, nobody is told; on Sep 30 the next
    working day is Oct 9 itself, the unit is told, once."""
    qid = await problem_due(notifications.upstream, D(2020, 10, 9))
    await notifications.settled()

    assert await notifications.scan(shanghai(D(2020, 9, 29))) == 0
    assert await blue(notifications) == []
    # 01:00 on Sep 30 in Shanghai is still Sep 29 in UTC: the scan goes by Shanghai's date
    assert await notifications.scan(dt.datetime(2020, 9, 29, 17, 0, tzinfo=dt.UTC)) == 1
    [note] = await blue(notifications)
    assert note["title"] == f"【蓝色督办】{PROJECT}：用地指标不足"
    assert note["body"] == (
        f"滨城区{PROJECT}的问题“用地指标不足”由{NRPB}办理，办结期限2020年10月9日，"
        "仅剩1个工作日，请抓紧办结。"
    )
    assert note["link"] == f"/issues/v1/issues/{qid}"

    assert await notifications.scan(shanghai(D(2020, 9, 30))) == 0  # a rerun tells nobody
    assert await notifications.scan(shanghai(D(2020, 10, 9))) == 0  # nor does the deadline day
    assert len(await blue(notifications)) == 1
    # blue is the unit's: not the county's, not the command office's
    assert await inbox(notifications, county(BINCHENG), BLUE) == []
    assert await inbox(notifications, COMMANDER, BLUE) == []


async def test_an_extension_gives_a_new_blue_before_the_new_deadline(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    qid = await problem_due(up, D(2020, 10, 9))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 30))) == 1

    await up.extend(qid, D(2020, 10, 16), D(2020, 10, 9))
    await notifications.settled()
    # Oct 9's next working day is the make-up Saturday Oct 10: Friday Oct 16 is far yet
    assert await notifications.scan(shanghai(D(2020, 10, 9))) == 0
    assert await notifications.scan(shanghai(D(2020, 10, 14))) == 0
    assert await notifications.scan(shanghai(D(2020, 10, 15))) == 1
    assert await notifications.scan(shanghai(D(2020, 10, 15), 16)) == 0
    notes = await blue(notifications)
    assert ["2020年10月16日" in n["body"] for n in notes] == [True, False]  # newest first
    assert "2020年10月9日" in notes[1]["body"]


async def test_blue_for_a_deadline_after_a_weekend_comes_on_the_friday(
    notifications: NotificationsApp,
) -> None:
    """Due Monday Sep 21 (an ordinary weekend before it): told on Friday Sep 18, not Thursday."""
    await problem_due(notifications.upstream, D(2020, 9, 21))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 17))) == 0
    assert await notifications.scan(shanghai(D(2020, 9, 18))) == 1
    assert await notifications.scan(shanghai(D(2020, 9, 19))) == 0
    assert len(await blue(notifications)) == 1


async def test_blue_for_a_deadline_after_a_make_up_sunday_comes_on_that_sunday(
    notifications: NotificationsApp,
) -> None:
    """Due Monday Sep 28: the working day after Friday Sep 25 is the make-up Sunday Sep 27, so
    Friday is too early; the Sunday is the day."""
    await problem_due(notifications.upstream, D(2020, 9, 28))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 25))) == 0
    assert await notifications.scan(shanghai(D(2020, 9, 26))) == 0  # Saturday off: Sunday next
    assert await notifications.scan(shanghai(D(2020, 9, 27))) == 1
    assert await notifications.scan(shanghai(D(2020, 9, 28))) == 0
    [note] = await blue(notifications)
    assert "办结期限2020年9月28日" in note["body"]


async def test_a_resolved_problem_gets_no_blue(notifications: NotificationsApp) -> None:
    up = notifications.upstream
    done = await problem_due(up, D(2020, 10, 9), title="已办结的问题")
    await problem_due(up, D(2020, 10, 9), title="仍在办理的问题")
    await up.resolve(done, D(2020, 9, 29))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 30))) == 1
    [note] = await blue(notifications)
    assert "仍在办理的问题" in note["title"]


async def test_an_uploaded_schedule_wins_over_the_package(notifications: NotificationsApp) -> None:
    """A corrected 2020 schedule uploaded to issues (Sep 30 made a day off too): from Sep 29 the
    next working day is now Oct 9, so the blue comes a day earlier."""
    up = notifications.upstream
    await problem_due(up, D(2020, 10, 9))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 29))) == 0

    known = package_schedule(2020)
    assert known is not None
    await up.set_calendar(2020, [*known.holidays, D(2020, 9, 30)], list(known.workdays))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 29))) == 1
    [note] = await blue(notifications)
    assert "办结期限2020年10月9日" in note["body"]


# ---------------------------------------------------------------- a complex problem's plan
async def complex_problem(up: Upstream, plan_due: D) -> str:
    pid = await up.register(BINCHENG, name=PROJECT)
    qid = await up.report_problem(pid, D(2020, 9, 21), complexity="complex", title="管网迁改")
    await up.assign(qid, D(2020, 9, 21), None, plan_due=plan_due)
    return qid


async def test_a_complex_problem_without_its_plan_after_the_due_day_tells_the_unit_once(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    qid = await complex_problem(up, D(2020, 9, 23))
    await notifications.settled()
    [assigned] = await inbox(notifications, unit(), "issue-assigned")
    assert "，请于2020年9月23日前报送解决方案。" in assigned["body"]  # no deadline yet

    assert await notifications.scan(shanghai(D(2020, 9, 23))) == 0  # due today: not late yet
    assert await inbox(notifications, unit(), PLAN) == []
    assert await notifications.scan(shanghai(D(2020, 9, 24))) == 1
    [note] = await inbox(notifications, unit(), PLAN)
    assert note["title"] == f"【方案逾期】{PROJECT}：管网迁改"
    assert note["body"] == (
        f"滨城区{PROJECT}的复杂问题“管网迁改”应于2020年9月23日前报送解决方案，"
        f"{NRPB}尚未报送，请立即报送。"
    )
    assert note["link"] == f"/issues/v1/issues/{qid}"
    assert await notifications.scan(shanghai(D(2020, 9, 25))) == 0  # told once
    assert await inbox(notifications, county(BINCHENG), PLAN) == []
    assert await inbox(notifications, COMMANDER, PLAN) == []


async def test_a_plan_that_came_stops_the_reminder(notifications: NotificationsApp) -> None:
    up = notifications.upstream
    on_time = await complex_problem(up, D(2020, 9, 23))
    late = await complex_problem(up, D(2020, 9, 23))
    await up.submit_plan(on_time, D(2020, 9, 23), D(2020, 10, 30))
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 24))) == 1  # the late one only
    [note] = await inbox(notifications, unit(), PLAN)
    assert note["link"] == f"/issues/v1/issues/{late}"

    await up.submit_plan(late, D(2020, 9, 25), D(2020, 10, 30), on_time=False)
    await notifications.settled()
    assert await notifications.scan(shanghai(D(2020, 9, 28))) == 0
    assert len(await inbox(notifications, unit(), PLAN)) == 1
    # planned, each now runs to its deadline: blue the working day before, for both
    assert await notifications.scan(shanghai(D(2020, 10, 29))) == 2
