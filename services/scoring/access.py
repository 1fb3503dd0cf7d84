"""Who may see which scores.

- commander (the command office): everything; the only one who sets schemes, publishes and
  rebuilds;
- viewer: reads everything, changes nothing;
- county: its own division's scorecard and exposure items, and the published rankings (a
  publication shows it the ranking, its own card and its own exposure items); the live ranking
  of all divisions is 403 until it is published;
- department: the published rankings (a publication shows it the ranking only).
"""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import Forbidden


def sees_every_division(principal: Principal) -> bool:
    return principal.role in (Role.COMMANDER, Role.VIEWER)


def own_division(principal: Principal) -> str | None:
    """The one division whose details a non-commander may see (a department: none)."""
    return principal.county if principal.role is Role.COUNTY else None


def divisions_visible(principal: Principal, counties: list[str]) -> list[str]:
    if sees_every_division(principal):
        return counties
    if principal.role is Role.COUNTY:
        return [c for c in counties if c == principal.county]
    raise Forbidden("scorecards are for the command office and the counties")


def ensure_card(principal: Principal, county: str) -> None:
    if sees_every_division(principal):
        return
    if principal.role is Role.COUNTY and principal.county == county:
        return
    raise Forbidden("a county sees its own scorecard only")


def ensure_live_ranking(principal: Principal) -> None:
    if not sees_every_division(principal):
        raise Forbidden("the ranking is visible to the counties once it is published")
