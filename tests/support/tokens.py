"""Tokens an attacker or a broken client sends: each must be 401 on every route of every service
(tests/api/test_tokens.py; the registry's tests/api/registry/test_auth.py checks that nothing
is written either)."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import jwt

from shared.auth import Role, issue_token
from tests.conftest import SECRET


def claims(**changes: Any) -> dict[str, Any]:
    """A commander's valid claims, with `changes` (None drops a claim)."""
    now = dt.datetime.now(dt.UTC)
    base: dict[str, Any] = {
        "iss": "kuaiche",
        "aud": "kuaiche",
        "sub": "someone",
        "role": "commander",
        "iat": now,
        "exp": now + dt.timedelta(hours=1),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def _unsigned(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, None, algorithm="none")


def _hs512(payload: dict[str, Any]) -> str:
    with warnings.catch_warnings():  # the secret is short for HS512: beside the point here
        warnings.simplefilter("ignore")
        return jwt.encode(payload, SECRET, algorithm="HS512")


BAD_TOKENS: dict[str, str] = {
    "garbage": "not-a-jwt",
    "expired": issue_token(
        SECRET,
        role=Role.COMMANDER,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
        ttl=dt.timedelta(days=1),
    ),
    "wrong secret": issue_token("another-secret-" + "y" * 40, role=Role.COMMANDER),
    "wrong audience": jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"),
    "wrong issuer": jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"),
    "no expiry": jwt.encode(claims(exp=None), SECRET, algorithm="HS256"),
    "no role": jwt.encode(claims(role=None), SECRET, algorithm="HS256"),
    "unknown role": jwt.encode(claims(role="mayor"), SECRET, algorithm="HS256"),
    "county without county": jwt.encode(claims(role="county"), SECRET, algorithm="HS256"),
    "department without department": jwt.encode(
        claims(role="department"), SECRET, algorithm="HS256"
    ),
    "alg none": _unsigned(claims()),
    "alg none, county": _unsigned(claims(role="county", county="371602")),
    # the right secret, another algorithm than the one the services accept
    "alg HS512": _hs512(claims()),
    "not yet valid": jwt.encode(
        claims(nbf=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)), SECRET, algorithm="HS256"
    ),
    "signature cut off": issue_token(SECRET, role=Role.COMMANDER).rsplit(".", 1)[0] + ".",
}
