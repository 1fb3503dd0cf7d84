"""A local webhook receiver for the notifications tests: a real HTTP server (uvicorn in a
background thread, on a free 127.0.0.1 port, the fake robots' `serve_in_thread`) that a test
scripts and then reads.

- `answer(500, 500, 200)` queues the statuses of the next requests, in order (each may carry a
  `Retry-After`); once the script is used up every request gets `default` (200);
- `requests` holds every request received, in order: path, headers (lower-case names), body;
- `verify(request, secret)` checks a request's Standard Webhooks signature on its own, written
  from the specification (spec/standard-webhooks.md of standard-webhooks/standard-webhooks),
  not from the sender under test: the key is the base64-decoded part of `whsec_…`, the content
  `{webhook-id}.{webhook-timestamp}.{body}`, the header one or more space-separated `v1,<base64
  HMAC-SHA256>`, and one matching entry is enough.

Use the `receiver` fixture (a fresh server per test; import it into a conftest) or the
`webhook_receiver()` context manager:

    receiver.answer(500, Reply(429, retry_after="120"))
    ... the dispatcher posts to receiver.url("/hooks/a") ...
    assert receiver.verify(receiver.requests[0], secret)

`FakeClock` is the mutable clock the dispatcher is driven with (`Dispatcher(clock=...)`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.fake_robots import serve_in_thread

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60  # the specification's suggested tolerance for webhook-timestamp


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int
    retry_after: str | None = None
    body: str = ""
    delay: float = 0.0  # seconds to hold the request before answering (a sender killed meanwhile)


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # Unix seconds, the receiver's wall clock

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 a signer holding `secret` puts after `v1,`."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signatures(header: str) -> list[tuple[str, str]]:
    """The (version, signature) entries of a webhook-signature header."""
    entries = []
    for entry in header.split(" "):
        version, _, value = entry.partition(",")
        entries.append((version, value))
    return entries


def verify(request: Received, secret: str, *, now: float | None = None) -> bool:
    """Whether `secret` alone verifies the request: a `v1` entry matches, and the timestamp is
    within the tolerance of `now` (default: the moment it was received)."""
    try:
        msg_id = request.headers["webhook-id"]
        timestamp = request.headers["webhook-timestamp"]
        header = request.headers["webhook-signature"]
    except KeyError:
        return False
    if not timestamp.isdigit():
        return False
    at = request.received_at if now is None else now
    if abs(at - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    try:
        wanted = expected_signature(secret, msg_id, timestamp, request.body)
    except (ValueError, binascii.Error):
        return False
    return any(
        version == "v1" and hmac.compare_digest(value.encode(), wanted.encode())
        for version, value in signatures(header)
    )


class WebhookReceiver:
    """The server's state, shared between its thread and the test."""

    def __init__(self, default: int = 200) -> None:
        self.base_url = ""
        self.default = Reply(default)
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[Received] = []

    def url(self, path: str = "/hooks") -> str:
        return f"{self.base_url}{path}"

    def answer(self, *replies: int | Reply) -> None:
        """Queue the answers of the next requests (whatever their path), in order."""
        with self._lock:
            self._script.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def to(self, path: str) -> list[Received]:
        """The requests received on `path`."""
        return [r for r in self.requests if r.path == path]

    def verify(self, request: Received, secret: str) -> bool:
        return verify(request, secret)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                self._requests.append(
                    Received(
                        path=request.url.path,
                        headers={k.lower(): v for k, v in request.headers.items()},
                        body=body,
                        received_at=time.time(),
                    )
                )
                reply = self._script.popleft() if self._script else self.default
            if reply.delay:
                await asyncio.sleep(reply.delay)
            headers = {"retry-after": reply.retry_after} if reply.retry_after else None
            return Response(reply.body, status_code=reply.status, headers=headers)

        return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


@contextlib.contextmanager
def webhook_receiver(default: int = 200) -> Iterator[WebhookReceiver]:
    """A receiver serving until the block ends."""
    hooks = WebhookReceiver(default)
    with serve_in_thread(hooks.app()) as base_url:
        hooks.base_url = base_url
        yield hooks


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A fresh webhook receiver for one test (see the module docstring)."""
    with webhook_receiver() as hooks:
        yield hooks


class FakeClock:
    """A clock a test moves by hand: `clock()` is the instant, `advance(...)` moves it."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def at(self, instant: dt.datetime) -> dt.datetime:
        self.now = instant
        return self.now
