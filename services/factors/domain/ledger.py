"""The quota ledger's rules: who may draw from a pool, and how much.

The one invariant: what is drawn from a pool never exceeds the pool. On top of it:

- Priority 优先级: provincial major > other provincial > city key > city infrastructure > county
  key > projects not on the key list. A pool may ring-fence (预留) shares for the higher levels:
  a fence `(min_level, amount)` keeps `amount` for projects at `min_level` or above, so lower
  levels draw only from what the fences leave.
- A provincial-coordinated pool (省级统筹) serves provincial major construction projects only;
  the rest draw from the city's quota.
- Advances 预支 may be capped at a share of the pool.

Fenced sets are nested (each fence covers "this level and above"), so whether a draw fits is a
check per cut in the priority order (Hall's condition for nested sets): the draws of the levels
below a cut may not exceed the pool less every fence kept for levels above that cut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from services.factors.domain.units import Measure, storable, to_canonical
from services.factors.domain.vocabulary import Factor, Pollutant, Scope
from shared.amounts import format_amount
from shared.errors import RuleViolation
from shared.events.catalogue.registry import Level

# rank 1 is served first; None (not on the key list) comes last
PRIORITY: dict[Level | None, int] = {
    Level.PROVINCIAL_MAJOR_CONSTRUCTION: 1,
    Level.PROVINCIAL_MAJOR_PREPARATION: 2,
    Level.PROVINCIAL_PREFERRED: 2,
    Level.INVESTMENT_ATTRACTION: 2,
    Level.CITY_KEY: 3,
    Level.CITY_INFRASTRUCTURE: 4,
    Level.COUNTY_KEY: 5,
    None: 6,
}
LOWEST_RANK = max(PRIORITY.values())

PROVINCIAL_POOL_LEVELS = frozenset({Level.PROVINCIAL_MAJOR_CONSTRUCTION})

AIR_POLLUTANTS = frozenset({Pollutant.SO2, Pollutant.NOX, Pollutant.PARTICULATES, Pollutant.VOCS})


def city_replacement_ratio(pollutant: Pollutant, air: Decimal, water: Decimal) -> Decimal:
    """The city's replacement ratio for `pollutant` (configured: 倍量替代 2:1 for the air
    pollutants in Binzhou, 1:1 for COD and NH3-N); a source may set a stricter one, never a
    looser one."""
    return air if pollutant in AIR_POLLUTANTS else water


def source_ratio(
    pollutant: Pollutant, requested: Decimal | None, air: Decimal, water: Decimal
) -> Decimal:
    """The ratio a new replacement source is registered at: the city's for its pollutant, or
    a stricter one it names (a looser one breaks the city's rule: 409, like an allocation's)."""
    city = city_replacement_ratio(pollutant, air, water)
    if requested is not None and requested < city:
        message = (
            f"the city replaces {pollutant} at {city}:1 at least; "
            f"a source may not set {requested}:1"
        )
        raise RuleViolation(message, errors=[{"field": "ratio", "message": message}])
    return requested or city


def pool_key(factor: str, pollutant: str | None, year: int, scope: str) -> str:
    """There is one pool per factor, pollutant, year and scope: this is its unique key."""
    return f"{factor}:{pollutant or '-'}:{year}:{scope}"


def check_new_pool(key_taken: bool, scope: str, what: str, year: int) -> None:
    """One pool per factor, pollutant, year and scope (`pool_key`)."""
    if key_taken:
        raise RuleViolation(
            f"a {scope} {what} pool for {year} exists; "
            "there is one pool per factor, pollutant, year and scope"
        )


def rank_of(level: str | None) -> int:
    return PRIORITY[Level(level) if level else None]


@dataclass(frozen=True)
class RingFence:
    min_level: Level
    amount: Decimal


@dataclass(frozen=True)
class PoolState:
    amount: Decimal
    fences: Sequence[RingFence]
    drawn_by_rank: Mapping[int, Decimal]  # what is drawn now, by the drawing project's rank
    advance_drawn: Decimal
    advance_share: Decimal | None  # percent of the pool advances may take; None = no cap

    @property
    def drawn(self) -> Decimal:
        return sum(self.drawn_by_rank.values(), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.drawn

    def _fenced_above(self, cut: int) -> Decimal:
        """What the fences keep for ranks 1..cut."""
        return sum((f.amount for f in self.fences if PRIORITY[f.min_level] <= cut), Decimal(0))

    def _drawn_below(self, cut: int) -> Decimal:
        """What ranks cut+1.. have drawn."""
        return sum((v for r, v in self.drawn_by_rank.items() if r > cut), Decimal(0))

    def available_to(self, level: str | None) -> Decimal:
        """The most a project at `level` may still draw (never negative)."""
        return self._available_to_rank(rank_of(level))

    def available_below(self, fence: RingFence) -> Decimal:
        """What a project just below a fence's levels may still draw."""
        return self._available_to_rank(PRIORITY[fence.min_level] + 1)

    def _available_to_rank(self, rank: int) -> Decimal:
        room = min(
            self.amount - self._fenced_above(cut) - self._drawn_below(cut) for cut in range(rank)
        )
        return max(room, Decimal(0))

    @property
    def advance_cap(self) -> Decimal | None:
        if self.advance_share is None:
            return None
        return self.amount * self.advance_share / 100


class PoolBook(Protocol):
    """A pool's running totals."""

    allocated: Decimal
    advance_allocated: Decimal
    released: Decimal


def book_draw(pool: PoolBook, charge: Decimal, advance: bool) -> None:
    """A draw adds its charge to what the pool has allocated, and to its advances if it is one."""
    pool.allocated += charge
    if advance:
        pool.advance_allocated += charge


