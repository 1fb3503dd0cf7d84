"""The one table of columns of a ledger: each column's Chinese header, its field, how its cells
are read and written, and the example the downloadable templates show. The template and the
ledger export are the same workbook (`ledger_xlsx`), so an export re-imports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.registry.domain.enums import (
    LEVEL_LABELS,
    STAGE_LABELS,
    TRACK_LABELS,
    Stage,
    Track,
)
from services.registry.domain.project_code import parse_project_code
from services.registry.importing import reader
from services.registry.importing.reader import Cell
from shared.amounts import AMOUNT_DECIMAL_PLACES, AMOUNT_INTEGER_DIGITS
from shared.errors import InvalidInput
from shared.regions import RegionTable
from shared.spreadsheets import saved, write_row

YI = Decimal(10_000)  # 1 亿元 = 10,000 万元
AMOUNT_DIGITS = (AMOUNT_INTEGER_DIGITS, AMOUNT_DECIMAL_PLACES)  # before and after the point, 万元
COORDINATE_DIGITS = (4, 6)  # of a coordinate, as the column holds it (NUMERIC(10, 6))
TAG_SEPARATORS = re.compile(r"[；;、,，]")


class CellError(ValueError):
    """A cell's value cannot be read; the message is shown to the user."""


@dataclass(frozen=True)
class Context:
    regions: RegionTable


# ---------------------------------------------------------------- cell parsers


def cell_text(value: Cell) -> str | None:
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


