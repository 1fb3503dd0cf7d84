"""Ledger import 台账导入: a CSV or XLSX sheet of projects → validated `ProjectCreate`s.

Pure: bytes in, models out. One table of columns (`COLUMNS`) drives both the parser and the
downloadable templates. The import is all or nothing: every problem of every row is collected
and reported with its spreadsheet row (header = row 1) and the header as written in the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from services.registry.domain.enums import (
    LEVEL_LABELS,
    STAGE_LABELS,
    TRACK_LABELS,
    Stage,
    Track,
)
from services.registry.domain.project_code import parse_project_code
from services.registry.schemas import ProjectCreate
from shared.amounts import AMOUNT_DECIMAL_PLACES, AMOUNT_INTEGER_DIGITS
from shared.errors import InvalidInput
from shared.fields import NUL_MESSAGE
from shared.regions import RegionTable, load_region_table

MAX_ROWS = 20_000  # data rows
MAX_SHEET_ROWS = 50_000  # rows in all, blank ones included (a sheet of empty rows is no ledger)
MAX_COLUMNS = 100  # cells right of it are not read, like those right of the last header
MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024  # the workbook's parts together, unzipped
MAX_COMPRESSION_RATIO = 200  # a part this much smaller zipped, and large, is a zip bomb
RATIO_CHECKED_ABOVE = 10 * 1024 * 1024  # unzipped bytes; smaller parts may compress as they like
YI = Decimal(10_000)  # 1 亿元 = 10,000 万元
AMOUNT_DIGITS = (AMOUNT_INTEGER_DIGITS, AMOUNT_DECIMAL_PLACES)  # before and after the point, 万元
COORDINATE_DIGITS = (4, 6)  # of a coordinate, as the column holds it (NUMERIC(10, 6))
TAG_SEPARATORS = re.compile(r"[；;、,，]")

Cell = Any  # str | int | float | Decimal | datetime | date | time | bool | None


class CellError(ValueError):
    """A cell's value cannot be read; the message is shown to the user."""


@dataclass(frozen=True)
class _Context:
    regions: RegionTable


# ---------------------------------------------------------------- cell parsers


