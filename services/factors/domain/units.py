"""Units of the factors and exact conversion into the canonical unit each is stored in.

| factor | stored in | also accepted |
|---|---|---|
| land | mu 亩 | hectare 公顷 (× 15) |
| energy | tce 吨标准煤 | 10k_tce 万吨标准煤 (× 10,000) |
| pollutant | t 吨/年 | kg (÷ 1,000) |
| water | 10k_m3 万立方米/年 | m3 立方米 (÷ 10,000) |
| funds | 10k_yuan 万元 | yi_yuan 亿元 (× 10,000), yuan 元 (÷ 10,000) |

A converted amount must fit the stored precision (4 decimal places, 11 digits before the point):
0.00001 万元 is refused, never rounded, so what the ledger holds is exactly what was asked for.
What a request can say alone is in its schema (`INPUT_DIGITS`: the digits each unit takes, a
422); what depends on the ledger's state or on another field (an allocation's unit against its
pool's factor, a replacement ratio times the amount) is a rule (409).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from shared.amounts import AMOUNT_DECIMAL_PLACES, AMOUNT_INTEGER_DIGITS
from shared.errors import RuleViolation

STORED_PLACES = AMOUNT_DECIMAL_PLACES  # what every amount column keeps (shared.amounts)
MAX_INTEGER_DIGITS = AMOUNT_INTEGER_DIGITS


class Measure(StrEnum):
    """What an amount measures: each factor, plus funds."""

    LAND = "land"
    ENERGY = "energy"
    POLLUTANT = "pollutant"
    WATER = "water"
    FUNDS = "funds"


CANONICAL: dict[Measure, str] = {
    Measure.LAND: "mu",
    Measure.ENERGY: "tce",
    Measure.POLLUTANT: "t",
    Measure.WATER: "10k_m3",
    Measure.FUNDS: "10k_yuan",
}

UNIT_LABELS: dict[str, str] = {
    "mu": "亩",
    "hectare": "公顷",
    "tce": "吨标准煤",
    "10k_tce": "万吨标准煤",
    "t": "吨/年",
    "kg": "千克/年",
    "10k_m3": "万立方米/年",
    "m3": "立方米/年",
    "10k_yuan": "万元",
    "yi_yuan": "亿元",
    "yuan": "元",
}

# how many canonical units one of the named unit is
_FACTORS: dict[Measure, dict[str, Decimal]] = {
    Measure.LAND: {"mu": Decimal(1), "hectare": Decimal(15)},
    Measure.ENERGY: {"tce": Decimal(1), "10k_tce": Decimal(10_000)},
    Measure.POLLUTANT: {"t": Decimal(1), "kg": Decimal("0.001")},
    Measure.WATER: {"10k_m3": Decimal(1), "m3": Decimal("0.0001")},
    Measure.FUNDS: {"10k_yuan": Decimal(1), "yi_yuan": Decimal(10_000), "yuan": Decimal("0.0001")},
}


# The most digits before and after the point an amount given in each unit may have so that its
# conversion always fits the ledger exactly. A canonical unit keeps the ledger's (11, 4); 亩 from
# 公顷 × 15 has a 4-place input keep 4 places and 9 digits keep within 11.
INPUT_DIGITS: dict[str, tuple[int, int]] = {
    **{unit: (MAX_INTEGER_DIGITS, STORED_PLACES) for unit in CANONICAL.values()},
    "hectare": (9, 4),  # × 15
    "10k_tce": (7, 8),  # × 10,000
    "kg": (14, 1),  # ÷ 1,000
    "m3": (14, 0),  # ÷ 10,000
    "yi_yuan": (7, 8),  # × 10,000
    "yuan": (14, 0),  # ÷ 10,000
}


def accepted_units(measure: Measure) -> list[str]:
    return list(_FACTORS[measure])


def to_canonical(measure: Measure, amount: Decimal, unit: str | None, field: str) -> Decimal:
    """`amount` given in `unit` (default: the canonical one), in the canonical unit, exactly;
    RuleViolation (409) on `unit` for another measure's unit, on `field` for an amount the
    ledger cannot hold exactly (a request's schema already refuses those `INPUT_DIGITS` rules
    out, so this one is the rule it could not state)."""
    unit = CANONICAL[measure] if unit is None else unit
    per_unit = _FACTORS[measure].get(unit)
    if per_unit is None:
        message = f"unit {unit!r} is not a unit of {measure}; use one of " + ", ".join(
            accepted_units(measure)
        )
        raise RuleViolation(message, errors=[{"field": "unit", "message": message}])
    return storable(measure, amount * per_unit, field, f"{amount} {unit} is ")


def storable(measure: Measure, value: Decimal, field: str, said: str = "") -> Decimal:
    """`value` (canonical unit) if the ledger can hold it exactly; RuleViolation otherwise."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > STORED_PLACES:
        message = (
            f"{said}{value} {CANONICAL[measure]}, which has more than "
            f"{STORED_PLACES} decimal places and cannot be stored exactly"
        )
        raise RuleViolation(message, errors=[{"field": field, "message": message}])
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        message = f"{value} {CANONICAL[measure]} is too large"
        raise RuleViolation(message, errors=[{"field": field, "message": message}])
    return value


def unit_of(factor: str) -> str:
    """The canonical unit a factor's amounts are kept and answered in."""
    return CANONICAL[Measure(factor)]
