"""Ledger import 台账导入: CSV/XLSX parsing, templates, all-or-nothing errors."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from services.registry.domain.enums import Level, Stage, Track
from services.registry.importing import reader
from services.registry.importing.columns import (
    COLUMNS,
    ledger_template_csv,
    ledger_template_xlsx,
)
from services.registry.importing.mapping import parse_ledger, read_ledger
from shared.errors import KuaicheError

HEADERS = ["项目名称", "县区", "级别", "类别", "阶段", "总投资", "单位", "计划开工", "标签"]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(row) for row in rows).encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rejected(filename: str, content: bytes, status: int = 409) -> list[dict]:
    """The errors of a ledger refused with `status`: 409 for what the file holds (no schema
    states it), 413 past a limit, 415 for a file of another type."""
    with pytest.raises(KuaicheError) as info:
        parse_ledger(filename, content)
    assert info.value.status == status
    assert info.value.detail.startswith("ledger rejected")
    return getattr(info.value, "errors", None) or info.value.extra["errors"]


def rejected_at(rows: list[list[str]]) -> list[tuple[int, str]]:
    """Where a CSV ledger of `rows` is rejected: each error's (row, column), in order."""
    return [(e["row"], e["column"]) for e in rejected("a.csv", csv_bytes(rows))]


# ---------------------------------------------------------------- round trips


def test_csv_round_trip() -> None:
    content = csv_bytes(
        [
            HEADERS,
            [
                "滨城区智慧物流园项目",
                "滨城区",
                "市重点",
                "实施类",
                "储备",
                "35000",
                "万元",
                "2020/03/15",
                "新基建；补短板",
            ],
            ["惠民县绳网产业园项目", "371621", "", "准备类", "谋划", "2.5", "亿元", "2021-05", ""],
        ]
    )
    first, second = parse_ledger("台账.csv", content)
    assert first.name == "滨城区智慧物流园项目"
    assert first.county == "371602"
    assert first.level is Level.CITY_KEY
    assert first.track is Track.IMPLEMENTATION
    assert first.stage is Stage.RESERVE
    assert first.total_investment == Decimal("35000")
    assert first.planned_start == dt.date(2020, 3, 15)
    assert first.tags == ["新基建", "补短板"]
    assert second.level is None
    assert second.track is Track.PREPARATION
    assert second.stage is Stage.PLANNING
    assert second.total_investment == Decimal("25000")
    assert second.planned_start == dt.date(2021, 5, 1)


def test_csv_with_bom_and_english_headers() -> None:
    content = "\ufeffname,county,track,total_investment,level,stage,lng,lat\n".encode()
    row = "阳信县肉牛屠宰加工项目,阳信县,implementation,8000,county_key,planning,117.58,37.64\n"
    content += row.encode()
    (project,) = parse_ledger("ledger.CSV", content)
    assert project.level is Level.COUNTY_KEY
    assert project.location is not None
    assert project.location.lng == Decimal("117.58")