def _text(value: Cell) -> str | None:
    """A cell as stripped text; None when blank. Whole floats lose their '.0' (371602.0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        value = int(value) if value.is_integer() else format(value, ".15g")
    elif isinstance(value, dt.datetime):
        value = value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    elif isinstance(value, dt.date):
        value = value.isoformat()
    text = str(value).replace("\u3000", " ").strip()
    return text or None


def _tidy(amount: Decimal) -> Decimal:
    """12345.0000 → 12345 and 12345.6000 → 12345.6, never exponent notation."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def _digits(number: Decimal) -> tuple[int, int]:
    """Digits of a finite number before and after the point, trailing zeros not counted."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0, 0
    significant = len(digits)
    while digits[significant - 1] == 0:
        significant -= 1
        exponent += 1
    return max(significant + exponent, 0), max(-exponent, 0)


def _decimal(value: Cell, integer_digits: int, decimal_places: int, message: str) -> Decimal:
    """A number with at most so many digits before and after the point; `message` says why."""
    if isinstance(value, bool):
        raise CellError(f"not a number: {value!r}")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # Excel keeps 15 significant digits: 1.2345 stays 1.2345 and 0.1+0.2 is 0.3, no binary noise
        number = Decimal(format(value, ".15g"))
    elif isinstance(value, Decimal):
        number = value
    else:
        text = (_text(value) or "").replace(",", "").replace("，", "").replace(" ", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(f"not a number: {text!r}") from None
    if not number.is_finite():
        raise CellError(f"not a number: {value!r}")
    before, after = _digits(number)  # 1e400 or 1e-999999: refused before any arithmetic
    if before > integer_digits or after > decimal_places:
        raise CellError(f"too many digits: {message}")
    return _tidy(number)


def _parse_str(value: Cell, _: _Context) -> str:
    return _text(value) or ""


_AMOUNT_MESSAGE = (
    f"an amount has at most {AMOUNT_DIGITS[0]} digits before the decimal point and "
    f"{AMOUNT_DIGITS[1]} after it, in 万元"
)


def _parse_amount(value: Cell, _: _Context) -> Decimal:
    # in 亿元 an amount has four more decimals before it is converted to 万元 and checked again
    amount = _decimal(value, AMOUNT_DIGITS[0], AMOUNT_DIGITS[1] + 4, _AMOUNT_MESSAGE)
    if amount < 0:
        raise CellError(f"must not be negative: {amount}")
    return amount


def _parse_coordinate(value: Cell, _: _Context) -> Decimal:
    return _decimal(
        value,
        *COORDINATE_DIGITS,
        f"a coordinate lies within ±180 with at most {COORDINATE_DIGITS[1]} decimal places",
    )


_DATE_TEXT = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*(?:[-/.月]\s*(?P<d>\d{1,2})\s*日?|月?)"
    r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?$"
)


def _parse_date(value: Cell, _: _Context) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value) or ""
    match = _DATE_TEXT.match(text)
    if not match:
        raise CellError(f"not a date: {text!r} (use YYYY-MM-DD, YYYY/MM/DD or YYYY-MM)")
    try:
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"] or 1))
    except ValueError:
        raise CellError(f"not a date: {text!r}") from None


def _choice(kind: str, labels: dict[Any, str], aliases: dict[str, Any] | None = None):
    table: dict[str, Any] = {}
    for member, label in labels.items():
        table[label] = member
        table[str(member.value).lower()] = member
    table.update(aliases or {})
    expected = "、".join(labels.values())

    def parse(value: Cell, _: _Context) -> Any:
        text = _text(value) or ""
        try:
            return table[text.lower()]
        except KeyError:
            raise CellError(f"unknown {kind} {text!r}; expected one of {expected}") from None

    return parse


_parse_level = _choice("level", LEVEL_LABELS)
_parse_track = _choice(
    "track", TRACK_LABELS, {"实施": Track.IMPLEMENTATION, "准备": Track.PREPARATION}
)
_parse_stage = _choice(
    "stage",
    {s: label for s, label in STAGE_LABELS.items() if s is not Stage.WITHDRAWN},
    {"在建": Stage.STARTED, "已开工": Stage.STARTED, "已竣工": Stage.COMPLETED},
)


def _parse_unit(value: Cell, _: _Context) -> Decimal:
    text = (_text(value) or "").lower()
    if text in ("万元", "万", "10k"):
        return Decimal(1)
    if text in ("亿元", "亿", "100m"):
        return YI
    raise CellError(f"unknown unit {text!r}; expected 万元 or 亿元")


def _parse_county(value: Cell, ctx: _Context) -> str:
    text = _text(value) or ""
    division = ctx.regions.find(text)
    if division is None and text.startswith(ctx.regions.name):
        division = ctx.regions.find(text[len(ctx.regions.name) :])
    if division is None:
        names = "、".join(d.name for d in ctx.regions.divisions)
        raise CellError(f"unknown division {text!r} in {ctx.regions.name}; expected {names}")
    return division.code


def _parse_code(value: Cell, _: _Context) -> str:
    try:
        return parse_project_code(_text(value) or "").raw
    except InvalidInput as exc:
        raise CellError(exc.detail) from None


def _parse_tags(value: Cell, _: _Context) -> list[str]:
    return [t.strip() for t in TAG_SEPARATORS.split(_text(value) or "") if t.strip()]


# ---------------------------------------------------------------- the one table of columns


@dataclass(frozen=True)
class Column:
    label: str  # the Chinese header of the template
    field: str  # the English field name (also accepted as a header)
    parse: Callable[[Cell, _Context], Any]
    example: str | float | None = None  # the template's example row
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("项目名称", "name", _parse_str, "邹平市年产30万吨高端铝材项目", required=True),
    Column("县区", "county", _parse_county, "邹平市", required=True),
    Column("级别", "level", _parse_level, "市重点"),
    Column("类别", "track", _parse_track, "实施类", required=True),
    Column("阶段", "stage", _parse_stage, "储备"),
    Column("项目代码", "code", _parse_code, "2020-371681-32-03-000128"),
    Column("总投资", "total_investment", _parse_amount, 12.35, required=True),
    Column("单位", "unit", _parse_unit, "亿元"),
    Column("计划开工", "planned_start", _parse_date, "2020-06"),
    Column("计划竣工", "planned_completion", _parse_date, "2021-12-31"),
    Column("实际开工", "actual_start", _parse_date, None),
    Column("实际竣工", "actual_completion", _parse_date, None),
    Column("项目单位", "owner", _parse_str, "邹平鑫源铝业科技有限公司"),
    Column("帮包领导", "leader", _parse_str, "王副市长"),
    Column("驻企服务员", "service_officer", _parse_str, "李明"),
    Column("责任单位", "responsible_unit", _parse_str, "邹平市工业和信息化局"),
    Column("行业", "industry", _parse_str, "铝业"),
    Column("标签", "tags", _parse_tags, "五大千亿级产业集群；补短板"),
    Column(
        "建设内容",
        "content",
        _parse_str,
        "新建熔铸车间、挤压车间及配套设施12万平方米，购置挤压机、时效炉等设备86台（套）",
    ),
    Column("经度", "lng", _parse_coordinate, 117.7421),
    Column("纬度", "lat", _parse_coordinate, 36.8695),
)

_BY_FIELD = {c.field: c for c in COLUMNS}


def _header_key(header: str) -> str:
    return re.sub(r"[\s\u3000*＊]", "", header).lower()


_BY_HEADER: dict[str, Column] = {}
for _column in COLUMNS:
    _BY_HEADER[_header_key(_column.label)] = _column
    _BY_HEADER[_header_key(_column.field)] = _column


# ---------------------------------------------------------------- reading the file


def _decode_csv(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        "ledger rejected: cannot decode the CSV (use UTF-8 or GBK)",
        errors=[{"row": 1, "column": None, "message": "not UTF-8 or GBK/GB18030 text"}],
    )


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[Cell]]]:
    text = _decode_csv(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise InvalidInput(
            f"ledger rejected: malformed CSV ({exc})",
            errors=[{"row": reader.line_num, "column": None, "message": f"malformed CSV: {exc}"}],
        ) from None


def _unreadable(row: int, message: str) -> InvalidInput:
    return InvalidInput(
        "ledger rejected: not a readable XLSX workbook",
        errors=[{"row": row, "column": None, "message": message}],
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
        raise _unreadable(
            1,
            f"the workbook unzips to {total // 2**20} MiB; "
            f"the limit is {MAX_XLSX_UNCOMPRESSED // 2**20} MiB",
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_CHECKED_ABOVE and ratio > MAX_COMPRESSION_RATIO:
            raise _unreadable(
                1, f"{part.filename} is compressed {ratio:.0f}:1, too much for a ledger"
            )


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[Cell]]]:
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


def _rows(filename: str, content: bytes) -> Iterator[tuple[int, list[Cell]]]:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "csv":
        return _csv_rows(content)
    if suffix == "xlsx":
        return _xlsx_rows(content)
    raise InvalidInput(
        f"ledger rejected: unsupported file type {filename!r} (use .csv or .xlsx)",
        errors=[{"row": None, "column": None, "message": "file must be .csv or .xlsx"}],
    )


def _capped(rows: Iterator[tuple[int, list[Cell]]]) -> Iterator[tuple[int, list[Cell]]]:
    """The rows, refused past MAX_SHEET_ROWS: blank rows cost reading too (a sheet bomb of
    millions of empty rows would otherwise be read to its end); and no wider than MAX_COLUMNS."""
    for number, row in rows:
        if number > MAX_SHEET_ROWS:
            raise InvalidInput(
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


def _blank(row: Iterable[Cell]) -> bool:
    return all(_text(v) is None for v in row)


def _is_title(row: list[Cell]) -> bool:
    """One filled cell that is not a known header: a title line above the header row."""
    filled = [t for t in (_text(v) for v in row) if t is not None]
    return len(filled) == 1 and _header_key(filled[0]) not in _BY_HEADER


# ---------------------------------------------------------------- parsing


def parse_ledger(
    filename: str, content: bytes, regions: RegionTable | None = None
) -> list[ProjectCreate]:
    """Every project of the ledger, or InvalidInput listing every problem (nothing imported)."""
    return [project for _, project in read_ledger(filename, content, regions)]


def column_label(field: str) -> str:
    """The template's header for a field, for errors found after parsing."""
    return _label(field)


