"""Webhooks for downstream systems, following the Standard Webhooks specification
(https://www.standardwebhooks.com, `spec/standard-webhooks.md` of standard-webhooks/standard-webhooks).

A delivery is one POST whose body is the CloudEvent in structured mode, signed with the
endpoint's symmetric secret(s):

- `webhook-id`: the CloudEvent id, the same on every retry (the receiver's idempotency key);
- `webhook-timestamp`: the attempt's time, integer Unix seconds (new on every retry);
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret,
  space-separated: during a rotation the new and the previous secret both sign, so a receiver
  holding either one verifies.

`post` makes one try and reports it as an Attempt; the retry schedule is
`services.notifications.domain.retry`, the URL rules `services.notifications.domain.addresses`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
import secrets as random_source
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime

import httpx

from services.notifications.channels import Attempt

SECRET_PREFIX = "whsec_"  # the spec's serialisation of a symmetric secret
SECRET_BYTES = 32  # the spec asks for at least 24 random bytes
MIN_SECRET_BYTES = 24
SIGNATURE_VERSION = "v1"  # the spec's identifier of HMAC-SHA256 signatures
CONTENT_TYPE = "application/cloudevents+json"  # a CloudEvent in structured mode
USER_AGENT = "kuaiche-webhooks/1"
REDIRECT_ERROR = "redirects are not followed"
ERROR_BODY_CHARS = 200  # how much of a failed answer's body the deliveries list keeps
_ERROR_BODY_BYTES = 1024  # read no more than this of a failed answer, whatever it sends


def new_secret() -> str:
    """A fresh endpoint secret, `whsec_` + base64 of 32 random bytes (shown to its owner once)."""
    return SECRET_PREFIX + base64.b64encode(random_source.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret: the base64-decoded part after the prefix."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is base64 after its prefix") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"a webhook secret has at least {MIN_SECRET_BYTES} bytes")
    return key


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,<signature>` per secret, space-separated.

    Give the current secret first and, during a rotation, the previous one after it."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    # The spec: the id and the timestamp must not contain a full stop, or one signed content
    # could be read as another (the id is ours, a CloudEvent UUID, never the receiver's).
    if not msg_id or "." in msg_id:
        raise ValueError("a webhook id is not empty and has no '.'")
    content = f"{msg_id}.{int(timestamp)}.".encode() + body
    return " ".join(
        f"{SIGNATURE_VERSION},"
        + base64.b64encode(hmac.new(_key(secret), content, hashlib.sha256).digest()).decode()
        for secret in secrets
    )


def headers(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """Every header of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
    }


_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as seconds from `now`
    (Unix seconds); None when absent or unreadable. A date already past gives 0."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 5322 "-0000": the time is UTC, the zone unknown
        return None
    return max(0.0, when.timestamp() - now)


def _failure_text(status: int, body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    if len(text) > ERROR_BODY_CHARS:
        text = text[:ERROR_BODY_CHARS] + "…"
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    msg_id: str,
    body: bytes,
    secrets: Sequence[str],
    timeout: float,
    now: Callable[[], float] = time.time,
) -> Attempt:
    """One try of one delivery. Whatever the receiver does (refuses the connection, hangs,
    answers 500, redirects, sends a huge body), it ends as an Attempt and never raises.

    `timeout` bounds the whole try, connection to answer; redirects are failures, not
    followed (the spec: the sender should update the URL instead). latency_ms runs to the
    answer's status line and headers."""
    request_headers = headers(msg_id, int(now()), body, secrets)
    started = time.perf_counter()
    status: int | None = None
    latency_ms = 0
    retry_after_header: str | None = None
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async with client.stream(
                "POST",
                url,
                content=body,
                headers=request_headers,
                timeout=timeout,
                follow_redirects=False,
            ) as response:
                latency_ms = _ms_since(started)
                status = response.status_code
                retry_after_header = response.headers.get("retry-after")
                # Read a little of the answer: a failure's text for the deliveries list, and a
                # short success body read whole lets the connection go back to the pool.
                if not response.is_redirect:
                    async for chunk in response.aiter_bytes():
                        received += chunk
                        if len(received) >= _ERROR_BODY_BYTES:
                            break
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
        if status is None:  # no answer: refused, reset, timed out, TLS, a URL httpx refuses
            return Attempt(
                ok=False,
                status=None,
                latency_ms=_ms_since(started),
                error=_error_text(exc, timeout),
            )
        # The status came, the body broke off or dawdled: the status is the answer.

    assert status is not None
    if 200 <= status < 300:
        return Attempt(ok=True, status=status, latency_ms=latency_ms)
    return Attempt(
        ok=False,
        status=status,
        latency_ms=latency_ms,
        error=REDIRECT_ERROR if 300 <= status < 400 else _failure_text(status, bytes(received)),
        retry_after=retry_after_seconds(retry_after_header, now()),
        gone=status == 410,
    )


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _error_text(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
