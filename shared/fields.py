"""Rules every request model shares: no NUL characters in text, business dates in a sane range.

PostgreSQL refuses "\\x00" in text, so a NUL that got through would be a 500 on write; a date in
year 1 or 9999 is a typing slip, never a project's date. Both are refused as 422 here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

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


NO_NUL_PATTERN = "^[^\\u0000]*$"


def _say_no_nul(schema: dict[str, Any]) -> None:
    """Every free text in the schema says it refuses NUL, so a client generated from it (or a
    schema-driven fuzzer) never sends one expecting it to pass. A text with its own pattern,
    format or enum already says what it accepts."""
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(schema):
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("properties", "patternProperties"):
        for sub in schema.get(key, {}).values():
            _say_no_nul(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _say_no_nul(schema[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            _say_no_nul(sub)


class InputModel(BaseModel):
    """Base of request models: every text field refuses NUL characters (and its schema says so)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Here rather than in model_config, so a subclass's own json_schema_extra keeps it.
        schema = handler.resolve_ref_schema(handler(core_schema))
        _say_no_nul(schema)
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


RULE_ERROR = "rule"


def rule_error(message: str) -> PydanticCustomError:
    """What a model validator raises for a rule JSON Schema cannot state (one field against
    another): the request matched its schema, so it is answered 409, not 422."""
    return PydanticCustomError(RULE_ERROR, message)


# A required text must hold a character that is not whitespace, and no NUL. "Whitespace" is
# what Python's \s takes together with what a JSON Schema (ECMAScript) \s takes: the first has
# \x1c-\x1f and \x85, the second \ufeff; so the pattern reads the same to a client in either
# language, and the validator holds to it. (A pattern of a request field that says "no
# whitespace" uses NOT_SPACE for the same reason.)
NOT_SPACE = r"[^\s\x1c-\x1f\x85\ufeff\x00]"
NOT_BLANK_PATTERN = rf"^[^\x00]*{NOT_SPACE}[^\x00]*$"
_HAS_TEXT = re.compile(NOT_SPACE)


def _not_blank(text: str) -> str:
    if has_nul(text):
        raise PydanticCustomError("nul_character", NUL_MESSAGE)
    if not _HAS_TEXT.search(text):
        raise PydanticCustomError("blank", "must hold more than whitespace")
    return text


def required_text(max_length: int) -> Any:
    """Annotations for a text that may not be blank, of at most `max_length` characters:
    `Annotated[str, *required_text(200)]`."""
    return (
        Field(
            min_length=1, max_length=max_length, json_schema_extra={"pattern": NOT_BLANK_PATTERN}
        ),
        AfterValidator(_not_blank),
    )


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_as_written(value: Any) -> Any:
    """A business date is an ISO date string (or a date from Python code): not a date-time,
    not a number of seconds, which pydantic would otherwise take at midnight."""
    if isinstance(value, dt.datetime) or not (
        isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value))
    ):
        raise PydanticCustomError("date_type", "must be an ISO date (YYYY-MM-DD)")
    return value


def _business_date(value: dt.date) -> dt.date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError("date_out_of_range", DATE_MESSAGE)
    return value


BusinessDate = Annotated[
    dt.date,
    BeforeValidator(_date_as_written),
    AfterValidator(_business_date),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^(199\d|20\d\d|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
            "description": f"an ISO date, years {MIN_YEAR}–{MAX_YEAR}",
        },
        mode="validation",
    ),
]
"""A project's date (start, milestone, effective date...): years 1990–2100 only."""
