"""Ledger import limits: what cannot be stored or would take the server down is a row error
(absurd digits, NUL characters), and zip bombs, sheets of millions of blank rows or of rows
16,384 cells wide are refused or cut short (how long that takes: bench/registry_parsing.py)."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook

from services.registry.importing import reader
from services.registry.importing.mapping import parse_ledger
from shared.errors import KuaicheError

HEADERS = ["项目名称", "县区", "类别", "总投资", "单位", "经度", "纬度"]
ROW = ["甲项目", "滨城区", "实施类", "5000", "万元", "117.9", "37.3"]


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in rows).encode()


def xlsx_bytes(sheet: Workbook) -> bytes:
    buffer = io.BytesIO()
    sheet.save(buffer)
    return buffer.getvalue()


def ledger_xlsx() -> Workbook:
    workbook = Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append(ROW)
    return workbook


def rejected(filename: str, content: bytes, status: int = 409) -> list[dict]:
    """The errors of a ledger refused with `status`: 409 for what the file holds (no schema
    states it), 413 past a limit, 415 for a file of another type."""
    with pytest.raises(KuaicheError) as info:
        parse_ledger(filename, content)
    assert info.value.status == status
    assert info.value.detail.startswith("ledger rejected")
    return getattr(info.value, "errors", None) or info.value.extra["errors"]


def one_row(**cells: str) -> bytes:
    values = dict(zip(HEADERS, ROW, strict=True)) | cells
    return csv_bytes([HEADERS, [values[h] for h in HEADERS]])


# ---------------------------------------------------------------- digits
@pytest.mark.parametrize(
    ("cells", "total"),
    [
        ({"总投资": "99999999999.9999"}, "99999999999.9999"),
        ({"总投资": "1E+3"}, "1000"),
        ({"总投资": "1.12345678", "单位": "亿元"}, "11234.5678"),
        ({"总投资": "9999999.99999999", "单位": "亿元"}, "99999999999.9999"),
        ({"总投资": "0.0001"}, "0.0001"),
    ],
)
def test_amounts_up_to_11_digits_and_4_decimals_in_wan_yuan_are_read(cells, total) -> None:
    [project] = parse_ledger("a.csv", one_row(**cells))
    assert project.total_investment == Decimal(total)


@pytest.mark.parametrize(
    "cells",
    [
        {"总投资": "1e400"},
        {"总投资": "1e28"},
        {"总投资": "1e-999999"},
        {"总投资": "123456789012"},
        {"总投资": "1.00001"},
        {"总投资": "10000000", "单位": "亿元"},
        {"总投资": "1.000000001", "单位": "亿元"},
    ],
)
def test_amounts_with_too_many_digits_are_a_row_error(cells) -> None:
    errors = rejected("a.csv", one_row(**cells))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "总投资")]
    assert "at most 11 digits before the decimal point and 4 after it" in errors[0]["message"]


@pytest.mark.parametrize("value", ["1e999", "1e-999999", "117.1234567", "12345.1"])
def test_coordinates_the_column_cannot_hold_are_a_row_error(value) -> None:
    errors = rejected("a.csv", one_row(经度=value))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "经度")]


def test_a_coordinate_with_six_decimals_is_read() -> None:
    [project] = parse_ledger("a.csv", one_row(经度="-117.123456", 纬度="1E+1"))
    assert project.location is not None
    assert (project.location.lng, project.location.lat) == (Decimal("-117.123456"), 10)


def test_a_float_cell_with_absurd_exponent_is_a_row_error() -> None:
    workbook = ledger_xlsx()
    workbook.active["D2"] = 1e300
    workbook.active["F2"] = 1e-300
    errors = rejected("a.xlsx", xlsx_bytes(workbook))
    assert [(e["row"], e["column"]) for e in errors] == [(2, "总投资"), (2, "经度")]


# ---------------------------------------------------------------- NUL
@pytest.mark.parametrize("column", ["项目名称", "县区", "总投资", "单位", "经度"])
def test_a_nul_in_a_csv_cell_is_a_row_error(column) -> None:
    values = dict(zip(HEADERS, ROW, strict=True))
    errors = rejected("a.csv", one_row(**{column: values[column] + "\x00"}))
    assert errors == [{"row": 2, "column": column, "message": "must not contain NUL characters"}]


# ---------------------------------------------------------------- zip bombs
def test_an_xlsx_that_unzips_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    content = xlsx_bytes(ledger_xlsx())
    assert len(parse_ledger("a.xlsx", content)) == 1
    monkeypatch.setattr(reader, "MAX_XLSX_UNCOMPRESSED", 4096)
    errors = rejected("a.xlsx", content, status=413)
    assert errors[0]["row"] == 1 and "unzips to" in errors[0]["message"]


def test_an_xlsx_with_a_part_compressed_beyond_reason_is_refused() -> None:
    buffer = io.BytesIO(xlsx_bytes(ledger_xlsx()))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(11 * 1024 * 1024))  # ~1000:1
    errors = rejected("a.xlsx", buffer.getvalue(), status=413)
    assert "xl/media/padding.bin is compressed" in errors[0]["message"]


# ---------------------------------------------------------------- blank and wide rows
def test_a_million_blank_rows_are_refused_at_the_cap() -> None:
    workbook = ledger_xlsx()
    workbook.active.cell(row=1_048_576, column=1, value="末行")  # Excel's last row; a few KB
    content = xlsx_bytes(workbook)
    errors = rejected("a.xlsx", content, status=413)
    assert errors == [
        {
            "row": reader.MAX_SHEET_ROWS + 1,
            "column": None,
            "message": f"limit is {reader.MAX_SHEET_ROWS} rows in all, blank ones included",
        }
    ]


def test_blank_csv_lines_count_towards_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_SHEET_ROWS", 100)
    ledger = csv_bytes([HEADERS, ROW]) + b"\n"
    assert len(parse_ledger("a.csv", ledger + b"\n" * 98)) == 1  # 100 rows
    errors = rejected("a.csv", ledger + b"\n" * 99, status=413)
    assert errors[0]["row"] == 101


def test_cells_right_of_the_column_cap_are_not_read() -> None:
    workbook = ledger_xlsx()
    for row in range(3, 5_000):
        workbook.active.cell(row=row, column=16_384, value="x")  # XFD: 16,384 cells a row
    content = xlsx_bytes(workbook)
    [project] = parse_ledger("a.xlsx", content)
    assert project.name == "甲项目"
