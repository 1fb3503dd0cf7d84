"""Rates as the city's reports print them: percentages with one decimal place, rounded half up.

One rule for every service (completion rate, utilisation, resolution rate, start rate).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Annotated

from pydantic import PlainSerializer

ONE_DECIMAL = Decimal("0.1")
HUNDRED = Decimal(100)
# Extra precision so the only rounding that matters is the final half-up one (one context for
# every call: entering a local one each time cost as much as the arithmetic).
_EXACT = Context(prec=50, rounding=ROUND_HALF_EVEN)  # the default context's rounding


def percent(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator as a percentage, 1 dp half up; None when the denominator is 0."""
    if denominator == 0:
        return None
    ratio = _EXACT.divide(_EXACT.multiply(Decimal(numerator), HUNDRED), Decimal(denominator))
    return ratio.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP, context=_EXACT)


def format_rate(value: Decimal) -> str:
    """A rate as printed: always one decimal place ("81.6", "100.0", "-12.5")."""
    return format(value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP), "f")


Rate = Annotated[Decimal, PlainSerializer(format_rate, return_type=str, when_used="json")]
"""A percentage in an answer: a decimal string with exactly one decimal place."""
