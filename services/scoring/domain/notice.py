"""An exposure list as its notice 通报 prints it, as an XLSX workbook: a title line, then one row
per entry with the columns a printed notice has (序号, 县区, 项目名称, 等级, 通报事由 and the list's
own figures), red and yellow entries filled in their colour."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from services.scoring.domain.exposure import Colour, ExposureKind
from services.scoring.domain.periods import Period
from shared.events.catalogue.issues import CATEGORY_LABELS, STATUS_LABELS
from shared.spreadsheets import saved, write_row


class Entry(Protocol):
    """An entry of an exposure list as the API shows it (`schemas.ExposureItem`)."""

    @property
    def kind(self) -> ExposureKind: ...
    @property
    def colour(self) -> Colour: ...
    @property
    def county_name(self) -> str: ...
    @property
    def project_id(self) -> str: ...
    @property
    def project_name(self) -> str | None: ...
    @property
    def issue_id(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def detail(self) -> dict[str, Any]: ...


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

KIND_TITLES: dict[ExposureKind, str] = {
    ExposureKind.UNSTARTED: "未开工项目",
    ExposureKind.LAGGING: "投资进度滞后项目",
    ExposureKind.OVERDUE: "超期未办结问题",
}
COLOUR_LABELS: dict[Colour, str] = {Colour.RED: "红色", Colour.YELLOW: "黄色"}
COLOUR_FILLS: dict[Colour, str] = {Colour.RED: "FFC7CE", Colour.YELLOW: "FFEB9C"}


def _date(text: Any) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _number(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def _label(labels: Mapping[Any, str]) -> Callable[[Any], Any]:
    return lambda code: labels.get(code, code) if code else None


@dataclass(frozen=True)
class DetailColumn:
    label: str
    key: str  # in the entry's `detail`
    cell: Callable[[Any], Any]


DETAIL_COLUMNS: dict[ExposureKind, tuple[DetailColumn, ...]] = {
    ExposureKind.UNSTARTED: (
        DetailColumn("计划开工", "planned_start", _date),
        DetailColumn("逾期月数", "months_late", int),
    ),
    ExposureKind.LAGGING: (
        DetailColumn("年度计划投资（万元）", "annual_plan", _number),
        DetailColumn("累计完成投资（万元）", "ytd_investment", _number),
        DetailColumn("投资完成率（%）", "completion_rate", _number),
        DetailColumn("序时进度（%）", "time_target", _number),
        DetailColumn("低于序时进度（百分点）", "behind_points", _number),
    ),
    ExposureKind.OVERDUE: (
        DetailColumn("问题", "title", str),
        DetailColumn("问题类别", "category", _label(CATEGORY_LABELS)),
        DetailColumn("责任单位", "unit", str),
        DetailColumn("办理期限", "deadline", _date),
        DetailColumn("标记超期", "flagged_on", _date),
        DetailColumn("状态", "status", _label(STATUS_LABELS)),
    ),
}


def headers(kind: ExposureKind) -> list[str]:
    trailing = ["项目ID", "问题ID"] if kind is ExposureKind.OVERDUE else ["项目ID"]
    return [
        "序号",
        "县区",
        "项目名称",
        "等级",
        "通报事由",
        *(c.label for c in DETAIL_COLUMNS[kind]),
        *trailing,
    ]


def title(kind: ExposureKind, period: Period, scope: str) -> str:
    return f"{scope}{period.year}年{period.month}月{KIND_TITLES[kind]}通报"


def row(number: int, item: Entry) -> list[Any]:
    details = []
    for column in DETAIL_COLUMNS[item.kind]:
        value = item.detail.get(column.key)
        details.append(None if value is None else column.cell(value))
    ids = [item.project_id] + ([item.issue_id] if item.kind is ExposureKind.OVERDUE else [])
    return [
        number,
        item.county_name,
        item.project_name,
        COLOUR_LABELS[item.colour],
        item.reason,
        *details,
        *ids,
    ]


def filename(kind: ExposureKind, period: Period) -> str:
    return f"kuaiche-exposure-{kind.value}-{period}.xlsx"


def workbook(kind: ExposureKind, period: Period, scope: str, items: Sequence[Entry]) -> bytes:
    """The list as a workbook: row 1 the title (e.g. 滨州市2020年4月未开工项目通报), row 2 the
    headers, then the entries in the list's order (red first). Text is always text."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = KIND_TITLES[kind]
    columns = headers(kind)
    sheet.cell(row=1, column=1, value=title(kind, period, scope)).font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    widths = [len(h) for h in columns]
    for position, header in enumerate(columns, start=1):
        sheet.cell(row=2, column=position, value=header).font = Font(bold=True)
    fills = {c: PatternFill("solid", fgColor=rgb) for c, rgb in COLOUR_FILLS.items()}
    for number, item in enumerate(items, start=1):
        write_row(sheet, number + 2, row(number, item), widths)
        sheet.cell(row=number + 2, column=4).fill = fills[item.colour]
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(width * 2 + 2, 60)
    sheet.freeze_panes = "A3"
    return saved(book)
