"""Who may see and change which project: a county its own division, the command office
everything, departments and viewers read only. Reading another county's project is 404 (its
existence is not disclosed); writing it is 403."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound


def can_read(principal: Principal, county: str) -> bool:
    return principal.role is not Role.COUNTY or principal.county == county


def ensure_readable(principal: Principal, county: str, project_id: str) -> None:
    if not can_read(principal, county):
        raise NotFound(f"project {project_id} not found")


def ensure_writer(principal: Principal) -> None:
    """Only the command office and county users change projects."""
    if principal.role in (Role.VIEWER, Role.DEPARTMENT):
        raise Forbidden(f"a {principal.role} may not change projects")


def ensure_writable(principal: Principal, county: str) -> None:
    ensure_writer(principal)
    if principal.role is Role.COUNTY and principal.county != county:
        raise Forbidden(f"a county user of {principal.county} may not change projects of {county}")