def read_ledger(
    filename: str, content: bytes, regions: RegionTable | None = None
) -> list[tuple[int, ProjectCreate]]:
    """Every project of the ledger with its spreadsheet row number, or InvalidInput listing
    every problem (nothing imported).

    Errors are `{"row": n, "column": header, "message": text}` with n the spreadsheet row
    (header row = 1, first data row = 2, more under a title line).
    """
    ctx = _Context(regions or load_region_table())
    rows = _capped(_rows(filename, content))
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
        raise InvalidInput(
            "ledger rejected: the file is empty",
            errors=[{"row": 1, "column": None, "message": "no header row and no data rows"}],
        )

    # Map each position to its column; unknown, duplicate and missing headers are row errors.
    layout: dict[int, tuple[Column, str]] = {}
    unlabelled: set[int] = set()
    seen: dict[str, str] = {}
    for position, raw in enumerate(header_row):
        header = _text(raw)
        if header is None:
            unlabelled.add(position)
            continue
        column = _BY_HEADER.get(_header_key(header))
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
        raise InvalidInput(f"ledger rejected: {len(errors)} errors", errors=errors)

    projects: list[tuple[int, ProjectCreate]] = []
    first_seen_name: dict[tuple[str, str], int] = {}
    first_seen_code: dict[str, int] = {}
    data_rows = 0
    for number, row in rows:
        if _blank(row):
            continue
        data_rows += 1
        if data_rows > MAX_ROWS:
            raise InvalidInput(
                f"ledger rejected: more than {MAX_ROWS} rows",
                errors=[{"row": number, "column": None, "message": f"limit is {MAX_ROWS} rows"}],
            )
        row_errors, project = _parse_row(number, row, layout, unlabelled, ctx)
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
            projects.append((number, project))
        errors.extend(row_errors)

    if data_rows == 0 and not errors:
        errors.append({"row": header_number + 1, "column": None, "message": "no data rows"})
    if errors:
        raise InvalidInput(f"ledger rejected: {len(errors)} errors", errors=errors)
    return projects


