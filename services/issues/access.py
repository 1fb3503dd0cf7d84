"""Who may see and move which problem.

- commander (the command office): everything; the only one who assigns, extends and closes;
- county: reports problems of its own county's projects and follows them (feedback); another
  county's problems are 404 to read and 403 to write, as in the registry;
- department: sees and acts only on the problems whose responsible unit it is (plan, resolve,
  object); any other problem is 404, to read and to write;
- viewer: reads everything, changes nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from services.issues.models import Issue
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound


def can_see(principal: Principal, issue: Issue) -> bool:
    if principal.role is Role.COUNTY:
        return issue.county == principal.county
    if principal.role is Role.DEPARTMENT:
        return issue.unit is not None and issue.unit == principal.department
    return True


def visible_clauses(principal: Principal) -> list[ColumnElement[bool]]:
    """SQL twin of can_see, for lists and figures."""
    if principal.role is Role.COUNTY:
        return [Issue.county == principal.county]
    if principal.role is Role.DEPARTMENT:
        return [Issue.unit == principal.department]
    return []


def ensure_visible(principal: Principal, issue: Issue) -> None:
    if not can_see(principal, issue):
        raise NotFound(f"problem {issue.id} not found")


def ensure_can_report(principal: Principal, county: str) -> None:
    if principal.role is Role.COMMANDER:
        return
    if principal.role is Role.COUNTY:
        if principal.county != county:
            raise Forbidden(
                f"a county user of {principal.county} reports problems of its own county's "
                f"projects, not of {county}"
            )
        return
    raise Forbidden(f"a {principal.role} may not report problems")


def ensure_commander(principal: Principal, what: str) -> None:
    if principal.role is not Role.COMMANDER:
        raise Forbidden(f"only the command office {what}")


def ensure_responsible_unit(principal: Principal, issue: Issue, what: str) -> None:
    """Plan, resolve, object: the responsible unit itself (or the command office for it)."""
    if principal.role is Role.COMMANDER:
        return
    if principal.role is Role.DEPARTMENT and principal.department == issue.unit:
        return
    raise Forbidden(f"only the responsible unit ({issue.unit or 'none yet'}) {what}")


def ensure_reporter_side(principal: Principal, issue: Issue) -> None:
    """Feedback on a resolution comes from the problem's county (the reporter's side) or the
    command office."""
    if principal.role is Role.COMMANDER:
        return
    if principal.role is Role.COUNTY and principal.county == issue.county:
        return
    raise Forbidden("feedback comes from the problem's county or the command office")


def write_guard(principal: Principal, issue: Issue) -> None:
    """Before any move: what the principal cannot see does not exist for it (404), except a
    county's write to another county's problem, which is 403 as in the registry."""
    if principal.role is Role.COUNTY and issue.county != principal.county:
        raise Forbidden(
            f"a county user of {principal.county} may not change problems of {issue.county}"
        )
    ensure_visible(principal, issue)
    if principal.role is Role.VIEWER:
        raise Forbidden("a viewer may only read")
