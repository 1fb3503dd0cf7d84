"""Exact conversion of every accepted unit into the stored (canonical) one: never rounded, a
value that does not fit the stored precision or size is refused, an unknown unit is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.factors.domain.units import (
    CANONICAL,
    STORED_PLACES,
    UNIT_LABELS,
    Measure,
    accepted_units,
    to_canonical,
)
from shared.errors import RuleViolation


@pytest.mark.parametrize(
    ("measure", "unit", "amount", "stored"),
    [
        (Measure.LAND, "mu", "3603", "3603"),
        (Measure.LAND, None, "12.5", "12.5"),
        (Measure.LAND, "hectare", "1", "15"),
        (Measure.LAND, "hectare", "128.5333", "1927.9995"),
        (Measure.ENERGY, "tce", "800", "800"),
        (Measure.ENERGY, "10k_tce", "1.5", "15000"),
        (Measure.ENERGY, "10k_tce", "0.00000001", "0.0001"),
        (Measure.POLLUTANT, "t", "12.3456", "12.3456"),
        (Measure.POLLUTANT, "kg", "1500", "1.5"),
        (Measure.POLLUTANT, "kg", "0.1", "0.0001"),
        (Measure.WATER, "10k_m3", "30", "30"),
        (Measure.WATER, "m3", "25000", "2.5"),
        (Measure.WATER, "m3", "1", "0.0001"),
        (Measure.FUNDS, "10k_yuan", "17400", "17400"),
        (Measure.FUNDS, "yi_yuan", "17.4", "174000"),
        (Measure.FUNDS, "yuan", "123456", "12.3456"),
    ],
)
def test_every_accepted_unit_converts_exactly(measure, unit, amount, stored):
    value = to_canonical(measure, Decimal(amount), unit, "amount")
    assert value == Decimal(stored)


def test_every_measure_accepts_its_canonical_unit_and_names_it():
    for measure in Measure:
        assert CANONICAL[measure] in accepted_units(measure)
        assert to_canonical(measure, Decimal(7), CANONICAL[measure], "amount") == 7
        for unit in accepted_units(measure):
            assert unit in UNIT_LABELS


def test_the_accepted_units_are_exactly_the_documented_ones():
    assert accepted_units(Measure.LAND) == ["mu", "hectare"]
    assert accepted_units(Measure.ENERGY) == ["tce", "10k_tce"]
    assert accepted_units(Measure.POLLUTANT) == ["t", "kg"]
    assert accepted_units(Measure.WATER) == ["10k_m3", "m3"]
    assert accepted_units(Measure.FUNDS) == ["10k_yuan", "yi_yuan", "yuan"]


@pytest.mark.parametrize(
    ("measure", "unit", "amount"),
    [
        (Measure.FUNDS, "10k_yuan", "0.00001"),
        (Measure.FUNDS, None, "0.00001"),
        (Measure.FUNDS, "yuan", "1.5"),  # 0.00015 万元
        (Measure.LAND, "hectare", "0.00001"),  # 0.00015 亩
        (Measure.POLLUTANT, "kg", "0.01"),  # 0.00001 t
        (Measure.WATER, "m3", "0.5"),
        (Measure.ENERGY, "tce", "1.00001"),
    ],
)
def test_an_amount_finer_than_the_stored_precision_is_refused_not_rounded(measure, unit, amount):
    with pytest.raises(RuleViolation) as exc:
        to_canonical(measure, Decimal(amount), unit, "amount")
    assert exc.value.status == 409
    assert exc.value.errors == [{"field": "amount", "message": exc.value.detail}]
    assert f"more than {STORED_PLACES} decimal places" in exc.value.detail


def test_the_refusal_names_the_field_it_was_given():
    with pytest.raises(RuleViolation) as exc:
        to_canonical(Measure.LAND, Decimal("0.00001"), "mu", "ring_fences[1].amount")
    assert exc.value.errors[0]["field"] == "ring_fences[1].amount"


def test_trailing_zeros_beyond_the_precision_are_not_a_refusal():
    assert to_canonical(Measure.LAND, Decimal("1.500000"), "mu", "amount") == Decimal("1.5")
    assert to_canonical(Measure.FUNDS, Decimal("1E+3"), "yi_yuan", "amount") == 10_000_000


def test_an_amount_too_large_to_store_exactly_is_refused():
    # 15 significant digits: what SQLite (a double) and PostgreSQL both hold exactly
    largest = Decimal("99999999999.9999")
    assert to_canonical(Measure.LAND, largest, "mu", "amount") == largest
    with pytest.raises(RuleViolation) as exc:
        to_canonical(Measure.LAND, Decimal("100000000000"), "mu", "amount")
    assert exc.value.errors[0]["field"] == "amount" and "too large" in exc.value.detail
    with pytest.raises(RuleViolation):  # fits as entered, not once converted
        to_canonical(Measure.FUNDS, Decimal("10000000"), "yi_yuan", "amount")
    assert to_canonical(Measure.FUNDS, Decimal("9999999"), "yi_yuan", "amount") == Decimal(
        "99999990000"
    )


@pytest.mark.parametrize(
    ("measure", "unit"),
    [
        (Measure.LAND, "acre"),
        (Measure.LAND, "tce"),  # another measure's unit
        (Measure.ENERGY, "hectare"),
        (Measure.POLLUTANT, "10k_m3"),
        (Measure.WATER, "MU"),
        (Measure.FUNDS, "yuan "),
    ],
)
def test_an_unknown_unit_is_refused_with_the_units_that_are_accepted(measure, unit):
    with pytest.raises(RuleViolation) as exc:
        to_canonical(measure, Decimal(1), unit, "amount")
    assert exc.value.errors[0]["field"] == "unit"
    for accepted in accepted_units(measure):
        assert accepted in exc.value.detail


def test_the_api_offers_exactly_the_units_the_conversion_knows():
    from typing import get_args

    from services.factors.domain.units import Measure, accepted_units
    from services.factors.schemas import FundsUnit, PollutantUnit, Unit

    factors = [m for m in Measure if m is not Measure.FUNDS]
    assert set(get_args(Unit)) == {u for m in factors for u in accepted_units(m)}
    assert set(get_args(PollutantUnit)) == set(accepted_units(Measure.POLLUTANT))
    assert set(get_args(FundsUnit)) == set(accepted_units(Measure.FUNDS))