def test_xlsx_round_trip_with_typed_cells() -> None:
    content = xlsx_bytes(
        [
            [
                "项目名称",
                "县区",
                "级别",
                "类别",
                "阶段",
                "总投资",
                "单位",
                "实际开工",
                "计划竣工",
                "项目代码",
                "经度",
                "纬度",
            ],
            [
                "邹平市年产30万吨高端铝材项目",
                371681,
                "省重大建设类",
                "实施类",
                "开工",
                1.2345,
                "亿元",
                dt.datetime(2019, 10, 8),
                "2021-12",
                "2019-371681-32-03-000001",
                117.7421,
                36.8695,
            ],
            [None] * 12,  # blank row in the middle is skipped
            [
                "博兴县厨具产业园项目",
                "博兴县",
                None,
                "实施类",
                None,
                42000,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
        ]
    )
    first, second = parse_ledger("ledger.xlsx", content)
    assert first.county == "371681"
    assert first.level is Level.PROVINCIAL_MAJOR_CONSTRUCTION
    assert first.total_investment == Decimal("12345")
    assert first.actual_start == dt.date(2019, 10, 8)
    assert first.planned_completion == dt.date(2021, 12, 1)
    assert first.code == "2019-371681-32-03-000001"
    assert first.location is not None
    assert first.location.lat == Decimal("36.8695")
    assert second.total_investment == Decimal("42000")
    assert second.stage is Stage.PLANNING


@pytest.mark.parametrize("amount", ["1.2345", "1.23450000"])
def test_yi_conversion_is_exact(amount: str) -> None:
    content = csv_bytes(
        [
            ["项目名称", "县区", "类别", "总投资", "单位"],
            ["沾化区冬枣深加工项目", "沾化区", "实施类", amount, "亿元"],
        ]
    )
    (project,) = parse_ledger("a.csv", content)
    assert project.total_investment == Decimal("12345")
    assert str(project.total_investment) == "12345"


def test_yi_conversion_from_float_cell_has_no_binary_noise() -> None:
    content = xlsx_bytes(
        [
            ["项目名称", "县区", "类别", "总投资", "单位"],
            ["无棣县风电项目", "无棣县", "实施类", 0.1 + 0.2, "亿元"],
            ["无棣县光伏项目", "无棣县", "实施类", 7.03, "亿元"],
        ]
    )
    first, second = parse_ledger("a.xlsx", content)
    assert first.total_investment == Decimal("3000")  # Excel's 15 significant digits
    assert second.total_investment == Decimal("70300")


def test_old_county_code_resolves() -> None:
    content = csv_bytes(
        [
            ["项目名称", "县区", "类别", "总投资"],
            ["沾化区渔光互补光伏发电项目", "371624", "实施类", "60000"],
            ["邹平市纺织产业园项目", "371626", "实施类", "20000"],
            ["滨城区黄河五路改造工程", "滨州市滨城区", "实施类", "9000"],
        ]
    )
    projects = parse_ledger("a.csv", content)
    assert [p.county for p in projects] == ["371603", "371681", "371602"]


def test_gbk_csv() -> None:
    content = csv_bytes(
        [
            ["项目名称", "县区", "类别", "总投资", "单位"],
            ["博兴县年产10万吨大豆分离蛋白项目", "博兴县", "实施类", "3.6", "亿元"],
        ],
        encoding="gbk",
    )
    (project,) = parse_ledger("gbk.csv", content)
    assert project.name == "博兴县年产10万吨大豆分离蛋白项目"
    assert project.total_investment == Decimal("36000")


def test_title_line_above_headers_is_skipped() -> None:
    content = xlsx_bytes(
        [
            ["滨州市重点项目台账"],
            ["项目名称", "县区", "类别", "总投资"],
            ["北海经济开发区港口物流园项目", "北海经济开发区", "实施类", 50000],
        ]
    )
    (project,) = parse_ledger("a.xlsx", content)
    assert project.county == "371693"


# ---------------------------------------------------------------- templates


def test_templates_parse() -> None:
    (from_csv,) = parse_ledger("模板.csv", ledger_template_csv())
    (from_xlsx,) = parse_ledger("模板.xlsx", ledger_template_xlsx())
    assert from_csv == from_xlsx
    assert from_csv.level is not None
    assert from_csv.total_investment == Decimal(str(COLUMNS[6].example)) * 10000


def test_csv_template_has_bom_and_chinese_headers() -> None:
    content = ledger_template_csv()
    assert content.startswith(b"\xef\xbb\xbf")
    header = content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == [c.label for c in COLUMNS]


# ---------------------------------------------------------------- errors


def test_every_error_has_row_and_column() -> None:
    content = csv_bytes(
        [
            ["项目名称", "县区", "级别", "类别", "总投资", "计划开工"],
            ["滨城区甲项目", "滨城区", "市重点", "实施类", "1000", "2020-03-01"],
            ["滨城区乙项目", "火星区", "省重点", "实施类", "-5", "2020-13-01"],
            ["", "惠民县", "", "实施类", "abc", ""],
        ]
    )
    errors = rejected("a.csv", content)
    found = {(e["row"], e["column"]) for e in errors}
    assert found == {
        (3, "县区"),
        (3, "级别"),
        (3, "总投资"),
        (3, "计划开工"),
        (4, "项目名称"),
        (4, "总投资"),
    }
    assert all(e["message"] for e in errors)


def test_error_column_is_the_header_as_written() -> None:
    content = csv_bytes(
        [["name", "county", "track", "total_investment"], ["x", "371602", "建设类", "1"]]
    )
    (error,) = rejected("a.csv", content)
    assert (error["row"], error["column"]) == (2, "track")


def test_unknown_header() -> None:
    rows = [["项目名称", "县区", "类别", "总投资", "备注"], ["a", "滨城区", "实施类", "1", "x"]]
    assert rejected_at(rows) == [(1, "备注")]


def test_missing_required_column() -> None:
    rows = [["项目名称", "县区", "总投资"], ["a", "滨城区", "1"]]
    assert rejected_at(rows) == [(1, "类别")]


def test_bad_unit() -> None:
    rows = [["项目名称", "县区", "类别", "总投资", "单位"], ["a", "滨城区", "实施类", "12", "元"]]
    assert rejected_at(rows) == [(2, "单位")]


def test_all_or_nothing() -> None:
    good = ["滨城区甲项目", "滨城区", "实施类", "1000"]
    rows = [
        ["项目名称", "县区", "类别", "总投资"],
        good,
        ["滨城区乙项目", "滨城区", "实施类", "一千"],
        ["滨城区丙项目", "滨城区", "实施类", "3000"],
    ]
    assert rejected_at(rows) == [(3, "总投资")]


def test_stage_inferred_from_actual_dates_when_blank() -> None:
    content = csv_bytes(
        [
            ["项目名称", "县区", "类别", "总投资", "实际开工"],
            ["a", "滨城区", "实施类", "1", "2020-04-01"],
        ]
    )
    (project,) = parse_ledger("a.csv", content)
    assert project.stage is Stage.STARTED


def test_duplicates_in_the_file() -> None:
    rows = [
        ["项目名称", "县区", "类别", "总投资", "项目代码"],
        ["a", "滨城区", "实施类", "1", "2020-371602-26-03-000001"],
        ["a", "371602", "实施类", "1", ""],
        ["b", "滨城区", "实施类", "1", "2020-371602-26-03-000001"],
    ]
    assert rejected_at(rows) == [(3, "项目名称"), (4, "项目代码")]


def test_empty_file_and_header_only() -> None:
    assert rejected("a.csv", b"")
    assert rejected("a.xlsx", xlsx_bytes([["项目名称", "县区", "类别", "总投资"]]))
    assert rejected("a.csv", csv_bytes([["项目名称", "县区", "类别", "总投资"], [",,,"]]))


def test_unsupported_or_broken_file() -> None:
    assert rejected("a.xls", b"whatever", status=415)
    assert rejected("a.xlsx", b"not a zip")


@pytest.mark.parametrize(
    ("filename", "media_type", "kind"),
    [
        ("a.csv", None, "csv"),
        ("A.XLSX", "text/csv", "xlsx"),  # the name's suffix comes first
        ("ledger", "text/csv; charset=utf-8", "csv"),
        ("file", reader.XLSX, "xlsx"),
        ("a.xls", "application/vnd.ms-excel", None),
        ("file", "application/octet-stream", None),
        ("", None, None),
    ],
)
def test_a_files_kind_is_its_suffix_else_its_media_type(filename, media_type, kind) -> None:
    assert reader.file_kind(filename, media_type) == kind


def test_a_csv_named_by_its_media_type_alone_is_read() -> None:
    content = csv_bytes([["项目名称", "县区", "类别", "总投资"], ["甲", "滨城区", "实施类", "1"]])
    ledger = read_ledger("file", content, media_type="text/csv")
    assert ledger.errors == [] and [r.project.name for r in ledger.rows if r.project] == ["甲"]


def test_row_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_ROWS", 2)
    rows = [["项目名称", "县区", "类别", "总投资"]]
    rows += [[f"p{i}", "滨城区", "实施类", "1"] for i in range(3)]
    errors = rejected("a.csv", csv_bytes(rows), status=413)
    assert errors[0]["row"] == 4


def test_bad_project_code() -> None:
    rows = [
        ["项目名称", "县区", "类别", "总投资", "阶段", "项目代码"],
        ["a", "滨城区", "实施类", "1", "储备", "2013-371602-26-03-000001"],
        ["b", "滨城区", "实施类", "1", "储备", "2020-371602-26-03"],
    ]
    assert rejected_at(rows) == [(2, "项目代码"), (3, "项目代码")]


def test_demo_library_round_trips_through_the_ledger() -> None:
    """The demo library, written as a ledger in 亿元, reads back to the same projects."""
    from services.registry.demo import demo_library

    projects = [item.project for item in demo_library()[:300]]
    header = [c.label for c in COLUMNS]
    rows: list[list[object]] = [header]
    for p in projects:
        values = p.model_dump(mode="json")
        values["total_investment"] = str(p.total_investment / 10000)
        values["unit"] = "亿元"
        values["tags"] = "；".join(p.tags)
        values["lng"] = p.location.lng if p.location else None
        values["lat"] = p.location.lat if p.location else None
        rows.append([values.get(c.field) for c in COLUMNS])
    parsed = parse_ledger("demo.xlsx", xlsx_bytes(rows))
    assert parsed == projects
