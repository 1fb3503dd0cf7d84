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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.factors.domain.vocabulary import Pollutant, Scope
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
