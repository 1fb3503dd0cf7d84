"""Workbooks people open in Excel (the ledger export, the exposure notices): one way to write a
row, so every export keeps the same promises. Text stays text (a name starting with "=" is
never a formula), characters XML cannot hold (control characters) are left out, dates read as
dates, and each column's width follows its longest value."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any


def write_row(sheet: Any, number: int, values: Sequence[Any], widths: list[int]) -> None:
    """Write `values` into row `number` of an openpyxl sheet; `widths` (characters per
    column) grows to what the row holds. None leaves the cell empty."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for position, value in enumerate(values, start=1):
        if value is None:
            continue
        text = isinstance(value, str)
        if text:
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = sheet.cell(row=number, column=position, value=value)
        if text:
            cell.data_type = "s"  # never a formula
        elif isinstance(value, dt.date):
            cell.number_format = "yyyy-mm-dd"
        widths[position - 1] = max(widths[position - 1], len(str(value)))


def saved(book: Any) -> bytes:
    """An openpyxl workbook as XLSX bytes."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
