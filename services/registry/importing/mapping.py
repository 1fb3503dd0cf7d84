"""The row mapping: the sheet's rows → the projects they describe, each with its spreadsheet row
number (header = row 1; more under a title line). Every problem of every row is collected as
`{"row": n, "column": header as written, "message": text}`; the rules a project obeys whatever
its source (the dates a stage implies, the planned dates, who may write which county) are the
import use case's to check, not this module's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from services.registry.domain.enums import Stage
from services.registry.importing import reader
from services.registry.importing.columns import (
    AMOUNT_DIGITS,
    AMOUNT_MESSAGE,
    BY_FIELD,
    BY_HEADER,
    COLUMNS,
    CellError,
    Column,
    Context,
    cell_text,
    column_label,
    digits,
    header_key,
    tidy,
)
from services.registry.importing.reader import Cell
from services.registry.schemas import ProjectCreate
from shared.errors import PayloadTooLarge, RuleViolation
from shared.fields import NUL_MESSAGE
from shared.regions import RegionTable, load_region_table


@dataclass(frozen=True)
class LedgerRow:
    """A data row: the `values` its cells were read as (ProjectCreate's fields; the stage given,
    or inferred from the actual dates), the fields it lacks because a cell could not be read or
    a required one is blank (`unread`), and the project when the row has no error of its own."""

    number: int
    values: dict[str, Any]
    unread: frozenset[str]
    project: ProjectCreate | None


@dataclass(frozen=True)
class Ledger:
    rows: list[LedgerRow]
    errors: list[dict[str, Any]]  # the rows' own errors, in row order
    headers: dict[str, str] = field(default_factory=dict)  # field -> header as written

    def label(self, field: str) -> str:
        """The column of a field as the file heads it (the template's header if absent)."""
        return self.headers.get(field) or column_label(field)


def parse_ledger(
    filename: str, content: bytes, regions: RegionTable | None = None
) -> list[ProjectCreate]:
    """Every project of the ledger, or RuleViolation listing every problem the file has in
    itself (the use case's rules are not checked here)."""
    ledger = read_ledger(filename, content, regions)
    if ledger.errors:
        raise RuleViolation(f"ledger rejected: {len(ledger.errors)} errors", errors=ledger.errors)
    return [row.project for row in ledger.rows if row.project is not None]


def read_ledger(
    filename: str,
    content: bytes,
    regions: RegionTable | None = None,
    media_type: str | None = None,
) -> Ledger:
    """The ledger's rows and their errors. At once when the file is no ledger: RuleViolation
    when it is unreadable, empty, or headed by unknown, duplicate or missing columns (what a
    file holds is no schema's to state: 409); PayloadTooLarge past the row limits; and
    UnsupportedMediaType when neither its name nor its media type is CSV or XLSX."""
    ctx = Context(regions or load_region_table())
    rows = reader.sheet_rows(filename, content, media_type)
    errors: list[dict[str, Any]] = []

    header_row: list[Cell] | None = None
    header_number = 1
    for number, row in rows:
        if _blank(row):
            continue
        if _is_title(row):
            continue  # a sheet title such as "滨州市重点项目台账" above the headers
        header_row, header_number = row, number
        break
    if header_row is None:
        raise RuleViolation(
            "ledger rejected: the file is empty",
            errors=[{"row": 1, "column": None, "message": "no header row and no data rows"}],
        )

    # Map each position to its column; unknown, duplicate and missing headers are row errors.
    layout: dict[int, tuple[Column, str]] = {}
    unlabelled: set[int] = set()
    seen: dict[str, str] = {}
    for position, raw in enumerate(header_row):
        header = cell_text(raw)
        if header is None:
            unlabelled.add(position)
            continue
        column = BY_HEADER.get(header_key(header))
        if column is None:
            errors.append(
                {
                    "row": header_number,
                    "column": header,
                    "message": f"unknown column {header!r}; expected "
                    + "、".join(c.label for c in COLUMNS),
                }
            )
        elif column.field in seen:
            errors.append(
                {
                    "row": header_number,
                    "column": header,
                    "message": f"duplicate column: {header!r} repeats {seen[column.field]!r}",
                }
            )
        else:
            seen[column.field] = header
            layout[position] = (column, header)
    for column in COLUMNS:
        if column.required and column.field not in seen:
            errors.append(
                {
                    "row": header_number,
                    "column": column.label,
                    "message": f"missing required column {column.label} ({column.field})",
                }
            )
    if errors:
        raise RuleViolation(f"ledger rejected: {len(errors)} errors", errors=errors)

    ledger_rows: list[LedgerRow] = []
    first_seen_name: dict[tuple[str, str], int] = {}
    first_seen_code: dict[str, int] = {}
    data_rows = 0
    for number, row in rows:
        if _blank(row):
            continue
        data_rows += 1
        if data_rows > reader.MAX_ROWS:
            raise PayloadTooLarge(
                f"ledger rejected: more than {reader.MAX_ROWS} rows",
                errors=[
                    {"row": number, "column": None, "message": f"limit is {reader.MAX_ROWS} rows"}
                ],
            )
        row_errors, parsed = _parse_row(number, row, layout, unlabelled, ctx)
        project = parsed.project
        if project is not None:
            key = (project.county, project.name)
            if key in first_seen_name:
                row_errors.append(
                    {
                        "row": number,
                        "column": seen["name"],
                        "message": f"duplicate project: same name and county as row "
                        f"{first_seen_name[key]}",
                    }
                )
            else:
                first_seen_name[key] = number
            if project.code:
                if project.code in first_seen_code:
                    row_errors.append(
                        {
                            "row": number,
                            "column": seen["code"],
                            "message": f"duplicate project code: also in row "
                            f"{first_seen_code[project.code]}",
                        }
                    )
                else:
                    first_seen_code[project.code] = number
        ledger_rows.append(parsed)
        errors.extend(row_errors)

    if data_rows == 0 and not errors:
        raise RuleViolation(
            "ledger rejected: 1 errors",
            errors=[{"row": header_number + 1, "column": None, "message": "no data rows"}],
        )
    return Ledger(ledger_rows, errors, seen)


def _blank(row: Iterable[Cell]) -> bool:
    return all(cell_text(v) is None for v in row)


def _is_title(row: list[Cell]) -> bool:
    """One filled cell that is not a known header: a title line above the header row."""
    filled = [t for t in (cell_text(v) for v in row) if t is not None]
    return len(filled) == 1 and header_key(filled[0]) not in BY_HEADER


class _Failed:
    """Marker for a cell that could not be parsed (already reported)."""


_FAILED = _Failed()


def _parse_row(
    number: int,
    row: list[Cell],
    layout: dict[int, tuple[Column, str]],
    unlabelled: set[int],
    ctx: Context,
) -> tuple[list[dict[str, Any]], LedgerRow]:
    errors: list[dict[str, Any]] = []
    headers: dict[str, str] = {}  # field -> header as written
    values: dict[str, Any] = {}

    def error(field_or_header: str, message: str) -> None:
        errors.append(
            {
                "row": number,
                "column": headers.get(field_or_header) or column_label(field_or_header),
                "message": message,
            }
        )

    for position, raw in enumerate(row):
        if position in unlabelled:
            if cell_text(raw) is not None:
                errors.append(
                    {
                        "row": number,
                        "column": f"column {position + 1}",
                        "message": "value in a column without a header",
                    }
                )
            continue
        if position not in layout:
            continue
        column, header = layout[position]
        headers[column.field] = header
        if cell_text(raw) is None:
            continue
        if isinstance(raw, str) and "\x00" in raw:
            values[column.field] = _FAILED
            error(column.field, NUL_MESSAGE)
            continue
        try:
            values[column.field] = column.parse(raw, ctx)
        except CellError as exc:
            values[column.field] = _FAILED
            error(column.field, str(exc))
    missing: set[str] = set()
    for column, header in layout.values():
        headers.setdefault(column.field, header)
        if column.required and column.field not in values:
            missing.add(column.field)
            error(column.field, "required")

    failed = {f for f, v in values.items() if v is _FAILED}
    data = {f: v for f, v in values.items() if v is not _FAILED}

    factor = data.pop("unit", Decimal(1))
    if "total_investment" in data:
        if "unit" in failed:
            failed.add("total_investment")  # the amount cannot be read without its unit
            del data["total_investment"]
        else:
            amount = data["total_investment"] * factor
            before, after = digits(amount)
            if before > AMOUNT_DIGITS[0] or after > AMOUNT_DIGITS[1]:
                failed.add("total_investment")
                del data["total_investment"]
                error("total_investment", f"too many digits: {AMOUNT_MESSAGE}")
            else:
                data["total_investment"] = tidy(amount)

    lng, lat = data.pop("lng", None), data.pop("lat", None)
    if lng is not None and lat is not None:
        data["location"] = {"lng": lng, "lat": lat}
    elif (lng is None) != (lat is None) and not failed & {"lng", "lat"}:
        missing.add("lng" if lng is None else "lat")
        error("lng" if lng is None else "lat", "give both 经度 and 纬度")

    if "stage" not in values:  # a blank stage: what the actual dates say, else planning
        if data.get("actual_completion") is not None:
            data["stage"] = Stage.COMPLETED
        elif data.get("actual_start") is not None:
            data["stage"] = Stage.STARTED
        else:
            data["stage"] = Stage.PLANNING

    unread = frozenset(failed | missing)
    try:
        project = ProjectCreate.model_validate(data)
    except ValidationError as exc:
        invalid: set[str] = set()
        for problem in exc.errors():
            loc = [str(p) for p in problem["loc"]]
            name = loc[0] if loc else "row"
            if name == "location" and len(loc) > 1:
                name = loc[1]
            invalid.add(name)
            if name in failed or (
                name in BY_FIELD and BY_FIELD[name].required and name not in values
            ):
                continue  # already reported for this cell
            error(name, problem["msg"])
        return errors, LedgerRow(number, data, unread | invalid, None)
    return errors, LedgerRow(number, data, unread, None if errors else project)