def book_release(pool: PoolBook, charge: Decimal, advance: bool) -> None:
    """A release gives its charge back: allocated (and advances) shrink, released grows."""
    pool.allocated -= charge
    if advance:
        pool.advance_allocated -= charge
    pool.released += charge


def validate_fences(amount: Decimal, fences: Sequence[RingFence]) -> list[str]:
    """Problems with a pool's ring-fences, as messages (empty when fine)."""
    problems = []
    levels = [f.min_level for f in fences]
    if len(set(levels)) != len(levels):
        problems.append("each level may have one ring-fence")
    total = sum((f.amount for f in fences), Decimal(0))
    if total > amount:
        problems.append(
            f"the ring-fences keep {format_amount(total)}, more than the pool's {format_amount(amount)}"
        )
    return problems


def ring_fences(
    measure: Measure, amount: Decimal, given: Sequence[tuple[Level, Decimal]], unit: str | None
) -> list[RingFence]:
    """A new pool's ring-fences, each `(min_level, amount in unit)`, in the canonical unit. The
    fences must fit the pool, one per level: a RuleViolation on `ring_fences` names every
    problem `validate_fences` finds."""
    fences = [
        RingFence(level, to_canonical(measure, value, unit, f"ring_fences[{i}].amount"))
        for i, (level, value) in enumerate(given)
    ]
    problems = validate_fences(amount, fences)
    if problems:
        raise RuleViolation(
            "; ".join(problems), errors=[{"field": "ring_fences", "message": p} for p in problems]
        )
    return fences


def is_advance(asked: bool, pool_year: int, today: dt.date) -> bool:
    """A draw is an advance (预支) when asked for, and always on a pool of a year to come."""
    return asked or pool_year > today.year


def check_replacement_terms(factor: Factor, source_id: str | None, ratio: Decimal | None) -> None:
    """A pollutant allocation names its replacement source; no other allocation takes a source
    or a ratio. The pool's factor decides, so a refusal is 409 (like the pool's other rules)."""
    if factor is Factor.POLLUTANT and source_id is None:
        message = "a pollutant allocation names its replacement source (source_id)"
        raise RuleViolation(message, errors=[{"field": "source_id", "message": message}])
    if factor is not Factor.POLLUTANT and (source_id is not None or ratio is not None):
        message = "only pollutant allocations take a replacement source and ratio"
        raise RuleViolation(message, errors=[{"field": "source_id", "message": message}])


def check_source_pollutant(source: str, pool: str | None) -> None:
    """A source replaces the pollutant it freed, and only in that pollutant's pool (409)."""
    if source != pool:
        message = f"the source frees {source}, the pool is for {pool}"
        raise RuleViolation(message, errors=[{"field": "source_id", "message": message}])


def check_eligible(scope: Scope, level: str | None) -> None:
    if scope is Scope.PROVINCIAL and (level is None or Level(level) not in PROVINCIAL_POOL_LEVELS):
        raise RuleViolation(
            "a provincial-coordinated pool (省级统筹) serves provincial major construction "
            "projects only; draw from the city's quota instead"
        )


def check_draw(pool: PoolState, level: str | None, charge: Decimal, advance: bool) -> None:
    """Refuse a draw of `charge` by a project at `level` that the pool cannot take. The 409
    says how much remains for that project, and in the pool."""
    available = pool.available_to(level)
    if charge > available:
        fenced = available < pool.remaining
        raise RuleViolation(
            f"the pool cannot cover {format_amount(charge)}: {format_amount(available)} remains for this project"
            + (" (the rest is ring-fenced for higher levels)" if fenced else ""),
            remaining=format_amount(available),
            pool_remaining=format_amount(pool.remaining),
        )
    cap = pool.advance_cap
    if advance and cap is not None and pool.advance_drawn + charge > cap:
        left = max(cap - pool.advance_drawn, Decimal(0))
        raise RuleViolation(
            f"advances (预支) may take at most {format_amount(pool.advance_share or Decimal(0))}% of the pool; "
            f"{format_amount(left)} remains for advances",
            remaining=format_amount(min(left, available)),
            pool_remaining=format_amount(pool.remaining),
        )


def replacement_ratio(source_ratio: Decimal, requested: Decimal | None) -> Decimal:
    """The ratio an allocation is charged at: the source's, or a stricter one asked for."""
    if requested is None:
        return source_ratio
    if requested < source_ratio:
        raise RuleViolation(
            f"the replacement ratio may not be below the source's {format_amount(source_ratio)}:1",
        )
    return requested


def replacement_charge(ratio: Decimal, amount: Decimal) -> Decimal:
    """What a pollutant allocation of `amount` costs its pool and its source: `ratio` × amount,
    which the ledger must hold exactly (RuleViolation on `amount` otherwise)."""
    return storable(
        Measure.POLLUTANT, ratio * amount, "amount", f"{ratio}:1 replacement of {amount} is "
    )


@dataclass(frozen=True)
class SourceState:
    """A replacement source as a draw sees it: what it freed (吨/年) and how much of that its
    allocations are already charged."""

    name: str
    amount: Decimal
    used: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.used


def check_source_covers(
    source: SourceState, ratio: Decimal, amount: Decimal, charge: Decimal
) -> None:
    """A source's freed emissions are replaced once: the charges drawn on it (ratio × amount
    each) may not pass what it freed. The 409 says how much it has left."""
    if source.used + charge > source.amount:
        left = format_amount(source.remaining)
        raise RuleViolation(
            f"the replacement source {source.name} has {left} t/yr left; "
            f"{format_amount(ratio)}:1 replacement of {amount} needs {format_amount(charge)}",
            remaining=left,
        )
