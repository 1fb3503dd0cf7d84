"""The file reader: CSV or XLSX bytes → numbered rows of cells, within limits that keep a
hostile file (a zip bomb, a sheet of a million blank rows or of rows 16,384 cells wide) from
taking the server down.

A file of another type is 415; past a limit, 413; a file that cannot be read as its type says,
409 (the request's schema, a binary file part, cannot state what the file holds)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from shared.errors import PayloadTooLarge, RuleViolation, UnsupportedMediaType

MAX_ROWS = 20_000  # data rows
MAX_SHEET_ROWS = 50_000  # rows in all, blank ones included (a sheet of empty rows is no ledger)
MAX_COLUMNS = 100  # cells right of it are not read, like those right of the last header
MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024  # the workbook's parts together, unzipped
MAX_COMPRESSION_RATIO = 200  # a part this much smaller zipped, and large, is a zip bomb
RATIO_CHECKED_ABOVE = 10 * 1024 * 1024  # unzipped bytes; smaller parts may compress as they like

Cell = Any  # str | int | float | Decimal | datetime | date | time | bool | None
Rows = Iterator[tuple[int, list[Cell]]]  # (spreadsheet row number, from 1; the row's cells)

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": CSV, "xlsx": XLSX}


def sheet_rows(filename: str, content: bytes, media_type: str | None = None) -> Rows:
    """The rows of the file's first sheet, numbered as a spreadsheet does. The file's type is
    its name's suffix (.csv, .xlsx), else its media type; UnsupportedMediaType for neither,
    RuleViolation when the file cannot be read, PayloadTooLarge past MAX_SHEET_ROWS rows."""
    return _capped(_rows(filename, content, media_type))


def _decode_csv(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RuleViolation(
        "ledger rejected: cannot decode the CSV (use UTF-8 or GBK)",
        errors=[{"row": 1, "column": None, "message": "not UTF-8 or GBK/GB18030 text"}],
    )


def _csv_rows(content: bytes) -> Rows:
    text = _decode_csv(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise RuleViolation(
            f"ledger rejected: malformed CSV ({exc})",
            errors=[{"row": reader.line_num, "column": None, "message": f"malformed CSV: {exc}"}],
        ) from None


def _unreadable(row: int, message: str) -> RuleViolation:
    return RuleViolation(
        "ledger rejected: not a readable XLSX workbook",
        errors=[{"row": row, "column": None, "message": message}],
    )


def _too_large(row: int, message: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"ledger rejected: {message}", errors=[{"row": row, "column": None, "message": message}]
    )


def _check_zip(content: bytes) -> None:
    """Refuse a zip bomb before openpyxl unzips it: the parts' declared sizes (which bound what
    Python's zipfile will inflate) must stay under MAX_XLSX_UNCOMPRESSED in all, and no large
    part may be compressed beyond MAX_COMPRESSION_RATIO."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable(1, f"cannot open the workbook: {exc}") from None
    total = sum(part.file_size for part in parts)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise _too_large(
            1,
            f"the workbook unzips to {total // 2**20} MiB; "
            f"the limit is {MAX_XLSX_UNCOMPRESSED // 2**20} MiB",
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_CHECKED_ABOVE and ratio > MAX_COMPRESSION_RATIO:
            raise _too_large(
                1, f"{part.filename} is compressed {ratio:.0f}:1, too much for a ledger"
            )


def _xlsx_rows(content: bytes) -> Rows:
    from openpyxl import load_workbook

    _check_zip(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML or format errors all mean "not a workbook we can read"
        raise _unreadable(1, f"cannot open the workbook: {exc}") from None
    number = 0
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong <dimension>; read every row
        cells = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        for number, row in enumerate(cells, start=1):
            yield number, list(row)
    except Exception as exc:  # the sheet's XML is read row by row: broken further down
        raise _unreadable(number + 1, f"cannot read the sheet: {exc}") from None
    finally:
        workbook.close()


def file_kind(filename: str, media_type: str | None = None) -> str | None:
    """The file's kind, "csv" or "xlsx", by its name's suffix, else by its media type; None
    for neither."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in MEDIA_TYPES:
        return suffix
    essence = (media_type or "").split(";", 1)[0].strip().lower()
    return next((kind for kind, known in MEDIA_TYPES.items() if known == essence), None)


def _rows(filename: str, content: bytes, media_type: str | None) -> Rows:
    kind = file_kind(filename, media_type)
    if kind == "csv":
        return _csv_rows(content)
    if kind == "xlsx":
        return _xlsx_rows(content)
    raise UnsupportedMediaType(
        f"ledger rejected: unsupported file type {filename!r} ({media_type or 'no media type'}):"
        " send a .csv or .xlsx file, or the part's Content-Type text/csv or the XLSX type",
        errors=[{"row": None, "column": None, "message": "file must be .csv or .xlsx"}],
    )


def _capped(rows: Rows) -> Rows:
    """The rows, refused past MAX_SHEET_ROWS: blank rows cost reading too (a sheet bomb of
    millions of empty rows would otherwise be read to its end); and no wider than MAX_COLUMNS."""
    for number, row in rows:
        if number > MAX_SHEET_ROWS:
            raise PayloadTooLarge(
                f"ledger rejected: more than {MAX_SHEET_ROWS} rows",
                errors=[
                    {
                        "row": number,
                        "column": None,
                        "message": f"limit is {MAX_SHEET_ROWS} rows in all, blank ones included",
                    }
                ],
            )
        yield number, row[:MAX_COLUMNS]