def _parse_row(
    number: int,
    row: list[Cell],
    layout: dict[int, tuple[Column, str]],
    unlabelled: set[int],
    ctx: _Context,
) -> tuple[list[dict[str, Any]], ProjectCreate | None]:
    errors: list[dict[str, Any]] = []
    headers: dict[str, str] = {}  # field -> header as written
    values: dict[str, Any] = {}

    def error(field_or_header: str, message: str) -> None:
        errors.append(
            {
                "row": number,
                "column": headers.get(field_or_header) or _label(field_or_header),
                "message": message,
            }
        )

    for position, raw in enumerate(row):
        if position in unlabelled:
            if _text(raw) is not None:
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
        if _text(raw) is None:
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
    for column, header in layout.values():
        headers.setdefault(column.field, header)
        if column.required and column.field not in values:
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
            before, after = _digits(amount)
            if before > AMOUNT_DIGITS[0] or after > AMOUNT_DIGITS[1]:
                failed.add("total_investment")
                del data["total_investment"]
                error("total_investment", f"too many digits: {_AMOUNT_MESSAGE}")
            else:
                data["total_investment"] = _tidy(amount)

    lng, lat = data.pop("lng", None), data.pop("lat", None)
    if lng is not None and lat is not None:
        data["location"] = {"lng": lng, "lat": lat}
    elif (lng is None) != (lat is None) and not failed & {"lng", "lat"}:
        missing = "lat" if lat is None else "lng"
        error(missing, "give both 经度 and 纬度")

    _check_dates(data, failed, error, stage_given="stage" in values)

    try:
        project = ProjectCreate.model_validate(data)
    except ValidationError as exc:
        for problem in exc.errors():
            loc = [str(p) for p in problem["loc"]]
            field = loc[0] if loc else "row"
            if field == "location" and len(loc) > 1:
                field = loc[1]
            if field in failed or (
                field in _BY_FIELD and _BY_FIELD[field].required and field not in values
            ):
                continue  # already reported for this cell
            error(field, problem["msg"])
        return errors, None
    return errors, (None if errors else project)


