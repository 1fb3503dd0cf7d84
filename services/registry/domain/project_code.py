"""National project code 项目代码 (全国投资项目在线审批监管平台).

Both formats share one shape, `^\\d{4}-\\d{6}-\\d{2}-\\d{2}-[0-9A-Z]{6}$`:

- old (before November 2020): ``YYYY-region-industry-type-serial``, years 2016–2020;
- new (GB/T 40058-2021, from November 2020): ``YYMM-region-ministry-type-random5+check``.

The first four digits tell them apart: 2016..2020 read as YYMM would be months 16..20, which
cannot exist, so such a prefix is an old-format year. The check character of the new format is
not verified: its algorithm is not public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NoReturn

from shared.errors import InvalidInput

# ASCII digits only (a \d would take any script's), letters of either case (stored upper-case).
CODE_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{6})-([0-9]{2})-([0-9]{2})-([0-9A-Za-z]{6})$")

OLD_FORMAT_YEARS = range(2016, 2021)
# The new format began in November 2020: YYMM 2011.
NEW_FORMAT_FIRST = (20, 11)

CodeFormat = Literal["old", "new"]

# What parse_project_code accepts, as the API's schema states it: blank (no code), or the shape
# with a first four digits that are an old-format year (2016–2020) or a new-format YYMM from
# 2011 on, surrounded by what str.strip removes.
_SPACE = r"[\s\x1c-\x1f\x85]*"
_PREFIX = r"(201[1-2]|201[6-9]|2020|(2[1-9]|[3-9][0-9])(0[1-9]|1[0-2]))"
CODE_SCHEMA_PATTERN = (
    rf"^{_SPACE}({_PREFIX}-[0-9]{{6}}-[0-9]{{2}}-[0-9]{{2}}-[0-9A-Za-z]{{6}}{_SPACE})?$"
)


@dataclass(frozen=True)
class ProjectCode:
    """A parsed project code. `category` is the industry (old) or the ministry (new)."""

    raw: str
    format: CodeFormat
    year: int
    month: int | None
    region: str
    category: str
    type: str
    serial: str


def normalise_project_code(raw: str) -> str:
    """The code as stored: surrounding whitespace removed, letters upper-cased."""
    return raw.strip().upper()


def parse_project_code(raw: str) -> ProjectCode:
    """Parse a project code of either format; InvalidInput on field "code" saying why not."""
    code = raw.strip()
    match = CODE_PATTERN.match(code)
    if match is None:
        _refuse(
            f"project code {code!r} does not have the shape NNNN-NNNNNN-NN-NN-XXXXXX "
            "(digits, then 6 digits or letters at the end), "
            "e.g. 2104-371602-04-01-52874K"
        )
    code = normalise_project_code(code)
    prefix, region, category, type_, serial = (g.upper() for g in match.groups())
    number = int(prefix)

    if number in OLD_FORMAT_YEARS:
        return ProjectCode(
            raw=code,
            format="old",
            year=number,
            month=None,
            region=region,
            category=category,
            type=type_,
            serial=serial,
        )

    yy, mm = divmod(number, 100)
    if not 1 <= mm <= 12:
        if 1900 <= number <= 2099:
            _refuse(
                f"project code {code!r} starts with {prefix}: as a year it is outside 2016–2020 "
                f"(old format), and as a new-format YYMM month {mm:02d} does not exist"
            )
        _refuse(
            f"project code {code!r} starts with {prefix}: month {mm:02d} does not exist "
            "(a new-format code starts with YYMM, month 01–12)"
        )
    if (yy, mm) < NEW_FORMAT_FIRST:
        _refuse(
            f"project code {code!r} starts with {prefix}: new-format codes (YYMM) begin in "
            "November 2020 (2011), and old-format codes carry a year from 2016 to 2020"
        )
    return ProjectCode(
        raw=code,
        format="new",
        year=2000 + yy,
        month=mm,
        region=region,
        category=category,
        type=type_,
        serial=serial,
    )


def _refuse(message: str) -> NoReturn:
    raise InvalidInput(message, errors=[{"field": "code", "message": message}])
