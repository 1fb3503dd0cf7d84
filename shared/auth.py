"""Bearer JWT auth (PyJWT, HS256) with the four roles of DESIGN.md.

- commander: the city command office, everything;
- county (claim `county`): its own division only;
- department (claim `department`): what was assigned to it;
- viewer: reads only.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from enum import StrEnum

import jwt

from shared.errors import Forbidden, InvalidInput, Unauthenticated

ISSUER = "kuaiche"
AUDIENCE = "kuaiche"
ALGORITHM = "HS256"


class Role(StrEnum):
    COMMANDER = "commander"
    COUNTY = "county"
    DEPARTMENT = "department"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    county: str | None = None
    department: str | None = None
    # when the token stops being valid (what answers for longer than one request, the live
    # stream, ends there)
    expires_at: dt.datetime | None = None

    @property
    def actor(self) -> str:
        """How the principal appears in events and history."""
        scope = self.county or self.department
        return f"{self.role}:{self.subject}" + (f"@{scope}" if scope else "")

    def require_writer(self) -> None:
        if self.role in (Role.VIEWER,):
            raise Forbidden("a viewer may only read")

    def county_filter(self, requested: str | None) -> str | None:
        """The county a listing is limited to: a county user always sees only its own."""
        if self.role is Role.COUNTY:
            return self.county
        return requested

    def require_commander(self) -> None:
        if self.role is not Role.COMMANDER:
            raise Forbidden("only the command office may do this")


def issue_token(
    secret: str,
    *,
    role: Role | str,
    subject: str | None = None,
    county: str | None = None,
    department: str | None = None,
    ttl: dt.timedelta = dt.timedelta(days=30),
    now: dt.datetime | None = None,
) -> str:
    role = Role(role)
    if role is Role.COUNTY and not county:
        raise InvalidInput(
            "a county token needs a county code",
            errors=[{"field": "county", "message": "required"}],
        )
    if role is Role.DEPARTMENT and not department:
        raise InvalidInput(
            "a department token needs a department name",
            errors=[{"field": "department", "message": "required"}],
        )
    issued = now or dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject or f"dev-{role}",
        "role": str(role),
        "iat": issued,
        "exp": issued + ttl,
    }
    if county:
        claims["county"] = county
    if department:
        claims["department"] = department
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    """The principal of a valid, unexpired `token` signed with `secret`; Unauthenticated else.
    A token verified once is not verified again (a client sends the same one with every
    request): only its expiry is checked again, as PyJWT would check it."""
    principal = _verified(secret, token)
    if principal.expires_at is not None and dt.datetime.now(dt.UTC) >= principal.expires_at:
        raise Unauthenticated("the token has expired")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> Principal:
    """Signature, issuer, audience, claims: what never changes for a token (a refusal raises,
    and is not cached)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthenticated("the token has no valid role") from None
    county = claims.get("county")
    department = claims.get("department")
    if role is Role.COUNTY and not county:
        raise Unauthenticated("a county token must carry a county claim")
    if role is Role.DEPARTMENT and not department:
        raise Unauthenticated("a department token must carry a department claim")
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        county=county,
        department=department,
        expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
    )
