"""Ledger import 台账导入 (CSV and XLSX): all or nothing, row-and-column errors, 亿元 → 万元,
the caller's county, and the downloadable templates."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.api.registry.helpers import (
    BINCHENG,
    ZOUPING,
    county_actor,
    county_token,
    create_project,
    department_token,
    events_since,
    future_date,
    nothing_written,
    outbox_count,
    problem,
    read_project,
    unique_code,
    unique_name,
)
from tests.conftest import COMMANDER, VIEWER

REGISTERED = "kuaiche.project.registered.v1"
HEADERS = [
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
    "标签",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _row(**cells: Any) -> list[Any]:
    values: dict[str, Any] = {
        "项目名称": unique_name("导入项目"),
        "县区": "滨城区",
        "级别": "市重点",
        "类别": "实施类",
        "阶段": "储备",
        "项目代码": "",
        "总投资": "5000",
        "单位": "万元",
        "计划开工": "2020-06",
        "计划竣工": "2021-12-31",
        "实际开工": "",
        "标签": "新基建；补短板",
    }
    values.update(cells)
    return [values[h] for h in HEADERS]


def _csv(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[list[Any]], title: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def _import(registry, filename: str, content: bytes, headers=COMMANDER, mime="text/csv"):
    return await registry.client.post(
        "/v1/projects/import", files={"file": (filename, content, mime)}, headers=headers
    )


async def _by_name(registry, name: str) -> dict[str, Any]:
    r = await registry.client.get("/v1/projects", params={"q": name}, headers=COMMANDER)
    items = r.json()["items"]
    assert len(items) == 1, items
    return items[0]  # type: ignore[no-any-return]


def _errors(body: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(e["row"], e["column"]) for e in body["errors"]]


# ---------------------------------------------------------------- accepted files
async def test_a_csv_ledger_is_imported_with_one_event_per_project(registry):
    code = unique_code("old", region="371681")
    rows = [
        _row(),
        _row(县区="371624", 级别="", 类别="准备类", 阶段="谋划", 总投资="1.5", 单位="亿元"),
        _row(县区="邹平市", 项目代码=code, 阶段="开工", 实际开工="2020-03-15", 级别="省重大建设类"),
    ]
    before = await outbox_count(registry)
    r = await _import(registry, "台账.csv", _csv(rows))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["imported"] == 3
    assert len(body["ids"]) == 3

    first = await read_project(registry, body["ids"][0])
    assert first["name"] == rows[0][0]
    assert (first["county"], first["level"], first["track"], first["stage"]) == (
        BINCHENG,
        "city_key",
        "implementation",
        "reserve",
    )
    assert first["total_investment"] == "5000"
    assert (first["planned_start"], first["planned_completion"]) == ("2020-06-01", "2021-12-31")
    assert first["tags"] == ["新基建", "补短板"]

    second = await read_project(registry, body["ids"][1])
    assert second["county"] == "371603"  # the old code resolved
    assert second["level"] is None
    assert second["track"] == "preparation"
    assert second["total_investment"] == "15000"  # 1.5 亿元

    third = await read_project(registry, body["ids"][2])
    assert (third["county"], third["code"], third["stage"], third["actual_start"]) == (
        ZOUPING,
        code,
        "started",
        "2020-03-15",
    )
    assert third["code_info"]["format"] == "old"

    events = await events_since(registry, before)
    assert [e["type"] for e in events] == [REGISTERED] * 3
    assert [e["subject"] for e in events] == body["ids"]
    assert [e["county"] for e in events] == [BINCHENG, "371603", ZOUPING]
    assert all(e["sequence"] == 1 and e["actor"] == "commander:dev-commander" for e in events)


async def test_an_xlsx_ledger_is_imported_and_yi_yuan_becomes_wan_yuan(registry):
    rows = [
        _row(总投资=12.35, 单位="亿元", 计划开工=dt.datetime(2020, 6, 1), 县区=371681),
        _row(总投资=8000, 单位="万元", 计划竣工=dt.date(2022, 6, 30)),
    ]
    r = await _import(
        registry, "ledger.xlsx", _xlsx(rows, title="滨州市2020年重点项目台账"), mime=XLSX
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    yi = await _by_name(registry, rows[0][0])
    assert yi["total_investment"] == "123500"  # 12.35 亿元, no binary noise
    assert (yi["county"], yi["planned_start"]) == (ZOUPING, "2020-06-01")
    wan = await _by_name(registry, rows[1][0])
    assert (wan["total_investment"], wan["planned_completion"]) == ("8000", "2022-06-30")


async def test_a_county_imports_its_own_projects(registry):
    rows = [_row(县区="滨城区"), _row(县区="371602")]
    before = await outbox_count(registry)
    r = await _import(registry, "own.csv", _csv(rows), headers=county_token(BINCHENG))
    assert r.status_code == 201, r.text
    events = await events_since(registry, before)
    assert [e["actor"] for e in events] == [county_actor(BINCHENG)] * 2


# ---------------------------------------------------------------- all or nothing
async def test_one_bad_row_among_good_ones_imports_nothing(registry):
    rows = [_row(), _row(总投资="五千"), _row(), _row(县区="济南市", 计划开工="2020-13-01")]
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", _csv(rows))
    body = problem(r, 409)  # what a file holds is no schema's to state: 409
    assert "nothing was imported" in body["detail"] or "rejected" in body["detail"]
    assert sorted(_errors(body)) == [(3, "总投资"), (5, "县区"), (5, "计划开工")]
    by_cell = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "not a number" in by_cell[(3, "总投资")]
    assert "济南市" in by_cell[(5, "县区")]
    for row in rows:  # not even the good rows
        r = await registry.client.get("/v1/projects", params={"q": row[0]}, headers=COMMANDER)
        assert r.json()["total"] == 0


async def test_one_bad_row_in_an_xlsx_imports_nothing(registry):
    rows = [_row(), _row(类别="", 阶段="开工")]  # no track, and started without a start date
    async with nothing_written(registry):
        r = await _import(registry, "ledger.xlsx", _xlsx(rows), mime=XLSX)
    body = problem(r, 409)
    assert sorted(_errors(body)) == [(3, "实际开工"), (3, "类别")]


async def test_a_rule_the_service_checks_also_refuses_the_whole_file(registry):
    """A future actual start passes the parser; the service refuses it with its row."""
    rows = [_row(), _row(阶段="开工", 实际开工=str(future_date()))]
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", _csv(rows))
    body = problem(r, 409)
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["row"] == 3
    assert error["column"] in ("actual_start", "实际开工")
    assert "future" in error["message"]


async def test_dates_that_do_not_fit_the_stage_are_refused_with_row_and_column(registry):
    """The registration's own rules speak for every row: its errors name the row and column."""
    headers = ["项目名称", "县区", "类别", "总投资", "阶段"]
    headers += ["实际开工", "实际竣工", "计划开工", "计划竣工"]
    rows = [
        [unique_name("甲"), "滨城区", "实施类", "1", "开工", "", "", "", ""],
        [unique_name("乙"), "滨城区", "实施类", "1", "竣工", "2020-04-01", "2020-03-01", "", ""],
        [unique_name("丙"), "滨城区", "实施类", "1", "储备", "2020-04-01", "", "", ""],
        [unique_name("丁"), "滨城区", "实施类", "1", "储备", "", "", "2021-01", "2020-12-31"],
        [unique_name("戊"), "滨城区", "类别不明", "1", "储备", "", "2020-03-01", "", ""],
    ]
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", _csv(rows, headers=headers))
    body = problem(r, 409)
    assert _errors(body) == [
        (2, "实际开工"),
        (3, "实际竣工"),
        (4, "实际开工"),
        (5, "计划竣工"),
        (6, "类别"),  # the file's own error, and the rule's on the same row
        (6, "实际竣工"),
    ]


