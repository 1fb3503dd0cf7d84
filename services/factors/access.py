"""Who may do what with factors: the command office sets pools, allocates, releases and records
bank credit; a county reads its own county's allocations and credit and registers credit
demands for its own projects; departments and viewers read. Another county's allocation or
demand is 404 (its existence is not disclosed); writing for another county's project is 403."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound


def ensure_readable(principal: Principal, county: str, what: str) -> None:
    if principal.role is Role.COUNTY and principal.county != county:
        raise NotFound(f"{what} not found")


def ensure_may_register_credit(principal: Principal) -> None:
    """Only the command office and county users register credit demands: checked before the
    request is looked at, so others learn nothing of projects from a refused write."""
    if principal.role not in (Role.COMMANDER, Role.COUNTY):
        raise Forbidden(f"a {principal.role} may not register credit demands")


def ensure_may_demand_credit(principal: Principal, county: str) -> None:
    if principal.role is Role.COMMANDER:
        return
    ensure_may_register_credit(principal)
    if principal.county != county:
        raise Forbidden(
            f"a county user of {principal.county} may not register credit for projects of {county}"
        )
