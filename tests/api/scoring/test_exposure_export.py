"""GET /v1/exposure/export: an exposure list 通报 as an XLSX workbook, the whole list that
GET /v1/exposure pages, with the same scope (a county its own entries) and the same refusals."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import assert_problem, county_token, department_token, exposure
from tests.conftest import COMMANDER, VIEWER
from tests.support.upstream import BINCHENG, BOXING

D = dt.date
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def export(
    scoring: ScoringApp, kind: str, headers: dict[str, str] | None = None, **params: Any
) -> list[list[Any]]:
    params = {"kind": kind, "year": 2020, "month": 4, **params}
    r = await scoring.client.get("/v1/exposure/export", params=params, headers=headers or COMMANDER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == (
        f'attachment; filename="kuaiche-exposure-{kind}-{params["year"]}-{params["month"]:02d}.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    return [[c.value for c in row] for row in sheet.iter_rows()]


async def lists(scoring: ScoringApp) -> dict[str, str]:
    """Bincheng: one project two months late (yellow), one lagging far behind (red) with an
    overdue problem; Boxing: one project four months late (red), one lagging a little (yellow)."""
    up = scoring.upstream
    ids = {
        "feb": await up.register(BINCHENG, planned_start=D(2020, 2, 10), name="=二月项目"),
        "dec": await up.register(BOXING, planned_start=D(2019, 12, 5), name="博兴十二月项目"),
        "far": await up.register(BINCHENG, name="滨城滞后项目"),
        "near": await up.register(BOXING, name="博兴滞后项目"),
    }
    for key, ytd in (("far", "10"), ("near", "200")):
        await up.start(ids[key], D(2020, 1, 10))
        await up.plan(ids[key], 2020, "1000")
        await up.report(ids[key], 2020, 4, ytd)
    q = await up.report_problem(ids["far"], D(2020, 3, 2), category="funds", title="资金缺口")
    await up.assign(q, D(2020, 3, 3), D(2020, 3, 10), unit="市财政局")
    await up.flag_overdue(q, D(2020, 3, 11))
    ids["issue"] = q
    await scoring.settled()
    return ids


UNSTARTED = ["序号", "县区", "项目名称", "等级", "通报事由", "计划开工", "逾期月数", "项目ID"]
LAGGING = [
    "序号",
    "县区",
    "项目名称",
    "等级",
    "通报事由",
    "年度计划投资（万元）",
    "累计完成投资（万元）",
    "投资完成率（%）",
    "序时进度（%）",
    "低于序时进度（百分点）",
    "项目ID",
]
OVERDUE = [
    "序号",
    "县区",
    "项目名称",
    "等级",
    "通报事由",
    "问题",
    "问题类别",
    "责任单位",
    "办理期限",
    "标记超期",
    "状态",
    "项目ID",
    "问题ID",
]


def pad(row: list[Any], width: int) -> list[Any]:
    return row + [None] * (width - len(row))


async def test_each_list_cell_by_cell(scoring: ScoringApp) -> None:
    ids = await lists(scoring)
    rows = await export(scoring, "unstarted")
    assert rows[0] == pad(["滨州市2020年4月未开工项目通报"], len(UNSTARTED))
    assert rows[1] == UNSTARTED
    listed = await exposure(scoring, "unstarted")
    assert rows[2:] == [
        [
            1,
            "博兴县",
            "博兴十二月项目",
            "红色",
            "计划2019-12开工，至2020-04末未开工，已逾期4个月",
            dt.datetime(2019, 12, 5),
            4,
            ids["dec"],
        ],
        [
            2,
            "滨城区",
            "=二月项目",  # text, not a formula
            "黄色",
            "计划2020-02开工，至2020-04末未开工，已逾期2个月",
            dt.datetime(2020, 2, 10),
            2,
            ids["feb"],
        ],
    ]
    assert [r[-1] for r in rows[2:]] == [i["project_id"] for i in listed]  # the list's order

    rows = await export(scoring, "lagging")
    assert rows[0][0] == "滨州市2020年4月投资进度滞后项目通报"
    assert rows[1] == LAGGING
    assert rows[2] == [
        1,
        "滨城区",
        "滨城滞后项目",
        "红色",
        "投资完成率1.0%，低于序时进度33.3%32.3个百分点",
        1000,
        10,
        1,
        33.3,
        32.3,
        ids["far"],
    ]
    assert rows[3][:5] == [2, "博兴县", "博兴滞后项目", "黄色", rows[3][4]]
    assert rows[3][5:10] == [1000, 200, 20, 33.3, 13.3]

    rows = await export(scoring, "overdue")
    assert rows[0][0] == "滨州市2020年4月超期未办结问题通报"
    assert rows[1] == OVERDUE
    (item,) = await exposure(scoring, "overdue")
    assert rows[2:] == [
        [
            1,
            "滨城区",
            "滨城滞后项目",
            "红色",
            item["reason"],
            "资金缺口",
            "资金",
            "市财政局",
            dt.datetime(2020, 3, 10),
            dt.datetime(2020, 3, 11),
            "交办",
            ids["far"],
            ids["issue"],
        ]
    ]
    assert await export(scoring, "lagging", VIEWER) == await export(scoring, "lagging")


async def test_the_colour_filter_and_the_colours(scoring: ScoringApp) -> None:
    await lists(scoring)
    rows = await export(scoring, "unstarted", colour="yellow")
    assert [r[2] for r in rows[2:]] == ["=二月项目"]
    r = await scoring.client.get(
        "/v1/exposure/export",
        params={"kind": "lagging", "year": 2020, "month": 4},
        headers=COMMANDER,
    )
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert sheet["D3"].fill.fgColor.rgb.endswith("FFC7CE")  # red
    assert sheet["D4"].fill.fgColor.rgb.endswith("FFEB9C")  # yellow
    assert sheet.freeze_panes == "A3"
    # nothing on the list: the title and the headers
    assert await export(scoring, "overdue", month=2) == [
        pad(["滨州市2020年2月超期未办结问题通报"], len(OVERDUE)),
        OVERDUE,
    ]


async def test_a_county_exports_its_own_entries(scoring: ScoringApp) -> None:
    ids = await lists(scoring)
    own = county_token(BOXING)
    rows = await export(scoring, "unstarted", own)
    assert rows[0][0] == "博兴县2020年4月未开工项目通报"
    assert [r[-1] for r in rows[2:]] == [ids["dec"]]
    assert [r[-1] for r in (await export(scoring, "lagging", own))[2:]] == [ids["near"]]
    assert (await export(scoring, "overdue", own))[2:] == []
    amounts = (await export(scoring, "lagging", own))[2][5:7]
    assert [Decimal(str(a)) for a in amounts] == [Decimal(1000), Decimal(200)]


async def test_bad_input_and_who_may_not(scoring: ScoringApp) -> None:
    await lists(scoring)
    april = {"year": 2020, "month": 4}
    for params in (
        {"kind": "late", **april},
        {**april},
        {"kind": "unstarted", "year": 2020, "month": 0},
        {"kind": "unstarted", **april, "colour": "green"},
    ):
        r = await scoring.client.get("/v1/exposure/export", params=params, headers=COMMANDER)
        assert_problem(r, 422)
    future = dt.date.today() + dt.timedelta(days=62)
    r = await scoring.client.get(
        "/v1/exposure/export",
        params={"kind": "overdue", "year": future.year, "month": future.month},
        headers=COMMANDER,
    )
    assert_problem(r, 409, "has not begun")
    r = await scoring.client.get(
        "/v1/exposure/export", params={"kind": "overdue", **april}, headers=department_token()
    )
    assert_problem(r, 403)
    r = await scoring.client.get("/v1/exposure/export", params={"kind": "overdue", **april})
    assert_problem(r, 401)
