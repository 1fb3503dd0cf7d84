"""The DingTalk and WeCom robot adapters over the wire, against the local fake robots (which check
the 加签 signature on their own, the message shape, WeCom's size and the 20-a-minute limit), and
the limiter's plan carried out end to end: a burst of 30 arrives whole within the limit."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Literal

import httpx
import pytest

from services.notifications.channels import Attempt
from services.notifications.channels.robots import (
    TRUNCATED_MARKER,
    WECOM_MARKDOWN_MAX_BYTES,
    dingtalk_signed_url,
    read_answer,
    send,
    truncate_utf8,
    wecom_body,
)
from services.notifications.domain.digest import ROBOT_LIMIT, digest_message, plan_robot_sends
from tests.support.fake_robots import FakeRobots, fake_robots

__all__ = ["fake_robots"]  # the fixture, imported for pytest

SECRET = "SECthis-is-a-test-secret"
HOUR_MS = 3_600_000


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def clock_off_by(skew_ms: int) -> Callable[[], int]:
    return lambda: time.time_ns() // 1_000_000 + skew_ms


# -- signing -------------------------------------------------------------------------------------


def test_signed_url_matches_dingtalks_algorithm() -> None:
    # Vector from openssl: printf '1577808000000\nSEC…' | openssl dgst -sha256 -hmac SEC… -binary
    # | base64 -> FCOGJAyEyEs0+zK4M8sIDYMJn00Q42W575JpEaNFh4M=  ('+' and '=' URL-encoded)
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
    assert dingtalk_signed_url(url, SECRET, 1577808000000) == (
        url + "&timestamp=1577808000000&sign=FCOGJAyEyEs0%2BzK4M8sIDYMJn00Q42W575JpEaNFh4M%3D"
    )


def test_unsigned_robot_url_is_left_alone() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
    assert dingtalk_signed_url(url, None, 1577808000000) == url


def test_signed_url_without_a_query_starts_one() -> None:
    assert dingtalk_signed_url("http://h/robot/send", "s", 1).startswith(
        "http://h/robot/send?timestamp=1&sign="
    )


async def test_fake_dingtalk_accepts_the_signature_and_records_the_markdown(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    url = fake_robots.register_dingtalk("tok", SECRET)
    attempt = await send(
        client, "dingtalk", url, SECRET, "问题交办", "请于 **4月13日** 前办结", timeout=5
    )
    assert attempt.ok and attempt.status == 200 and attempt.error is None
    assert fake_robots.received("tok") == [
        {
            "msgtype": "markdown",
            "markdown": {"title": "问题交办", "text": "### 问题交办\n\n请于 **4月13日** 前办结"},
        }
    ]
    assert not fake_robots.refused


async def test_a_wrong_secret_is_refused(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    url = fake_robots.register_dingtalk("tok", SECRET)
    attempt = await send(client, "dingtalk", url, "SECwrong", "标题", "正文", timeout=5)
    assert attempt == Attempt(
        ok=False,
        status=200,
        latency_ms=attempt.latency_ms,
        error="errcode 310000: sign not match",
    )
    assert fake_robots.received("tok") == []
    assert fake_robots.refused == {"bad_sign": 1}


async def test_a_missing_signature_is_refused(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    url = fake_robots.register_dingtalk("tok", SECRET)
    attempt = await send(client, "dingtalk", url, None, "标题", "正文", timeout=5)
    assert attempt.error == "errcode 310000: sign not match"
    assert fake_robots.refused == {"bad_sign": 1}


async def test_a_timestamp_more_than_an_hour_off_is_refused(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    url = fake_robots.register_dingtalk("tok", SECRET)
    for skew in (-HOUR_MS - 60_000, HOUR_MS + 60_000):
        attempt = await send(
            client, "dingtalk", url, SECRET, "标题", "正文", timeout=5, now_ms=clock_off_by(skew)
        )
        assert attempt.error == "errcode 310000: invalid timestamp"
    within = await send(
        client,
        "dingtalk",
        url,
        SECRET,
        "标题",
        "正文",
        timeout=5,
        now_ms=clock_off_by(-HOUR_MS // 2),
    )
    assert within.ok
    assert fake_robots.refused == {"bad_timestamp": 2}
    assert len(fake_robots.received("tok")) == 1


async def test_an_unsigned_robot_takes_unsigned_messages(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    url = fake_robots.register_dingtalk("open", None)
    assert (await send(client, "dingtalk", url, None, "标题", "正文", timeout=5)).ok


# -- WeCom ---------------------------------------------------------------------------------------


async def test_wecom_markdown_shape(fake_robots: FakeRobots, client: httpx.AsyncClient) -> None:
    attempt = await send(
        client, "wecom", fake_robots.wecom_url("k1"), None, "临期提醒", "还剩 1 个工作日", timeout=5
    )
    assert attempt.ok
    assert fake_robots.received("k1") == [
        {"msgtype": "markdown", "markdown": {"content": "### 临期提醒\n\n还剩 1 个工作日"}}
    ]


async def test_the_fake_refuses_wecom_content_over_4096_bytes(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    body = {"msgtype": "markdown", "markdown": {"content": "长" * 1366}}  # 4098 bytes
    answer = (await client.post(fake_robots.wecom_url("k1"), json=body)).json()
    assert answer["errcode"] != 0
    assert fake_robots.refused == {"bad_body": 1}


async def test_wecom_content_is_truncated_to_4096_bytes_with_a_marker(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    text = "项目推进情况说明。" * 600  # 16200 bytes
    attempt = await send(
        client, "wecom", fake_robots.wecom_url("k1"), None, "长消息", text, timeout=5
    )
    assert attempt.ok
    content = fake_robots.received("k1")[0]["markdown"]["content"]
    assert len(content.encode("utf-8")) <= WECOM_MARKDOWN_MAX_BYTES
    assert content.endswith(TRUNCATED_MARKER)
    kept = content.removesuffix(TRUNCATED_MARKER)
    assert ("### 长消息\n\n" + text).startswith(kept)
    assert len(kept.encode("utf-8")) > WECOM_MARKDOWN_MAX_BYTES - 200


def test_truncation_never_splits_a_character() -> None:
    for extra in range(3):  # cut lands on each byte of a 3-byte character
        text = "a" * extra + "中" * 2000
        cut = truncate_utf8(text, 100, marker="…")
        assert len(cut.encode("utf-8")) <= 100
        assert cut.endswith("…") and text.startswith(cut[:-1])


def test_short_content_is_untouched() -> None:
    assert truncate_utf8("中" * 10, 30) == "中" * 10


def test_a_full_digest_fits_wecom_without_truncation() -> None:
    items = [
        (f"第 {i} 号问题交办：某某重点项目用地手续办理", "请于三个工作日内办结" * 8)
        for i in range(500)
    ]
    content = wecom_body(*digest_message(items))["markdown"]["content"]
    assert TRUNCATED_MARKER not in content
    assert len(content.encode("utf-8")) <= WECOM_MARKDOWN_MAX_BYTES
    assert "请登录快车道查看" in content


# -- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"), [("dingtalk", 130101), ("wecom", 45009)], ids=["dingtalk", "wecom"]
)
async def test_the_rate_limit_errcode_asks_to_retry_in_a_minute(
    fake_robots: FakeRobots,
    client: httpx.AsyncClient,
    kind: Literal["dingtalk", "wecom"],
    code: int,
) -> None:
    url = (
        fake_robots.register_dingtalk("r", SECRET)
        if kind == "dingtalk"
        else fake_robots.wecom_url("r")
    )
    attempts = [
        await send(client, kind, url, SECRET, f"第{i}条", "正文", timeout=5) for i in range(21)
    ]
    assert all(a.ok for a in attempts[:20])
    last = attempts[20]
    assert not last.ok and last.status == 200 and last.retry_after == 60
    assert last.error is not None and last.error.startswith(f"errcode {code}: ")
    assert len(fake_robots.received("r")) == ROBOT_LIMIT
    assert fake_robots.refused == {"rate_limited": 1}


def test_other_errcodes_fail_without_retry_after() -> None:
    answer = httpx.Response(200, json={"errcode": 300001, "errmsg": "token is not exist"})
    assert read_answer(answer, 7) == Attempt(
        ok=False, status=200, latency_ms=7, error="errcode 300001: token is not exist"
    )


def test_a_200_that_is_not_a_robot_answer_fails() -> None:
    attempt = read_answer(httpx.Response(200, text="<html>维护中</html>"), 7)
    assert not attempt.ok and attempt.error == "not a robot answer: <html>维护中</html>"


def test_http_errors_keep_status_retry_after_and_gone() -> None:
    busy = read_answer(httpx.Response(503, headers={"Retry-After": "30"}, text="busy"), 7)
    assert (busy.ok, busy.status, busy.retry_after, busy.gone) == (False, 503, 30.0, False)
    assert busy.error == "HTTP 503: busy"
    assert read_answer(httpx.Response(410), 7).gone


async def test_an_unknown_path_is_a_failed_attempt(
    fake_robots: FakeRobots, client: httpx.AsyncClient
) -> None:
    attempt = await send(
        client, "wecom", f"{fake_robots.base_url}/nowhere", None, "t", "x", timeout=5
    )
    assert not attempt.ok and attempt.status == 404


async def test_no_answer_is_a_failed_attempt_without_status(client: httpx.AsyncClient) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for kind in ("dingtalk", "wecom"):
        attempt = await send(
            client,
            kind,
            f"http://127.0.0.1:{port}/robot/send?access_token=t",
            SECRET,
            "t",
            "x",
            timeout=2,
        )
        assert not attempt.ok and attempt.status is None
        assert attempt.error and attempt.error.startswith("ConnectError")


async def test_a_malformed_url_is_a_failed_attempt(client: httpx.AsyncClient) -> None:
    attempt = await send(client, "wecom", "not a url", None, "t", "x", timeout=2)
    assert not attempt.ok and attempt.status is None and attempt.error


# -- a burst through the limiter -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dingtalk", "wecom"])
async def test_a_burst_of_30_arrives_whole_within_the_limit(
    fake_robots: FakeRobots, client: httpx.AsyncClient, kind: Literal["dingtalk", "wecom"]
) -> None:
    url = (
        fake_robots.register_dingtalk("b", SECRET)
        if kind == "dingtalk"
        else fake_robots.wecom_url("b")
    )
    burst = [
        (f"问题交办：第{i:02d}号重点项目", f"请于 4月{i % 28 + 1}日 前办结") for i in range(30)
    ]
    sent_at: list[dt.datetime] = []

    plan = plan_robot_sends(sent_at, burst, dt.datetime.now(dt.UTC))
    for title, text in plan.singles:
        assert (await send(client, kind, url, SECRET, title, text, timeout=5)).ok
        sent_at.append(dt.datetime.now(dt.UTC))
    assert plan.digest
    assert (await send(client, kind, url, SECRET, *digest_message(plan.digest), timeout=5)).ok
    sent_at.append(dt.datetime.now(dt.UTC))

    received = fake_robots.received("b")
    assert len(received) <= ROBOT_LIMIT
    assert not fake_robots.refused
    everything = "\n".join(
        m["markdown"]["text"] if kind == "dingtalk" else m["markdown"]["content"] for m in received
    )
    for title, text in burst:
        assert title in everything and text in everything
    # One more due in the same minute waits instead of being refused.
    later = plan_robot_sends(sent_at, [("再来一条", "正文")], dt.datetime.now(dt.UTC))
    assert later.singles == [] and later.digest == [] and later.wait_until is not None
