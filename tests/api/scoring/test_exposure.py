"""Exposure lists 通报/曝光 by DOMAIN.md's defaults: unstarted implementation projects (yellow, red
from three months late), projects lagging 序时进度 (10–30 points yellow, over 30 red) and
overdue problems (red until closed)."""

from __future__ import annotations

import datetime as dt

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import assert_problem, exposure, figures
from tests.conftest import COMMANDER
from tests.support.upstream import BINCHENG, BOXING, Upstream

D = dt.date


def colours(items: list[dict]) -> dict[str, str]:
    return {i["project_id"]: i["colour"] for i in items}


# ---- 未开工
async def test_an_unstarted_project_is_yellow_then_red_from_three_months_late(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    feb = await up.register(BINCHENG, planned_start=D(2020, 2, 10), name="二月项目")
    jan = await up.register(BOXING, planned_start=D(2020, 1, 5))
    await up.register(BINCHENG, planned_start=D(2020, 4, 1))  # due this month: not late yet
    await scoring.settled()

    items = await exposure(scoring, "unstarted")
    assert [(i["project_id"], i["colour"]) for i in items] == [(jan, "red"), (feb, "yellow")]
    yellow = items[1]
    assert yellow["kind"] == "unstarted"
    assert (yellow["county"], yellow["county_name"]) == (BINCHENG, "滨城区")
    assert yellow["project_name"] == "二月项目"
    assert yellow["issue_id"] is None
    assert yellow["reason"] == "计划2020-02开工，至2020-04末未开工，已逾期2个月"
    assert yellow["detail"] == {"planned_start": "2020-02-10", "months_late": 2}
    assert items[0]["detail"]["months_late"] == 3
    # A month earlier both were still yellow; the April project only shows from May.
    assert colours(await exposure(scoring, "unstarted", month=3)) == {jan: "yellow", feb: "yellow"}
    assert len(await exposure(scoring, "unstarted", month=5)) == 3
    assert (await figures(scoring, BINCHENG))["unstarted_projects"] == 1


async def test_started_preparation_and_withdrawn_projects_are_not_unstarted(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    started = await up.register(BINCHENG, planned_start=D(2020, 1, 1))
    await up.start(started, D(2020, 3, 1))
    await up.register(BINCHENG, planned_start=D(2020, 1, 1), track="preparation")
    gone = await up.register(BINCHENG, planned_start=D(2020, 1, 1))
    await up.withdraw(gone, D(2020, 1, 20))
    await up.register(BINCHENG, planned_start=None)
    late_start = await up.register(BINCHENG, planned_start=D(2020, 1, 1))
    await up.start(late_start, D(2020, 5, 3))  # after April: still unstarted at April's end
    await scoring.settled()

    assert colours(await exposure(scoring, "unstarted")) == {late_start: "red"}
    assert colours(await exposure(scoring, "unstarted", month=2)) == {
        started: "yellow",
        late_start: "yellow",
    }
    assert await exposure(scoring, "unstarted", month=5) == []


# ---- 进度滞后
async def planned_project(up: Upstream, ytd: str, county: str = BINCHENG) -> str:
    """A project in construction since January with 1000 万元 planned for 2020 and `ytd` done
    by April (序时进度 33.3%)."""
    pid = await up.register(county, planned_start=D(2020, 1, 1))
    await up.start(pid, D(2020, 1, 10))
    await up.plan(pid, 2020, "1000")
    await up.report(pid, 2020, 4, ytd)
    return pid


async def test_lagging_is_yellow_from_10_points_behind_and_red_beyond_30(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    on_pace = await planned_project(up, "234")  # 23.4%: 9.9 behind
    yellow_low = await planned_project(up, "233")  # 23.3%: 10.0 behind
    yellow_high = await planned_project(up, "33")  # 3.3%: 30.0 behind
    red = await planned_project(up, "32")  # 3.2%: 30.1 behind
    await scoring.settled()

    items = await exposure(scoring, "lagging")
    found = colours(items)
    assert on_pace not in found
    assert found == {yellow_low: "yellow", yellow_high: "yellow", red: "red"}
    assert items[0]["project_id"] == red  # red first
    by_id = {i["project_id"]: i for i in items}
    assert by_id[yellow_low]["reason"] == "投资完成率23.3%，低于序时进度33.3%10.0个百分点"
    detail = by_id[red]["detail"]
    assert (detail["completion_rate"], detail["time_target"]) == ("3.2", "33.3")
    assert detail["behind_points"] == "30.1"
    assert (await figures(scoring, BINCHENG))["lagging_projects"] == 3


async def test_lagging_detail_prints_amounts_as_the_scorecard_does(scoring: ScoringApp) -> None:
    await planned_project(scoring.upstream, "32.5")
    await scoring.settled()
    [item] = await exposure(scoring, "lagging")
    assert (item["detail"]["annual_plan"], item["detail"]["ytd_investment"]) == ("1000", "32.5")
    f = await figures(scoring, BINCHENG)
    assert (f["annual_plan"], f["ytd_investment"]) == ("1000", "32.5")


async def test_a_project_not_yet_in_construction_is_not_lagging(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 6, 1))
    await up.plan(pid, 2020, "1000")
    late_start = await up.register(BINCHENG, planned_start=D(2020, 4, 1))
    await up.plan(late_start, 2020, "1000")
    await up.start(late_start, D(2020, 5, 4))
    await scoring.settled()
    assert await exposure(scoring, "lagging") == []
    assert colours(await exposure(scoring, "lagging", month=5)) == {late_start: "red"}


async def test_a_completed_project_is_not_lagging(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await planned_project(up, "0")
    await up.complete(pid, D(2020, 4, 20))
    await scoring.settled()
    assert await exposure(scoring, "lagging") == []
    assert colours(await exposure(scoring, "lagging", month=3)) == {pid: "yellow"}  # 25.0 behind


# ---- 超期问题
async def test_an_overdue_problem_is_red_until_closed(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=None, name="滨城热电项目")
    q = await up.report_problem(pid, D(2020, 4, 1), title="用地指标不足")
    await up.assign(q, D(2020, 4, 1), D(2020, 4, 8))
    await up.flag_overdue(q, D(2020, 4, 9))
    on_time = await up.report_problem(pid, D(2020, 4, 1))
    await up.resolve(on_time, D(2020, 4, 3))
    await scoring.settled()

    items = await exposure(scoring, "overdue")
    assert len(items) == 1
    item = items[0]
    assert (item["kind"], item["colour"], item["issue_id"]) == ("overdue", "red", q)
    assert (item["project_id"], item["project_name"]) == (pid, "滨城热电项目")
    assert item["reason"] == "办理期限2020-04-08已过（2020-04-09标记超期），至2020-04末未销号"
    assert item["detail"]["title"] == "用地指标不足"
    assert item["detail"]["flagged_on"] == "2020-04-09"
    assert await exposure(scoring, "overdue", month=3) == []

    await up.resolve(q, D(2020, 4, 20), on_time=False)  # resolved, not yet closed: still listed
    await scoring.settled()
    assert [i["issue_id"] for i in await exposure(scoring, "overdue")] == [q]
    await up.close(q, D(2020, 5, 6), resolved_on=D(2020, 4, 20), on_time=False)
    await scoring.settled()
    assert [i["issue_id"] for i in await exposure(scoring, "overdue")] == [q]  # closed in May
    assert await exposure(scoring, "overdue", month=5) == []


# ---- filters
async def test_the_colour_filter_keeps_one_colour(scoring: ScoringApp) -> None:
    up = scoring.upstream
    red = await up.register(BINCHENG, planned_start=D(2019, 10, 1))
    yellow = await up.register(BOXING, planned_start=D(2020, 3, 1))
    await scoring.settled()
    assert colours(await exposure(scoring, "unstarted", colour="red")) == {red: "red"}
    assert colours(await exposure(scoring, "unstarted", colour="yellow")) == {yellow: "yellow"}
    assert len(await exposure(scoring, "unstarted")) == 2


async def test_a_bad_kind_or_colour_is_422(scoring: ScoringApp) -> None:
    cases: list[tuple[dict[str, str | int], str]] = [
        ({"kind": "late"}, "kind"),
        ({}, "kind"),
        ({"kind": "unstarted", "colour": "blue"}, "colour"),
        ({"kind": "unstarted", "month": 13}, "month"),
    ]
    for params, field in cases:
        r = await scoring.client.get(
            "/v1/exposure", params={"year": 2020, "month": 4, **params}, headers=COMMANDER
        )
        body = assert_problem(r, 422)
        assert field in {e["field"] for e in body["errors"]}, body
