"""Decimal amounts that travel as JSON strings, never floats (万元, 亩, 吨标准煤, 吨, 万立方米)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer


def format_amount(value: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros ("12000.5", "3603")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


_as_string = PlainSerializer(format_amount, return_type=str, when_used="json")

AMOUNT_INTEGER_DIGITS = 11
AMOUNT_DECIMAL_PLACES = 4
"""An amount is stored as NUMERIC(18, 4), but the embedded default (SQLite) keeps numbers as
64-bit floats, exact to 15 significant digits only. So an amount has at most 11 digits before
the point and 4 after it (99,999,999,999.9999 万元 is about 10^15 元), and reads back exactly as
it was written on either database."""

Amount = Annotated[Decimal, _as_string]
NonNegativeAmount = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=AMOUNT_INTEGER_DIGITS + AMOUNT_DECIMAL_PLACES,
        decimal_places=AMOUNT_DECIMAL_PLACES,
    ),
    _as_string,
]
