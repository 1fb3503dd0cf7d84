"""Pollutant replacement (倍量替代) rules: a source's capacity bounds what its allocations are
charged, the charge is ratio × amount held exactly, a source's ratio may be stricter than the
city's and never looser, and only pollutant allocations take a source and a ratio."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.factors.domain.ledger import (
    SourceState,
    check_replacement_terms,
    check_source_covers,
    check_source_pollutant,
    replacement_charge,
    source_ratio,
)
from services.factors.domain.vocabulary import Factor, Pollutant
from shared.errors import RuleViolation

D = Decimal


def test_a_charge_of_exactly_what_the_source_has_left_passes_and_one_unit_more_fails():
    source = SourceState(name="某热电厂", amount=D(100), used=D(60))
    check_source_covers(source, D(2), D(20), D(40))  # 60 + 40 == 100: fits exactly
    with pytest.raises(RuleViolation) as exc:
        check_source_covers(source, D(2), D("20.00005"), D("40.0001"))
    assert exc.value.extra["remaining"] == "40"
    assert "某热电厂 has 40 t/yr left" in exc.value.detail


def test_the_source_bounds_the_charge_not_the_amount():
    # 30 t/yr of new emissions at 2:1 cost the source 60, more than its 50 left
    source = SourceState(name="s", amount=D(50), used=D(0))
    with pytest.raises(RuleViolation) as exc:
        check_source_covers(source, D(2), D(30), replacement_charge(D(2), D(30)))
    assert "2:1 replacement of 30 needs 60" in exc.value.detail


def test_a_used_up_source_refuses_any_charge():
    with pytest.raises(RuleViolation):
        check_source_covers(SourceState("s", D(10), D(10)), D(1), D("0.0001"), D("0.0001"))


def test_the_charge_is_the_ratio_times_the_amount_and_must_be_storable():
    assert replacement_charge(D("1.5"), D(3)) == D("4.5")
    with pytest.raises(RuleViolation) as exc:
        replacement_charge(D("1.5"), D("0.0001"))  # 0.00015: more places than the ledger keeps
    assert exc.value.errors[0]["field"] == "amount"


def test_a_source_may_set_a_stricter_ratio_than_the_citys_never_a_looser_one():
    air, water = D(2), D(1)
    assert source_ratio(Pollutant.SO2, None, air, water) == D(2)
    assert source_ratio(Pollutant.COD, None, air, water) == D(1)
    assert source_ratio(Pollutant.SO2, D("2.5"), air, water) == D("2.5")
    with pytest.raises(RuleViolation) as exc:
        source_ratio(Pollutant.SO2, D("1.5"), air, water)
    assert exc.value.errors[0]["field"] == "ratio"


def test_a_pollutant_allocation_names_its_source_and_others_take_none():
    check_replacement_terms(Factor.POLLUTANT, "source-1", None)
    check_replacement_terms(Factor.POLLUTANT, "source-1", D(3))
    check_replacement_terms(Factor.LAND, None, None)
    for factor, source, ratio in [
        (Factor.POLLUTANT, None, None),
        (Factor.LAND, "source-1", None),
        (Factor.ENERGY, None, D(2)),
    ]:
        with pytest.raises(RuleViolation) as exc:
            check_replacement_terms(factor, source, ratio)
        assert exc.value.errors[0]["field"] == "source_id"


def test_a_source_serves_only_its_own_pollutants_pool():
    check_source_pollutant("SO2", "SO2")
    with pytest.raises(RuleViolation):
        check_source_pollutant("SO2", "NOx")
