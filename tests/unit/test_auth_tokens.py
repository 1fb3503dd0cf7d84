"""Verified tokens are remembered, and still expire."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

import shared.auth
from shared.auth import Role, decode_token, issue_token
from shared.errors import Unauthenticated

SECRET = "a-test-secret-of-more-than-thirty-two-bytes"


def test_a_token_is_verified_once_for_its_many_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []
    decode = shared.auth.jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        verified.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(shared.auth.jwt, "decode", counting)
    token = issue_token(SECRET, role=Role.COUNTY, county="371602", subject=f"t{time.time_ns()}")
    first = decode_token(SECRET, token)
    assert decode_token(SECRET, token) == first
    assert first.county == "371602" and first.role is Role.COUNTY
    assert verified == [token]
    with pytest.raises(Unauthenticated):  # another secret: verified, and refused
        decode_token(SECRET + "x", token)
    assert verified == [token, token]


def test_a_remembered_token_still_expires() -> None:
    now = dt.datetime.now(dt.UTC)
    token = issue_token(
        SECRET,
        role=Role.COMMANDER,
        subject=f"t{time.time_ns()}",
        now=now,
        ttl=dt.timedelta(seconds=1.5),
    )
    assert decode_token(SECRET, token).role is Role.COMMANDER  # remembered from here on
    time.sleep(
        max(0.0, (now + dt.timedelta(seconds=1.6) - dt.datetime.now(dt.UTC)).total_seconds())
    )
    with pytest.raises(Unauthenticated, match="expired"):
        decode_token(SECRET, token)
