"""Decimal amounts that travel as JSON strings, never floats (万元, 亩, 吨标准煤, 吨, 万立方米)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError


def format_amount(value: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros ("12000.5", "3603")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def canonical(value: Decimal) -> Decimal:
    """The amount without the scale it came with ("49.0000" read back from a NUMERIC(18, 4) and
    "49" from an event are one amount): a figure summed from either reads and stores the same."""
    return Decimal(format_amount(value))


_as_string = PlainSerializer(format_amount, return_type=str, when_used="json")

AMOUNT_INTEGER_DIGITS = 11
AMOUNT_DECIMAL_PLACES = 4
"""An amount is stored as NUMERIC(18, 4), but the embedded default (SQLite) keeps numbers as
64-bit floats, exact to 15 significant digits only. So an amount has at most 11 digits before
the point and 4 after it (99,999,999,999.9999 万元 is about 10^15 元), and reads back exactly as
it was written on either database."""

Amount = Annotated[Decimal, _as_string]
"""An amount the API answers with (any sign), as a decimal string."""

_INTEGER = rf"(0|[1-9]\d{{0,{AMOUNT_INTEGER_DIGITS - 1}}})"
_PLACES = rf"(\.\d{{1,{AMOUNT_DECIMAL_PLACES}}})?"
NON_NEGATIVE_PATTERN = rf"^{_INTEGER}{_PLACES}$"
POSITIVE_PATTERN = (
    rf"^([1-9]\d{{0,{AMOUNT_INTEGER_DIGITS - 1}}}{_PLACES}"
    r"|0\.([1-9]\d{0,3}|0[1-9]\d{0,2}|00[1-9]\d?|000[1-9]))$"
)


def decimal_string(pattern: str, example: str, rule: str) -> Any:
    """A decimal a request carries as a JSON string matching `pattern`, which says all the API
    accepts: the OpenAPI schema shows it and the validator enforces it, so a client generated
    from the schema sends nothing the API refuses. A JSON number is refused (a float would
    round); Python callers may hand in a Decimal, checked by its canonical text."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        text = format_amount(value) if isinstance(value, Decimal) else value
        if not isinstance(text, str) or not compiled.fullmatch(text):
            raise PydanticCustomError(
                "decimal_string",
                "must be a decimal written as a string ({rule}), such as {example}",
                {"rule": rule, "example": example},
            )
        return Decimal(text)

    schema = {"type": "string", "pattern": pattern, "examples": [example], "description": rule}
    return (BeforeValidator(check), WithJsonSchema(schema, mode="validation"), _as_string)


_DIGITS = (
    f"at most {AMOUNT_INTEGER_DIGITS} digits before the point and {AMOUNT_DECIMAL_PLACES} after"
)
NonNegativeAmount = Annotated[
    Decimal, *decimal_string(NON_NEGATIVE_PATTERN, "12000.5", f"zero or more, {_DIGITS}")
]
"""An amount a request carries, zero or more."""
PositiveAmount = Annotated[
    Decimal, *decimal_string(POSITIVE_PATTERN, "12000.5", f"more than zero, {_DIGITS}")
]
"""An amount a request carries, more than zero."""
