"""An allocation's life and a pool's running totals: only an active allocation is released or
used, dates keep their order, a draw books its charge (and its advance) and a release gives it
back; one pool per factor, pollutant, year and scope; a draw on a year to come is an advance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from services.factors.domain.allocations import (
    NotActive,
    check_active,
    check_use_by,
    check_used_on,
)
from services.factors.domain.ledger import (
    book_draw,
    book_release,
    check_new_pool,
    is_advance,
    pool_key,
)
from services.factors.domain.vocabulary import AllocationStatus
from shared.errors import RuleViolation

D = Decimal
TODAY = dt.date(2020, 4, 15)
ZERO = Decimal(0)


def test_only_an_active_allocation_may_change():
    check_active("a1", AllocationStatus.ACTIVE)
    with pytest.raises(NotActive, match="already released"):
        check_active("a1", AllocationStatus.RELEASED)
    with pytest.raises(NotActive, match="stays drawn"):
        check_active("a1", AllocationStatus.USED)


def test_a_use_by_date_may_be_today_but_not_past():
    check_use_by(None, TODAY)
    check_use_by(TODAY, TODAY)
    with pytest.raises(RuleViolation) as exc:
        check_use_by(TODAY - dt.timedelta(days=1), TODAY)
    assert exc.value.errors[0]["field"] == "use_by"


def test_an_allocation_is_used_on_or_after_its_allocation():
    check_used_on(TODAY, TODAY)
    with pytest.raises(RuleViolation) as exc:
        check_used_on(TODAY - dt.timedelta(days=1), TODAY)
    assert exc.value.errors[0]["field"] == "date"


@dataclass
class Book:
    allocated: Decimal = ZERO
    advance_allocated: Decimal = ZERO
    released: Decimal = ZERO


def test_a_draw_and_its_release_balance_the_pools_totals():
    pool = Book()
    book_draw(pool, D(30), advance=True)
    book_draw(pool, D(20), advance=False)
    assert (pool.allocated, pool.advance_allocated, pool.released) == (D(50), D(30), D(0))
    book_release(pool, D(30), advance=True)
    assert (pool.allocated, pool.advance_allocated, pool.released) == (D(20), D(0), D(30))
    book_release(pool, D(20), advance=False)
    assert (pool.allocated, pool.advance_allocated, pool.released) == (D(0), D(0), D(50))


def test_a_draw_on_a_year_to_come_is_always_an_advance():
    assert is_advance(False, 2021, TODAY)
    assert not is_advance(False, 2020, TODAY)
    assert not is_advance(False, 2019, TODAY)
    assert is_advance(True, 2019, TODAY)


def test_one_pool_per_factor_pollutant_year_and_scope():
    assert pool_key("land", None, 2020, "city") == "land:-:2020:city"
    assert pool_key("pollutant", "SO2", 2020, "city") != pool_key("pollutant", "NOx", 2020, "city")
    check_new_pool(False, "city", "land", 2020)
    with pytest.raises(RuleViolation, match="one pool per factor"):
        check_new_pool(True, "city", "land", 2020)