async def test_a_duplicate_code_within_the_file_is_reported_with_its_row(registry):
    code = unique_code()
    rows = [_row(项目代码=code), _row(), _row(项目代码=code.lower())]
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", _csv(rows))
    body = problem(r, 409)
    assert _errors(body) == [(4, "项目代码")]
    assert "row 2" in body["errors"][0]["message"]


async def test_a_code_that_is_already_registered_is_reported_with_its_row(registry):
    code = unique_code()
    existing = await create_project(registry, code=code)
    rows = [_row(), _row(项目代码=code)]
    async with nothing_written(registry, existing["id"]):
        r = await _import(registry, "ledger.csv", _csv(rows))
    body = problem(r, 409)
    assert [e["row"] for e in body["errors"]] == [3]
    assert body["errors"][0]["column"] in ("code", "项目代码")
    assert "already registered" in body["errors"][0]["message"]


async def test_a_service_error_names_the_right_row_after_a_title_line(registry):
    code = unique_code()
    await create_project(registry, code=code)
    rows = [_row(), _row(项目代码=code)]  # spreadsheet rows 3 and 4 under a title line
    r = await _import(registry, "ledger.xlsx", _xlsx(rows, title="滨州市重点项目台账"), mime=XLSX)
    assert [e["row"] for e in problem(r, 409)["errors"]] == [4]


