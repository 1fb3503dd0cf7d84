"""Rules every request model shares: no NUL characters in text, business dates in a sane range.

PostgreSQL refuses "\\x00" in text, so a NUL that got through would be a 500 on write; a date in
year 1 or 9999 is a typing slip, never a project's date. Both are refused as 422 here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, field_validator
from pydantic_core import PydanticCustomError

MIN_YEAR = 1990
MAX_YEAR = 2100
NUL_MESSAGE = "must not contain NUL characters"
DATE_MESSAGE = f"dates must lie between {MIN_YEAR} and {MAX_YEAR}"


def has_nul(value: Any) -> bool:
    """Whether a str, or any str inside lists, tuples, sets or dicts (keys too), holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


class InputModel(BaseModel):
    """Base of request models: every text field refuses NUL characters."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


def _business_date(value: dt.date) -> dt.date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError("date_out_of_range", DATE_MESSAGE)
    return value


BusinessDate = Annotated[dt.date, AfterValidator(_business_date)]
"""A project's date (start, milestone, effective date...): years 1990–2100 only."""
