"""GET /v1/projects/export: the ledger 台账 of the projects the list's filters match, as an XLSX
with the import template's columns, so that an export imports into another registry as the same
projects; scoped like the list."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.registry.importing.columns import COLUMNS
from services.registry.main import SERVICE
from shared.bus.inprocess import InProcessBus
from tests.api.registry.helpers import (
    BINCHENG,
    BOXING,
    ZOUPING,
    county_token,
    create_project,
    move,
    problem,
    unique_code,
    unique_name,
)
from tests.conftest import COMMANDER, RunningService, make_settings, start_service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "项目名称",
    "县区",
    "级别",
    "类别",
    "阶段",
    "项目代码",
    "总投资",
    "单位",
    "计划开工",
    "计划竣工",
    "实际开工",
    "实际竣工",
    "项目单位",
    "帮包领导",
    "驻企服务员",
    "责任单位",
    "行业",
    "标签",
    "建设内容",
    "经度",
    "纬度",
]
# What a project is, whichever registry holds it (ids, versions and times are the registry's).
SAME = (
    "name",
    "county",
    "level",
    "track",
    "stage",
    "code",
    "total_investment",
    "planned_start",
    "planned_completion",
    "actual_start",
    "actual_completion",
    "owner",
    "leader",
    "service_officer",
    "responsible_unit",
    "industry",
    "tags",
    "content",
    "location",
)


@pytest.fixture
async def fresh_registry(tmp_path: Path) -> AsyncIterator[RunningService]:
    """A second, empty registry (its own database) to import an export into."""
    data = tmp_path / "fresh"
    data.mkdir()
    settings = make_settings("registry", f"sqlite+aiosqlite:///{data / 'r.sqlite3'}", data)
    app, lifespan = await start_service(SERVICE, settings, InProcessBus())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fresh") as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)


async def export(registry: Any, headers: dict[str, str] | None = None, **params: Any) -> bytes:
    r = await registry.client.get(
        "/v1/projects/export", params=params, headers=headers or COMMANDER
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="kuaiche-ledger-')
    assert disposition.endswith('.xlsx"')
    return r.content


def sheet_rows(content: bytes) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert sheet.title == "项目台账"
    return [[c.value for c in row] for row in sheet.iter_rows()]


async def everything(registry: Any, headers: dict[str, str] | None = None) -> list[dict]:
    r = await registry.client.get(
        "/v1/projects", params={"limit": 500}, headers=headers or COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def essence(projects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: p[k] for k in SAME} for p in projects), key=lambda p: (p["county"], p["name"])
    )


async def several(registry: Any) -> list[dict[str, Any]]:
    """Projects at every initial stage, with and without the optional fields."""
    full = await create_project(
        registry,
        name="滨城区高端铝材项目",
        county=BINCHENG,
        level="provincial_major_construction",
        stage="started",
        code=unique_code(),
        total_investment="189600.1234",
        planned_start="2019-08-09",
        planned_completion="2021-02-28",
        actual_start="2019-08-09",
        owner="滨州鼎盛供应链管理有限公司",
        leader="陆副市长",
        service_officer="崔婷波",
        responsible_unit="滨城区交通运输局",
        industry="现代物流",
        tags=["新基建", "补短板"],
        content="建设电商物流产业园仓储、分拣及配送设施20万平方米",
        location={"lng": "117.9136", "lat": "37.4605"},
    )
    bare = await create_project(
        registry,
        name=unique_name("准备类"),
        county=BOXING,
        level=None,
        track="preparation",
        total_investment="0",
        planned_start=None,
        planned_completion=None,
        owner=None,
        leader=None,
        responsible_unit=None,
        industry=None,
        tags=[],
    )
    done = await create_project(
        registry,
        county=ZOUPING,
        level="county_key",
        stage="completed",
        actual_start="2019-03-01",
        actual_completion="2020-01-15",
        total_investment="99999999999.9999",  # the most digits an amount has: still exact
    )
    reserve = await create_project(registry, county=ZOUPING, stage="reserve", level="city_key")
    return [full, bare, done, reserve]


async def test_the_export_is_the_ledger_cell_by_cell(registry) -> None:
    full = (await several(registry))[0]
    rows = sheet_rows(await export(registry))
    assert rows[0] == HEADER == [c.label for c in COLUMNS]  # the import template's columns
    assert len(rows) == 5
    assert rows[1] == [
        "滨城区高端铝材项目",
        "滨城区",
        "省重大建设类",
        "实施类",
        "开工",
        full["code"],
        189600.1234,
        "万元",
        dt.datetime(2019, 8, 9),
        dt.datetime(2021, 2, 28),
        dt.datetime(2019, 8, 9),
        None,
        "滨州鼎盛供应链管理有限公司",
        "陆副市长",
        "崔婷波",
        "滨城区交通运输局",
        "现代物流",
        "新基建；补短板",
        "建设电商物流产业园仓储、分拣及配送设施20万平方米",
        117.9136,
        37.4605,
    ]
    bare = rows[2]
    assert bare[1:8] == ["博兴县", None, "准备类", "谋划", None, 0, "万元"]
    assert bare[8:] == [None] * 13
    done = rows[3]
    assert done[1:8] == ["邹平市", "县重点", "实施类", "竣工", None, 99999999999.9999, "万元"]
    assert done[10:12] == [dt.datetime(2019, 3, 1), dt.datetime(2020, 1, 15)]
    assert rows[4][1:5] == ["邹平市", "市重点", "实施类", "储备"]
    sheet = load_workbook(io.BytesIO(await export(registry))).worksheets[0]
    assert sheet["I2"].number_format == "yyyy-mm-dd"
    assert sheet.freeze_panes == "A2"


async def test_an_export_imports_into_a_fresh_registry_as_the_same_projects(
    registry, fresh_registry
) -> None:
    await several(registry)
    content = await export(registry)
    r = await fresh_registry.client.post(
        "/v1/projects/import",
        files={"file": ("台账.xlsx", content, XLSX)},
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 4
    assert essence(await everything(fresh_registry)) == essence(await everything(registry))
    # and the fresh registry's export is the same ledger
    assert sheet_rows(await export(fresh_registry)) == sheet_rows(content)


async def test_text_stays_text(registry, fresh_registry) -> None:
    """A name that looks like a formula is written as text (no formula runs when the ledger is
    opened); characters a workbook cannot hold are left out."""
    formula = await create_project(
        registry, name='=HYPERLINK("http://x","点我")', code=unique_code()
    )
    await create_project(registry, name="控制\x01字符项目", county=BOXING)
    content = await export(registry)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet["A2"].value == formula["name"] and sheet["A2"].data_type == "s"
    assert sheet["A3"].value == "控制字符项目"
    r = await fresh_registry.client.post(
        "/v1/projects/import", files={"file": ("a.xlsx", content, XLSX)}, headers=COMMANDER
    )
    assert r.status_code == 201, r.text
    names = {p["name"] for p in await everything(fresh_registry)}
    assert names == {formula["name"], "控制字符项目"}


async def test_the_export_takes_the_list_filters_and_its_scope(registry) -> None:
    full, bare, done, reserve = await several(registry)
    names = lambda content: [row[0] for row in sheet_rows(content)[1:]]  # noqa: E731
    assert names(await export(registry, county=ZOUPING)) == [done["name"], reserve["name"]]
    assert names(await export(registry, key="false")) == [bare["name"]]
    assert names(await export(registry, tag="补短板")) == [full["name"]]
    assert names(await export(registry, stage="completed", county="邹平市")) == [done["name"]]
    assert names(await export(registry, q="铝材")) == [full["name"]]
    # a county exports its own projects only; another county's ledger is empty, as its list is
    own = county_token(ZOUPING)
    assert names(await export(registry, own)) == [done["name"], reserve["name"]]
    assert sheet_rows(await export(registry, own, county=BINCHENG)) == [HEADER]


async def test_a_withdrawn_project_is_exported_as_such_and_not_imported(
    registry, fresh_registry
) -> None:
    """The ledger shows a withdrawn project 退出; registering one is no import's to do (a
    withdrawal is a move of its own), so that row is refused by name, and nothing imported."""
    kept = await create_project(registry)
    gone = await create_project(registry, county=BOXING)
    assert (
        await move(registry, gone["id"], "withdrawn", "2020-04-01", "不再实施")
    ).status_code == 200
    content = await export(registry)
    rows = sheet_rows(content)
    assert [(r[0], r[4]) for r in rows[1:]] == [(kept["name"], "谋划"), (gone["name"], "退出")]
    r = await fresh_registry.client.post(
        "/v1/projects/import", files={"file": ("a.xlsx", content, XLSX)}, headers=COMMANDER
    )
    body = problem(r, 409)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "阶段")]
    assert await everything(fresh_registry) == []
    r = await fresh_registry.client.post(
        "/v1/projects/import",
        files={"file": ("a.xlsx", await export(registry, stage="planning"), XLSX)},
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text


async def test_bad_input_is_refused(registry) -> None:
    for params, status in (
        ({"county": "999999"}, 409),
        ({"level": "mayor"}, 422),
        ({"track": "fast"}, 422),
        ({"q": "x" * 101}, 422),
    ):
        problem(
            await registry.client.get("/v1/projects/export", params=params, headers=COMMANDER),
            status,
        )
    problem(await registry.client.get("/v1/projects/export"), 401)


async def test_the_demo_library_exports_and_imports_whole(registry, fresh_registry) -> None:
    """The demo's 1,191 projects (7,844 亿元, 433 on the key list) through one export and one
    import: the fresh registry's summary and projects are the demo's."""
    await SERVICE.load_demo(registry.runtime)  # type: ignore[misc]
    content = await export(registry)
    assert len(sheet_rows(content)) == 1 + 1191
    r = await fresh_registry.client.post(
        "/v1/projects/import", files={"file": ("demo.xlsx", content, XLSX)}, headers=COMMANDER
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 1191
    summaries = []
    for r_ in (registry, fresh_registry):
        answer = await r_.client.get("/v1/projects/summary", headers=COMMANDER)
        summaries.append(answer.json())
    assert summaries[0] == summaries[1]
    assert (
        summaries[0]["projects"],
        summaries[0]["total_investment"],
        summaries[0]["key_projects"],
    ) == (1191, "78440000", 433)
    by_level = {r["level"]: r["projects"] for r in summaries[0]["by_level"]}
    assert by_level["provincial_major_construction"] == 10

    async def every(reg: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while len(items) < 1191:
            page = await reg.client.get(
                "/v1/projects", params={"limit": 500, "offset": len(items)}, headers=COMMANDER
            )
            items += page.json()["items"]
        return items

    assert essence(await every(fresh_registry)) == essence(await every(registry))


@pytest.fixture
async def registry_pg(tmp_path: Path, postgres_url: str) -> AsyncIterator[RunningService]:
    data = tmp_path / "pg"
    data.mkdir()
    app, lifespan = await start_service(
        SERVICE, make_settings("registry", postgres_url, data), InProcessBus()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pg") as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)


async def test_on_postgresql_the_sums_are_exact_and_the_export_reimports(
    registry_pg, fresh_registry
) -> None:
    """The same on PostgreSQL (NUMERIC amounts): the summary's sums and the round trip."""
    await several(registry_pg)
    r = await registry_pg.client.get("/v1/projects/summary", headers=COMMANDER)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["projects"], s["total_investment"], s["key_projects"]) == (
        4,
        "100000201600.6233",
        3,
    )
    content = await export(registry_pg, tag="补短板")
    assert len(sheet_rows(content)) == 2
    r = await fresh_registry.client.post(
        "/v1/projects/import", files={"file": ("pg.xlsx", content, XLSX)}, headers=COMMANDER
    )
    assert r.status_code == 201, r.text
    mine = [p for p in await everything(registry_pg) if "补短板" in p["tags"]]
    assert essence(await everything(fresh_registry)) == essence(mine)