async def test_a_county_importing_another_countys_row_is_refused(registry):
    rows = [_row(县区="滨城区"), _row(县区="邹平市"), _row(县区="滨城区")]
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", _csv(rows), headers=county_token(BINCHENG))
    body = problem(r, 409)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "县区")]
    assert ZOUPING in body["errors"][0]["message"]
    for row in rows:
        r = await registry.client.get("/v1/projects", params={"q": row[0]}, headers=COMMANDER)
        assert r.json()["total"] == 0


@pytest.mark.parametrize("who", ["viewer", "department"])
async def test_only_writers_import(registry, who):
    headers = VIEWER if who == "viewer" else department_token()
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", _csv([_row()]), headers=headers)
    problem(r, 403)


@pytest.mark.parametrize(
    ("filename", "content", "words"),
    [
        ("ledger.csv", b"", "empty"),
        ("ledger.xlsx", b"not a zip", "XLSX"),
        ("ledger.csv", "项目名称,县区\n甲,滨城区\n".encode(), "2 errors"),  # no 类别, 总投资
        ("ledger.csv", _csv([]), "1 errors"),  # headers and no rows
    ],
    ids=["empty", "not-xlsx", "missing-columns", "no-rows"],
)
async def test_an_unreadable_file_is_409_and_imports_nothing(registry, filename, content, words):
    async with nothing_written(registry):
        r = await _import(registry, filename, content)
    body = problem(r, 409)
    assert words in body["detail"]
    assert body["errors"]


@pytest.mark.parametrize(
    ("filename", "mime"),
    [
        ("ledger.txt", "text/plain"),
        ("ledger.xls", "application/vnd.ms-excel"),
        ("file", "application/octet-stream"),
    ],
)
async def test_a_file_neither_csv_nor_xlsx_is_415(registry, filename, mime):
    async with nothing_written(registry):
        r = await _import(registry, filename, _csv([_row()]), mime=mime)
    body = problem(r, 415)
    assert "unsupported file type" in body["detail"]
    assert body["errors"] == [
        {"row": None, "column": None, "message": "file must be .csv or .xlsx"}
    ]


@pytest.mark.parametrize(("mime", "content"), [("text/csv", None), (XLSX, "xlsx")])
async def test_a_file_without_a_suffix_is_read_as_its_media_type_says(registry, mime, content):
    row = _row()
    data = _csv([row]) if content is None else _xlsx([row])
    r = await _import(registry, "file", data, mime=mime)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 1
    assert (await _by_name(registry, row[0]))["name"] == row[0]


async def test_a_file_over_the_limit_is_413_and_imports_nothing(registry, monkeypatch):
    from services.registry import api

    content = _csv([_row()])
    monkeypatch.setattr(api, "MAX_IMPORT_BYTES", len(content) - 1)
    async with nothing_written(registry):
        r = await _import(registry, "ledger.csv", content)
    body = problem(r, 413)
    assert body["errors"] == [{"field": "file", "message": "too large"}]


async def test_an_import_without_a_file_is_422(registry):
    r = await registry.client.post("/v1/projects/import", headers=COMMANDER, data={"x": "1"})
    assert "file" in {e["field"] for e in problem(r, 422)["errors"]}


# ---------------------------------------------------------------- templates
@pytest.mark.parametrize(("fmt", "mime"), [("xlsx", XLSX), ("csv", "text/csv")])
async def test_the_template_parses_back_through_the_import(registry, fmt, mime):
    r = await registry.client.get(
        "/v1/projects/import/template", params={"format": fmt}, headers=COMMANDER
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(mime)
    assert f"kuaiche-ledger-template.{fmt}" in r.headers["content-disposition"]

    before = await outbox_count(registry)
    r = await _import(registry, f"template.{fmt}", r.content, mime=mime)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 1
    project = await read_project(registry, r.json()["ids"][0])
    assert project["name"] == "邹平市年产30万吨高端铝材项目"
    assert (project["county"], project["level"], project["stage"]) == (
        ZOUPING,
        "city_key",
        "reserve",
    )
    assert project["total_investment"] == "123500"  # 12.35 亿元
    assert project["code"] == "2020-371681-32-03-000128"
    assert project["location"] == {"lng": "117.7421", "lat": "36.8695"}
    assert [e["type"] for e in await events_since(registry, before)] == [REGISTERED]


async def test_the_default_template_is_xlsx_with_the_chinese_headers(registry):
    r = await registry.client.get("/v1/projects/import/template", headers=VIEWER)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    headers = [c.value for c in sheet[1]]
    assert headers[:8] == ["项目名称", "县区", "级别", "类别", "阶段", "项目代码", "总投资", "单位"]


async def test_an_unknown_template_format_is_422(registry):
    r = await registry.client.get(
        "/v1/projects/import/template", params={"format": "pdf"}, headers=COMMANDER
    )
    assert "format" in {e["field"] for e in problem(r, 422)["errors"]}