def tidy(amount: Decimal) -> Decimal:
    """12345.0000 → 12345 and 12345.6000 → 12345.6, never exponent notation."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def digits(number: Decimal) -> tuple[int, int]:
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
        text = (cell_text(value) or "").replace(",", "").replace("，", "").replace(" ", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(f"not a number: {text!r}") from None
    if not number.is_finite():
        raise CellError(f"not a number: {value!r}")
    before, after = digits(number)  # 1e400 or 1e-999999: refused before any arithmetic
    if before > integer_digits or after > decimal_places:
        raise CellError(f"too many digits: {message}")
    return tidy(number)


def _parse_str(value: Cell, _: Context) -> str:
    return cell_text(value) or ""


AMOUNT_MESSAGE = (
    f"an amount has at most {AMOUNT_DIGITS[0]} digits before the decimal point and "
    f"{AMOUNT_DIGITS[1]} after it, in 万元"
)


def _parse_amount(value: Cell, _: Context) -> Decimal:
    # in 亿元 an amount has four more decimals before it is converted to 万元 and checked again
    amount = _decimal(value, AMOUNT_DIGITS[0], AMOUNT_DIGITS[1] + 4, AMOUNT_MESSAGE)
    if amount < 0:
        raise CellError(f"must not be negative: {amount}")
    return amount


def _parse_coordinate(value: Cell, _: Context) -> Decimal:
    return _decimal(
        value,
        *COORDINATE_DIGITS,
        f"a coordinate lies within ±180 with at most {COORDINATE_DIGITS[1]} decimal places",
    )


_DATE_TEXT = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*(?:[-/.月]\s*(?P<d>\d{1,2})\s*日?|月?)"
    r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?$"
)


def _parse_date(value: Cell, _: Context) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value) or ""
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

    def parse(value: Cell, _: Context) -> Any:
        text = cell_text(value) or ""
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


def _parse_unit(value: Cell, _: Context) -> Decimal:
    text = (cell_text(value) or "").lower()
    if text in ("万元", "万", "10k"):
        return Decimal(1)
    if text in ("亿元", "亿", "100m"):
        return YI
    raise CellError(f"unknown unit {text!r}; expected 万元 or 亿元")


def _parse_county(value: Cell, ctx: Context) -> str:
    text = cell_text(value) or ""
    division = ctx.regions.find(text)
    if division is None and text.startswith(ctx.regions.name):
        division = ctx.regions.find(text[len(ctx.regions.name) :])
    if division is None:
        names = "、".join(d.name for d in ctx.regions.divisions)
        raise CellError(f"unknown division {text!r} in {ctx.regions.name}; expected {names}")
    return division.code


def _parse_code(value: Cell, _: Context) -> str:
    try:
        return parse_project_code(cell_text(value) or "").raw
    except InvalidInput as exc:
        raise CellError(exc.detail) from None


def _parse_tags(value: Cell, _: Context) -> list[str]:
    return [t.strip() for t in TAG_SEPARATORS.split(cell_text(value) or "") if t.strip()]


# ---------------------------------------------------------------- cell writers (the inverses)


def _as_is(value: Any, _: Context) -> Cell:
    return value


def _show_county(code: str, ctx: Context) -> Cell:
    division = ctx.regions.find(code)
    return division.name if division else code


def _label(labels: dict[Any, str]) -> Callable[[Any, Context], Cell]:
    def show(value: Any, _: Context) -> Cell:
        return None if value is None else labels[type(next(iter(labels)))(value)]

    return show


def _show_amount(amount: Decimal | None, _: Context) -> Cell:
    # a number Excel sums: an amount's 15 digits at most (a coordinate's 10) are exact in it
    return None if amount is None else tidy(Decimal(amount))


def _show_tags(tags: list[str] | None, _: Context) -> Cell:
    return "；".join(tags or []) or None


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Column:
    label: str  # the Chinese header of the template
    field: str  # the English field name (also accepted as a header)
    parse: Callable[[Cell, Context], Any]
    example: str | float | None = None  # the template's example row
    required: bool = False
    show: Callable[[Any, Context], Cell] = _as_is  # the field's value → the cell parse reads


AMOUNT_UNIT = "万元"  # the unit a ledger export writes its amounts in


COLUMNS: tuple[Column, ...] = (
    Column("项目名称", "name", _parse_str, "邹平市年产30万吨高端铝材项目", required=True),
    Column("县区", "county", _parse_county, "邹平市", required=True, show=_show_county),
    Column("级别", "level", _parse_level, "市重点", show=_label(LEVEL_LABELS)),
    Column("类别", "track", _parse_track, "实施类", required=True, show=_label(TRACK_LABELS)),
    Column("阶段", "stage", _parse_stage, "储备", show=_label(STAGE_LABELS)),
    Column("项目代码", "code", _parse_code, "2020-371681-32-03-000128"),
    Column("总投资", "total_investment", _parse_amount, 12.35, required=True, show=_show_amount),
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
    Column("标签", "tags", _parse_tags, "五大千亿级产业集群；补短板", show=_show_tags),
    Column(
        "建设内容",
        "content",
        _parse_str,
        "新建熔铸车间、挤压车间及配套设施12万平方米，购置挤压机、时效炉等设备86台（套）",
    ),
    Column("经度", "lng", _parse_coordinate, 117.7421, show=_show_amount),
    Column("纬度", "lat", _parse_coordinate, 36.8695, show=_show_amount),
)

BY_FIELD = {c.field: c for c in COLUMNS}


def header_key(header: str) -> str:
    return re.sub(r"[\s\u3000*＊]", "", header).lower()


BY_HEADER: dict[str, Column] = {}
for _column in COLUMNS:
    BY_HEADER[header_key(_column.label)] = _column
    BY_HEADER[header_key(_column.field)] = _column


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
    return ledger_xlsx([_example_row()])


def ledger_row(project: Any, ctx: Context) -> list[Cell]:
    """A project's row: its attributes by field (as the stored Project holds them) written as
    the columns read them back; amounts in 万元."""
    return [
        AMOUNT_UNIT if column.field == "unit" else column.show(getattr(project, column.field), ctx)
        for column in COLUMNS
    ]


def ledger_xlsx(rows: Iterable[list[Cell]], title: str = "项目台账") -> bytes:
    """A ledger workbook: the Chinese headers, the rows, drop-down lists for the coded columns.
    Text is always text: a name that starts with "=" is no formula, and characters XML cannot
    hold (control characters) are left out."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append([column.label for column in COLUMNS])
    widths = [len(column.label) for column in COLUMNS]
    for number, row in enumerate(rows, start=2):
        write_row(sheet, number, row, widths)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for position, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=position)
        cell.font = bold
        if column.required:
            cell.fill = fill
        width = widths[position - 1] * 2 + 2
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
            validation.add(f"{letter}2:{letter}{reader.MAX_ROWS + 1}")
            sheet.add_data_validation(validation)
    return saved(workbook)


def column_label(field: str) -> str:
    """The template's header for a field."""
    column = BY_FIELD.get(field)
    return column.label if column else field
