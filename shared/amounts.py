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

Amount = Annotated[Decimal, _as_string]
NonNegativeAmount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4), _as_string]
