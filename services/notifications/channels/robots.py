"""DingTalk (钉钉) custom robots and WeCom (企业微信) group robots: one markdown message per call,
posted to the robot's webhook URL. Thin on purpose (the PyPI wrappers are stale): the message
shape, DingTalk's signing (加签), WeCom's size limit, and reading the robots' `errcode` answers
into an Attempt. How often a robot may be called is the caller's business
(`domain.digest.plan_robot_sends`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Literal

import httpx

from services.notifications.channels import Attempt

RobotKind = Literal["dingtalk", "wecom"]

DINGTALK_RATE_LIMITED = 130101  # "send too fast, exceed 20 times per minute"
WECOM_RATE_LIMITED = 45009  # "api freq out of limit"
RATE_LIMITED = {DINGTALK_RATE_LIMITED, WECOM_RATE_LIMITED}
RATE_LIMIT_RETRY_AFTER = 60.0  # both count per rolling minute

WECOM_MARKDOWN_MAX_BYTES = 4096
TRUNCATED_MARKER = "\n\n……（内容过长，已截断，请登录快车道查看全文）"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's 加签: HMAC-SHA256 keyed with the secret over "timestamp\\nsecret" (UTF-8),
    base64. Not yet URL-encoded."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_signed_url(url: str, secret: str | None, now_ms: int) -> str:
    """The webhook URL with `&timestamp=<ms>&sign=<url-encoded signature>` appended, or the URL
    as it is for a robot without 加签. DingTalk refuses a timestamp more than an hour off its
    clock, so sign right before sending."""
    if not secret:
        return url
    sign = urllib.parse.quote_plus(dingtalk_sign(now_ms, secret))
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{separator}timestamp={now_ms}&sign={sign}"


def _body_with_heading(title: str, text: str) -> str:
    # DingTalk shows `title` only in the chat list, WeCom has no title field: both get it as a
    # heading above the text, so the message reads the same in either group.
    return f"### {title}\n\n{text}" if title else text


def truncate_utf8(text: str, max_bytes: int, marker: str = TRUNCATED_MARKER) -> str:
    """`text` if it fits in `max_bytes` of UTF-8, else as much of it as fits with `marker`,
    cut on a character boundary (never half a Chinese character)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(marker.encode("utf-8"))
    if room <= 0:
        return marker.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return encoded[:room].decode("utf-8", errors="ignore").rstrip() + marker


def dingtalk_body(title: str, text: str) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": _body_with_heading(title, text)},
    }


def wecom_body(title: str, text: str) -> dict[str, Any]:
    content = truncate_utf8(_body_with_heading(title, text), WECOM_MARKDOWN_MAX_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _retry_after_header(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def read_answer(response: httpx.Response, latency_ms: int) -> Attempt:
    """A robot answers HTTP 200 with {"errcode": 0, "errmsg": "ok"} when it took the message and
    a non-zero errcode when it did not."""
    status = response.status_code
    if status != 200:
        return Attempt(
            ok=False,
            status=status,
            latency_ms=latency_ms,
            error=f"HTTP {status}: {response.text[:200]}",
            retry_after=_retry_after_header(response),
            gone=status == 410,
        )
    try:
        answer = response.json()
        code = int(answer["errcode"])
        message = str(answer.get("errmsg", ""))
    except (ValueError, TypeError, KeyError):
        return Attempt(
            ok=False,
            status=status,
            latency_ms=latency_ms,
            error=f"not a robot answer: {response.text[:200]}",
        )
    if code == 0:
        return Attempt(ok=True, status=status, latency_ms=latency_ms)
    return Attempt(
        ok=False,
        status=status,
        latency_ms=latency_ms,
        error=f"errcode {code}: {message}",
        retry_after=RATE_LIMIT_RETRY_AFTER if code in RATE_LIMITED else None,
    )


async def send(
    client: httpx.AsyncClient,
    kind: RobotKind,
    url: str,
    secret: str | None,
    title: str,
    text: str,
    *,
    timeout: float,
    now_ms: Callable[[], int] = wall_clock_ms,
) -> Attempt:
    """Post one markdown message to a robot. Never raises for what the robot (or the network)
    did: a refusal, an error code or no answer is an Attempt with ok False."""
    if kind == "dingtalk":
        target = dingtalk_signed_url(url, secret, now_ms())
        body = dingtalk_body(title, text)
    elif kind == "wecom":
        target, body = url, wecom_body(title, text)
    else:
        raise ValueError(f"unknown robot kind {kind!r}")
    started = time.perf_counter()
    try:
        response = await client.post(target, json=body, timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Attempt(
            ok=False,
            status=None,
            latency_ms=_elapsed_ms(started),
            error=f"{type(exc).__name__}: {exc}".rstrip(": "),
        )
    return read_answer(response, _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
