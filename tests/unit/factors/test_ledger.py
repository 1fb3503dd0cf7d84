"""The ledger's rules: priority ranks, nested ring-fences (what each level may still draw),
the exact boundary of a draw, ring-fence validation, the advance cap, the provincial pool's
eligibility and the pollutant replacement ratio."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.factors.domain.ledger import (
    LOWEST_RANK,
    PRIORITY,
    PoolState,
    RingFence,
    check_draw,
    check_eligible,
    city_replacement_ratio,
    rank_of,
    replacement_ratio,
    validate_fences,
)
from services.factors.domain.vocabulary import Pollutant, Scope
from shared.errors import RuleViolation
from shared.events.catalogue.registry import Level

D = Decimal
PMC = Level.PROVINCIAL_MAJOR_CONSTRUCTION.value
PREP = Level.PROVINCIAL_MAJOR_PREPARATION.value
PREFERRED = Level.PROVINCIAL_PREFERRED.value
ATTRACTION = Level.INVESTMENT_ATTRACTION.value
CITY_KEY = Level.CITY_KEY.value
CITY_INFRA = Level.CITY_INFRASTRUCTURE.value
COUNTY_KEY = Level.COUNTY_KEY.value
EVERY_LEVEL = [PMC, PREP, PREFERRED, ATTRACTION, CITY_KEY, CITY_INFRA, COUNTY_KEY, None]


def state(
    amount: str = "1000",
    fences: dict[str, str] | None = None,
    drawn: dict[str | None, str] | None = None,
    advance_drawn: str = "0",
    advance_share: str | None = None,
) -> PoolState:
    by_rank: dict[int, Decimal] = {}
    for level, value in (drawn or {}).items():
        by_rank[rank_of(level)] = by_rank.get(rank_of(level), D(0)) + D(value)
    return PoolState(
        amount=D(amount),
        fences=[RingFence(Level(k), D(v)) for k, v in (fences or {}).items()],
        drawn_by_rank=by_rank,
        advance_drawn=D(advance_drawn),
        advance_share=D(advance_share) if advance_share is not None else None,
    )


# ---------------------------------------------------------------- priority
def test_priority_orders_the_levels_as_the_domain_does():
    # provincial major > other provincial > city key > city infrastructure > county key > none
    ranks = [rank_of(level) for level in EVERY_LEVEL]
    assert ranks == [1, 2, 2, 2, 3, 4, 5, 6]
    assert LOWEST_RANK == 6
    assert set(PRIORITY) == {*Level, None}


def test_an_empty_level_is_the_lowest_rank():
    assert rank_of(None) == rank_of("") == LOWEST_RANK


# ---------------------------------------------------------------- available_to
NESTED = {PMC: "100", PREFERRED: "200", CITY_KEY: "300"}


@pytest.mark.parametrize(
    ("level", "available"),
    [
        (PMC, "1000"),  # every fence is kept for it
        (PREP, "900"),  # all but the fence kept for provincial major construction
        (PREFERRED, "900"),
        (ATTRACTION, "900"),
        (CITY_KEY, "700"),  # the provincial fences are out of its reach
        (CITY_INFRA, "400"),  # only what no fence keeps
        (COUNTY_KEY, "400"),
        (None, "400"),
    ],
)
def test_each_level_may_draw_what_the_fences_above_it_leave(level, available):
    assert state(fences=NESTED).available_to(level) == D(available)


@pytest.mark.parametrize(
    ("level", "available"),
    [
        (PMC, "850"),
        (PREFERRED, "850"),  # the 50 over its own fence counts toward the provincial fence
        (CITY_KEY, "700"),
        (CITY_INFRA, "400"),
        (COUNTY_KEY, "400"),
    ],
)
def test_what_a_higher_level_draws_first_fills_its_fences(level, available):
    # provincial major construction drew 150: its 100 fence is used, and 50 of the 200 kept
    # for "other provincial and above", which it is part of; the lower levels lose nothing
    assert state(fences=NESTED, drawn={PMC: "150"}).available_to(level) == D(available)


@pytest.mark.parametrize(
    ("level", "available"),
    [
        (PMC, "700"),
        (PREFERRED, "600"),
        (CITY_KEY, "400"),
        (CITY_INFRA, "100"),
        (COUNTY_KEY, "100"),
        (None, "100"),
    ],
)
def test_what_a_lower_level_draws_comes_out_of_the_unfenced_share(level, available):
    assert state(fences=NESTED, drawn={COUNTY_KEY: "300"}).available_to(level) == D(available)


def test_without_fences_every_level_may_draw_the_remainder():
    pool = state(drawn={PMC: "100", CITY_KEY: "250", None: "50"})
    assert pool.remaining == D(600) and pool.drawn == D(400)
    for level in EVERY_LEVEL:
        assert pool.available_to(level) == D(600)


def test_a_fence_of_the_lowest_key_level_keeps_its_share_from_projects_off_the_list():
    pool = state(fences={COUNTY_KEY: "250"})
    assert pool.available_to(COUNTY_KEY) == D(1000)
    assert pool.available_to(None) == D(750)


def test_availability_is_never_negative():
    # a county-key draw larger than the unfenced share (made before a fence, say)
    pool = state(amount="100", fences={CITY_KEY: "80"}, drawn={COUNTY_KEY: "50"})
    assert pool.available_to(COUNTY_KEY) == D(0)
    assert pool.available_to(CITY_KEY) == D(50)


def test_available_below_a_fence_is_what_the_next_lower_rank_may_draw():
    pool = state(fences=NESTED, drawn={CITY_INFRA: "100"})
    below = {f.min_level: pool.available_below(f) for f in pool.fences}
    assert below[Level.PROVINCIAL_MAJOR_CONSTRUCTION] == pool.available_to(PREFERRED) == D(800)
    assert below[Level.PROVINCIAL_PREFERRED] == pool.available_to(CITY_KEY) == D(600)
    assert below[Level.CITY_KEY] == pool.available_to(CITY_INFRA) == D(300)


# ---------------------------------------------------------------- check_draw
@pytest.mark.parametrize("level", EVERY_LEVEL)
def test_a_draw_of_exactly_what_remains_passes_and_one_unit_more_fails(level):
    pool = state(fences=NESTED, drawn={CITY_KEY: "123.4567", COUNTY_KEY: "10"})
    available = pool.available_to(level)
    check_draw(pool, level, available, advance=False)
    with pytest.raises(RuleViolation) as exc:
        check_draw(pool, level, available + D("0.0001"), advance=False)
    assert exc.value.status == 409
    assert exc.value.extra == {
        "remaining": str(available),
        "pool_remaining": str(pool.remaining),
    }


def test_a_refusal_because_of_a_fence_says_so():
    pool = state(fences={CITY_KEY: "600"})
    with pytest.raises(RuleViolation) as exc:
        check_draw(pool, COUNTY_KEY, D(401), advance=False)
    assert "ring-fenced" in exc.value.detail
    assert exc.value.extra == {"remaining": "400", "pool_remaining": "1000"}
    with pytest.raises(RuleViolation) as exc:
        check_draw(state(drawn={None: "999"}), None, D(2), advance=False)
    assert "ring-fenced" not in exc.value.detail


def test_a_full_pool_refuses_any_draw():
    pool = state(drawn={CITY_KEY: "1000"})
    with pytest.raises(RuleViolation) as exc:
        check_draw(pool, PMC, D("0.0001"), advance=False)
    assert exc.value.extra["remaining"] == "0"


# ---------------------------------------------------------------- advance cap
def test_advances_are_capped_at_their_share_of_the_pool():
    pool = state(advance_share="30", advance_drawn="200", drawn={CITY_KEY: "200"})
    assert pool.advance_cap == D(300)
    check_draw(pool, CITY_KEY, D(100), advance=True)
    with pytest.raises(RuleViolation) as exc:
        check_draw(pool, CITY_KEY, D("100.0001"), advance=True)
    assert "advances" in exc.value.detail
    assert exc.value.extra == {"remaining": "100", "pool_remaining": "800"}
    # an ordinary draw is not held by the advance cap
    check_draw(pool, CITY_KEY, D(800), advance=False)


def test_the_advance_refusal_reports_no_more_than_the_project_may_draw_at_all():
    pool = state(advance_share="50", fences={PMC: "900"})
    with pytest.raises(RuleViolation) as exc:
        check_draw(pool, CITY_KEY, D(101), advance=True)
    assert exc.value.extra["remaining"] == "100"


def test_a_fractional_advance_share():
    pool = state(amount="4415", advance_share="81.61")
    assert pool.advance_cap == D("3603.0815")
    check_draw(pool, CITY_KEY, D("3603.0815"), advance=True)
    with pytest.raises(RuleViolation):
        check_draw(pool, CITY_KEY, D("3603.0816"), advance=True)


def test_without_a_share_advances_are_not_capped():
    pool = state(advance_drawn="900", drawn={CITY_KEY: "900"})
    assert pool.advance_cap is None
    check_draw(pool, CITY_KEY, D(100), advance=True)


# ---------------------------------------------------------------- fences
def test_fences_within_the_pool_are_fine():
    assert validate_fences(D(1000), []) == []
    fences = [RingFence(Level(k), D(v)) for k, v in NESTED.items()]
    assert validate_fences(D(600), fences) == []  # exactly the pool


def test_fences_keeping_more_than_the_pool_are_refused():
    fences = [RingFence(Level(k), D(v)) for k, v in NESTED.items()]
    [problem] = validate_fences(D("599.9999"), fences)
    assert "600" in problem and "599.9999" in problem


def test_one_fence_per_level():
    fences = [RingFence(Level.CITY_KEY, D(1)), RingFence(Level.CITY_KEY, D(2))]
    assert validate_fences(D(1000), fences) == ["each level may have one ring-fence"]
    both = [RingFence(Level.CITY_KEY, D(600)), RingFence(Level.CITY_KEY, D(600))]
    assert len(validate_fences(D(1000), both)) == 2


# ---------------------------------------------------------------- the provincial pool
def test_a_provincial_pool_serves_provincial_major_construction_only():
    check_eligible(Scope.PROVINCIAL, PMC)
    for level in EVERY_LEVEL[1:]:
        with pytest.raises(RuleViolation) as exc:
            check_eligible(Scope.PROVINCIAL, level)
        assert "省级统筹" in exc.value.detail


def test_the_city_pool_serves_every_level():
    for level in EVERY_LEVEL:
        check_eligible(Scope.CITY, level)


# ---------------------------------------------------------------- replacement ratio
def test_the_city_replaces_air_pollutants_at_the_air_ratio_and_water_ones_at_the_water_ratio():
    air, water = D(2), D("1.5")
    ratios = {p: city_replacement_ratio(p, air, water) for p in Pollutant}
    assert ratios == {
        Pollutant.COD: water,
        Pollutant.NH3N: water,
        Pollutant.SO2: air,
        Pollutant.NOX: air,
        Pollutant.PARTICULATES: air,
        Pollutant.VOCS: air,
    }


def test_the_ratio_is_the_sources_unless_a_stricter_one_is_asked_for():
    assert replacement_ratio(D(2), None) == D(2)
    assert replacement_ratio(D(2), D(2)) == D(2)
    assert replacement_ratio(D(2), D("2.5")) == D("2.5")
    with pytest.raises(RuleViolation) as exc:
        replacement_ratio(D(2), D("1.99"))
    assert "2:1" in exc.value.detail
