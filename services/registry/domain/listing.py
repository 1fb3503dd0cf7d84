"""The key list 重点项目清单: a project is on it (at a level) or off it, and moves between the two
only by a list change 增补/调整/退出.

    off --added (增补), with a level--> on
    on  --adjusted (调整), to another level--> on
    on  --withdrawn (退出), with no level--> off

Every other move is refused: adding a project already on the list, adjusting or withdrawing one
that is not on it, adjusting to the level it already has.
"""

from __future__ import annotations

from enum import StrEnum

from services.registry.domain.enums import Level, ListChangeKind
from shared.errors import InvalidInput, RuleViolation


class Listing(StrEnum):
    """Where a project stands with respect to the key list."""

    OFF = "off"
    ON = "on"

    @classmethod
    def of(cls, level: Level | None) -> Listing:
        return cls.OFF if level is None else cls.ON


TRANSITIONS: dict[tuple[Listing, ListChangeKind], Listing] = {
    (Listing.OFF, ListChangeKind.ADDED): Listing.ON,
    (Listing.ON, ListChangeKind.ADJUSTED): Listing.ON,
    (Listing.ON, ListChangeKind.WITHDRAWN): Listing.OFF,
}

# What each kind of change carries: the new level, or (withdrawal) none.
NEEDS_LEVEL: dict[ListChangeKind, bool] = {
    ListChangeKind.ADDED: True,
    ListChangeKind.ADJUSTED: True,
    ListChangeKind.WITHDRAWN: False,
}

_FORBIDDEN: dict[tuple[Listing, ListChangeKind], str] = {
    (Listing.ON, ListChangeKind.ADDED): (
        "the project is already on the key list as {current}; use adjusted (调整)"
    ),
    (Listing.OFF, ListChangeKind.ADJUSTED): (
        "the project is not on the key list; use added (增补)"
    ),
    (Listing.OFF, ListChangeKind.WITHDRAWN): (
        "the project is not on the key list; there is nothing to withdraw (退出)"
    ),
}


def plan_list_change(
    current: Level | None, kind: ListChangeKind, level: Level | None
) -> Level | None:
    """The project's level after a change of `kind` to `level`, from `current` (None: off the
    list). RuleViolation when the move is forbidden from where the project stands; InvalidInput
    when the change does not carry what its kind requires."""
    source = Listing.of(current)
    if (source, kind) not in TRANSITIONS:
        raise RuleViolation(_FORBIDDEN[(source, kind)].format(current=current))
    if NEEDS_LEVEL[kind] and level is None:
        raise InvalidInput(
            f"{kind} needs the new level", errors=[{"field": "level", "message": "required"}]
        )
    if not NEEDS_LEVEL[kind] and level is not None:
        raise InvalidInput(
            f"a {kind} change takes no level",
            errors=[{"field": "level", "message": "must be empty"}],
        )
    if kind is ListChangeKind.ADJUSTED and level == current:
        raise RuleViolation(f"the project is already at level {current}")
    return level if TRANSITIONS[(source, kind)] is Listing.ON else None