class _Failed:
    """Marker for a cell that could not be parsed (already reported)."""


_FAILED = _Failed()


def _label(field: str) -> str:
    column = _BY_FIELD.get(field)
    return column.label if column else field


def _check_dates(
    data: dict[str, Any],
    failed: set[str],
    error: Callable[[str, str], None],
    *,
    stage_given: bool,
) -> None:
    start, completion = data.get("actual_start"), data.get("actual_completion")
    if not stage_given and "stage" not in failed:
        if completion is not None:
            data["stage"] = Stage.COMPLETED
        elif start is not None:
            data["stage"] = Stage.STARTED
    stage = data.get("stage", None if "stage" in failed else Stage.PLANNING)
    if stage in (Stage.STARTED, Stage.COMPLETED) and start is None and "actual_start" not in failed:
        error("actual_start", f"a {stage.value} project needs its actual start date (实际开工)")
    if stage is Stage.COMPLETED and completion is None and "actual_completion" not in failed:
        error(
            "actual_completion", "a completed project needs its actual completion date (实际竣工)"
        )
    if stage in (Stage.PLANNING, Stage.RESERVE):
        if start is not None:
            error("actual_start", f"actual start given but the stage is {STAGE_LABELS[stage]}")
        if completion is not None:
            error("actual_completion", f"completion given but the stage is {STAGE_LABELS[stage]}")
    if stage is Stage.STARTED and completion is not None:
        error("actual_completion", "completion given but the stage is 开工 (use 竣工)")
    if start and completion and completion < start:
        error("actual_completion", "actual completion is before the actual start")
    planned_start, planned_completion = data.get("planned_start"), data.get("planned_completion")
    if planned_start and planned_completion and planned_completion < planned_start:
        error("planned_completion", "planned completion is before the planned start")


# ---------------------------------------------------------------- templates


def _example_row() -> list[Any]:
    return [column.example for column in COLUMNS]


def ledger_template_csv() -> bytes:
    """The Chinese headers and one example row, UTF-8 with BOM (Excel opens it right)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.label for column in COLUMNS])
    writer.writerow(["" if v is None else v for v in _example_row()])
    return buffer.getvalue().encode("utf-8-sig")


def ledger_template_xlsx() -> bytes:
    """The Chinese headers, one example row and drop-down lists for the coded columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "项目台账"
    sheet.append([column.label for column in COLUMNS])
    sheet.append(_example_row())
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for position, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=position)
        cell.font = bold
        if column.required:
            cell.fill = fill
        width = max(len(column.label), len(str(column.example or ""))) * 2 + 2
        sheet.column_dimensions[get_column_letter(position)].width = min(width, 40)
    sheet.freeze_panes = "A2"
    choices = {
        "level": LEVEL_LABELS.values(),
        "track": TRACK_LABELS.values(),
        "stage": [label for s, label in STAGE_LABELS.items() if s is not Stage.WITHDRAWN],
        "unit": ["万元", "亿元"],
    }
    for position, column in enumerate(COLUMNS, start=1):
        if column.field in choices:
            letter = get_column_letter(position)
            validation = DataValidation(
                type="list", formula1='"' + ",".join(choices[column.field]) + '"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(validation)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "Column",
    "ledger_template_csv",
    "ledger_template_xlsx",
    "parse_ledger",
]
