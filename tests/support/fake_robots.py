"""A local stand-in for DingTalk's custom robots and WeCom's group robots: a real HTTP server
(uvicorn in a background thread, on a free 127.0.0.1 port) that checks what the real ones check
and answers as they do, so the channel adapters are tested over the wire.

- `POST /dingtalk/robot/send?access_token=T[&timestamp=&sign=]`: T must be registered; a robot
  registered with a secret recomputes the 加签 signature on its own (HMAC-SHA256 of
  "timestamp\\nsecret", base64) and refuses a missing or wrong one, or a timestamp more than an
  hour off its clock (errcode 310000).
- `POST /wecom/cgi-bin/webhook/send?key=K`: any key is a robot.
- Both refuse a body that is not a markdown message of their shape, and more than 20 messages in
  a rolling minute per robot (DingTalk 130101, WeCom 45009); they record what they accepted.

Use the `fake_robots` fixture (a fresh server per test):

    fake_robots.register_dingtalk("tok", "SECabc")
    attempt = await robots.send(client, "dingtalk", fake_robots.dingtalk_url("tok"), "SECabc", ...)
    assert fake_robots.received("tok")[0]["markdown"]["title"] == ...
    assert not fake_robots.refused
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

LIMIT_PER_MINUTE = 20
MINUTE = 60.0
TIMESTAMP_TOLERANCE_MS = 3_600_000
WECOM_MARKDOWN_MAX_BYTES = 4096

# (errcode, errmsg) as the real robots answer them, and the reason each is counted under.
DINGTALK_UNKNOWN_TOKEN = (300001, "token is not exist")
DINGTALK_SIGN_NOT_MATCH = (310000, "sign not match")
DINGTALK_BAD_TIMESTAMP = (310000, "invalid timestamp")
DINGTALK_TOO_FAST = (130101, "send too fast, exceed 20 times per minute")
DINGTALK_BAD_BODY = (40035, "缺少参数 json")
WECOM_TOO_FAST = (45009, "api freq out of limit")
WECOM_BAD_BODY = (40008, "invalid message type")
WECOM_TOO_LONG = (40058, "markdown.content exceed max length 4096")
WECOM_BAD_JSON = (40035, "invalid parameter")


class RobotRefusal(Exception):
    def __init__(self, reason: str, answer: tuple[int, str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answer = answer


def _expected_sign(timestamp: str, secret: str) -> str:
    # Written from DingTalk's documentation, independently of the adapter under test.
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class FakeRobots:
    """The server's state, shared between the server thread and the test."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.base_url = ""
        self._clock = clock
        self._wall_ms = wall_ms
        self._lock = threading.Lock()
        self._secrets: dict[str, str | None] = {}
        self._received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._accepted_at: dict[str, deque[float]] = defaultdict(deque)
        self._refused: Counter[str] = Counter()

    # -- for tests ------------------------------------------------------------------------------

    def register_dingtalk(self, token: str, secret: str | None = None) -> str:
        """Make `token` a DingTalk robot, signed with `secret` (None: no 加签). Returns its URL."""
        with self._lock:
            self._secrets[token] = secret
        return self.dingtalk_url(token)

    def dingtalk_url(self, token: str) -> str:
        return f"{self.base_url}/dingtalk/robot/send?access_token={token}"

    def wecom_url(self, key: str) -> str:
        return f"{self.base_url}/wecom/cgi-bin/webhook/send?key={key}"

    def received(self, token_or_key: str) -> list[dict[str, Any]]:
        """The JSON bodies this robot accepted, in order."""
        with self._lock:
            return list(self._received.get(token_or_key, []))

    @property
    def refused(self) -> Counter[str]:
        """Refusals by reason: unknown_token, bad_sign, bad_timestamp, rate_limited, bad_body."""
        with self._lock:
            return Counter(self._refused)

    # -- the robots -----------------------------------------------------------------------------

    def _check_signature(self, token: str, timestamp: str | None, sign: str | None) -> None:
        if token not in self._secrets:
            raise RobotRefusal("unknown_token", DINGTALK_UNKNOWN_TOKEN)
        secret = self._secrets[token]
        if secret is None:
            return
        if not timestamp or not sign:
            raise RobotRefusal("bad_sign", DINGTALK_SIGN_NOT_MATCH)
        try:
            skew = abs(self._wall_ms() - int(timestamp))
        except ValueError:
            raise RobotRefusal("bad_timestamp", DINGTALK_BAD_TIMESTAMP) from None
        if skew > TIMESTAMP_TOLERANCE_MS:
            raise RobotRefusal("bad_timestamp", DINGTALK_BAD_TIMESTAMP)
        if not hmac.compare_digest(sign, _expected_sign(timestamp, secret)):
            raise RobotRefusal("bad_sign", DINGTALK_SIGN_NOT_MATCH)

    def _take_slot(self, robot: str, too_fast: tuple[int, str]) -> None:
        now = self._clock()
        sent = self._accepted_at[robot]
        while sent and now - sent[0] >= MINUTE:
            sent.popleft()
        if len(sent) >= LIMIT_PER_MINUTE:
            raise RobotRefusal("rate_limited", too_fast)
        sent.append(now)

    def dingtalk(self, token: str, query: dict[str, str], body: Any) -> None:
        self._check_signature(token, query.get("timestamp"), query.get("sign"))
        markdown = body.get("markdown") if isinstance(body, dict) else None
        if not (
            isinstance(body, dict)
            and body.get("msgtype") == "markdown"
            and isinstance(markdown, dict)
            and isinstance(markdown.get("title"), str)
            and markdown["title"]
            and isinstance(markdown.get("text"), str)
            and markdown["text"]
        ):
            raise RobotRefusal("bad_body", DINGTALK_BAD_BODY)
        self._take_slot(f"dingtalk:{token}", DINGTALK_TOO_FAST)
        self._received[token].append(body)

    def wecom(self, key: str, body: Any) -> None:
        markdown = body.get("markdown") if isinstance(body, dict) else None
        if not (
            isinstance(body, dict)
            and body.get("msgtype") == "markdown"
            and isinstance(markdown, dict)
            and isinstance(markdown.get("content"), str)
            and markdown["content"]
        ):
            raise RobotRefusal("bad_body", WECOM_BAD_BODY)
        if len(markdown["content"].encode("utf-8")) > WECOM_MARKDOWN_MAX_BYTES:
            raise RobotRefusal("bad_body", WECOM_TOO_LONG)
        self._take_slot(f"wecom:{key}", WECOM_TOO_FAST)
        self._received[key].append(body)

    def app(self) -> Starlette:
        async def answer(request: Request, kind: str) -> JSONResponse:
            query = dict(request.query_params)
            try:
                body = await request.json()
            except ValueError:
                body = None
            try:
                with self._lock:
                    if kind == "dingtalk":
                        if body is None:
                            raise RobotRefusal("bad_body", DINGTALK_BAD_BODY)
                        self.dingtalk(query.get("access_token", ""), query, body)
                    else:
                        if body is None:
                            raise RobotRefusal("bad_body", WECOM_BAD_JSON)
                        self.wecom(query.get("key", ""), body)
            except RobotRefusal as refusal:
                with self._lock:
                    self._refused[refusal.reason] += 1
                code, message = refusal.answer
                return JSONResponse({"errcode": code, "errmsg": message})
            return JSONResponse({"errcode": 0, "errmsg": "ok"})

        async def dingtalk(request: Request) -> JSONResponse:
            return await answer(request, "dingtalk")

        async def wecom(request: Request) -> JSONResponse:
            return await answer(request, "wecom")

        return Starlette(
            routes=[
                Route("/dingtalk/robot/send", dingtalk, methods=["POST"]),
                Route("/wecom/cgi-bin/webhook/send", wecom, methods=["POST"]),
            ]
        )


@contextlib.contextmanager
def serve_in_thread(app: Starlette) -> Iterator[str]:
    """Run `app` on a free 127.0.0.1 port in a background thread (uvicorn leaves the signals
    alone there); yields its base URL and stops it afterwards."""
    # proto=IPPROTO_TCP, so asyncio sets TCP_NODELAY on the accepted connections (with proto 0
    # it does not, and every answer on a kept-alive connection waits ~40 ms for a delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake robot server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def fake_robots() -> Iterator[FakeRobots]:
    """A fresh fake robot server for one test (see the module docstring)."""
    robots = FakeRobots()
    with serve_in_thread(robots.app()) as base_url:
        robots.base_url = base_url
        yield robots
