"""The live stream GET /v1/stream, read over a real socket: httpx's ASGITransport hands a
streaming answer over only once it ends, so the app (its lifespan already run by the fixture)
is served by uvicorn on a free port, in the test's own event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from shared.auth import issue_token
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, SECRET, token
from tests.support.serving import served
from tests.support.upstream import BINCHENG, ZHANHUA

NRPB = "市自然资源和规划局"
NDRC = "市发展和改革委员会"
READ_BUDGET = 20.0  # seconds a read may wait for an event the test knows is coming


@dataclass
class SseEvent:
    id: str | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def cloud_event(self) -> dict[str, Any]:
        return json.loads(self.data)


class SseReader:
    """Reads a text/event-stream (the WHATWG parsing rules this stream needs: fields, comments,
    an event ending at a blank line)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> SseEvent:
        """The next dispatched event or comment block."""
        block, seen = SseEvent(), False
        async with asyncio.timeout(READ_BUDGET):
            async for line in self._lines:
                if line == "":
                    if seen:
                        return block
                    continue
                seen = True
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    block.comments.append(value)
                elif name == "data":
                    block.data = f"{block.data}\n{value}" if block.data else value
                elif name in ("id", "event"):
                    setattr(block, name, value)
        raise AssertionError("the stream ended")

    async def events(self, count: int) -> list[SseEvent]:
        """The next `count` events (comments skipped)."""
        found: list[SseEvent] = []
        while len(found) < count:
            block = await self.next()
            if block.id is not None:
                found.append(block)
        return found

    async def until(self, cloud_event_id: str) -> list[SseEvent]:
        """Every event up to and including the one carrying this CloudEvent."""
        found: list[SseEvent] = []
        while not found or found[-1].cloud_event["id"] != cloud_event_id:
            found.extend(await self.events(1))
        return found


@pytest.fixture
async def base_url(notifications: NotificationsApp) -> AsyncIterator[str]:
    async with served(notifications.app) as url:
        yield url


@asynccontextmanager
async def stream(
    base: str, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[SseReader]:
    """An open stream, past its opening comment (from then on the stream's position is
    fixed, so whatever is published next reaches it)."""
    async with (
        httpx.AsyncClient(base_url=base, timeout=READ_BUDGET, trust_env=False) as client,
        client.stream("GET", "/v1/stream", headers=headers or {}, params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        opening = await reader.next()
        assert opening.comments == ["kuaiche stream"]
        yield reader


def sent_event(notifications: NotificationsApp, index: int = -1) -> dict[str, Any]:
    return json.loads(notifications.upstream.sent[index].value)


async def test_events_arrive_with_the_feed_id_the_type_and_the_cloud_event(
    notifications: NotificationsApp, base_url: str
) -> None:
    up = notifications.upstream
    async with stream(base_url, COMMANDER) as reader:
        pid = await up.register()
        qid = await up.report_problem(pid, dt.date(2020, 9, 21))
        await up.assign(qid, dt.date(2020, 9, 21), dt.date(2020, 9, 28))
        got = await reader.events(3)
    # the feed is in the order the consumer applied them (topics and partitions interleave)
    sent = {m["id"]: m for m in (json.loads(m.value) for m in up.sent)}
    assert {e.cloud_event["id"]: e.cloud_event for e in got} == sent
    for e in got:
        assert e.event == e.cloud_event["type"]
    assert sorted(e.event or "" for e in got) == [
        "kuaiche.issue.assigned.v1",
        "kuaiche.issue.reported.v1",
        "kuaiche.project.registered.v1",
    ]
    ids = [int(e.id or "") for e in got]
    assert ids == sorted(set(ids))
    (assigned,) = (e for e in got if e.event == "kuaiche.issue.assigned.v1")
    assert assigned.cloud_event["data"]["unit"] == NRPB


async def test_a_county_sees_only_its_own_countys_events(
    notifications: NotificationsApp, base_url: str
) -> None:
    up = notifications.upstream
    mine = token("county", county=BINCHENG)
    async with stream(base_url, mine) as county, stream(base_url, COMMANDER) as everyone:
        other = await up.register(ZHANHUA)
        await up.report_problem(other, dt.date(2020, 9, 21))
        own = await up.register(BINCHENG)
        await notifications.settled()  # what follows is the last in the feed
        await up.report_problem(own, dt.date(2020, 9, 21))
        last = sent_event(notifications)["id"]
        seen = await county.until(last)
        all_seen = await everyone.until(last)
    assert [e.cloud_event["county"] for e in seen] == [BINCHENG, BINCHENG]
    assert seen[0].cloud_event["subject"] == own
    assert len(all_seen) == 4


async def test_a_department_sees_only_events_naming_it_as_unit(
    notifications: NotificationsApp, base_url: str
) -> None:
    up = notifications.upstream
    department = token("department", department=NRPB)
    async with stream(base_url, department) as reader:
        pid = await up.register()
        theirs = await up.report_problem(pid, dt.date(2020, 9, 21))
        await up.assign(theirs, dt.date(2020, 9, 21), dt.date(2020, 9, 28), unit=NDRC)
        ours = await up.report_problem(pid, dt.date(2020, 9, 21))
        await up.assign(ours, dt.date(2020, 9, 21), dt.date(2020, 9, 28), unit=NRPB)
        await notifications.settled()  # what follows is the last in the feed
        await up.resolve(ours, dt.date(2020, 9, 25))
        seen = await reader.until(sent_event(notifications)["id"])
    assert [(e.event, e.cloud_event["subject"]) for e in seen] == [
        ("kuaiche.issue.assigned.v1", ours),
        ("kuaiche.issue.resolved.v1", ours),
    ]
    assert all(e.cloud_event["data"]["unit"] == NRPB for e in seen)


async def test_resuming_with_last_event_id_misses_nothing_and_repeats_nothing(
    notifications: NotificationsApp, base_url: str
) -> None:
    up = notifications.upstream
    async with stream(base_url, COMMANDER) as reader:
        await up.register()
        await up.register()
        first = await reader.events(2)
    # disconnected: these are published while nobody listens
    await up.register(ZHANHUA)
    await up.register(BINCHENG)
    await notifications.settled()
    resume_from = first[-1].id or ""
    async with stream(base_url, COMMANDER | {"Last-Event-ID": resume_from}) as reader:
        await notifications.settled()  # what follows is the last in the feed
        await up.register()
        later = await reader.until(sent_event(notifications)["id"])
    sent_ids = [json.loads(m.value)["id"] for m in up.sent]
    # each phase in the order the consumer applied it (partitions interleave)
    assert sorted(e.cloud_event["id"] for e in first) == sorted(sent_ids[:2])
    resumed = [e.cloud_event["id"] for e in later]
    assert sorted(resumed[:2]) == sorted(sent_ids[2:4])  # published while disconnected
    assert resumed[2:] == sent_ids[4:]  # published after the reconnect
    feed_ids = [int(e.id or "") for e in first + later]
    assert feed_ids == sorted(set(feed_ids))

    # the query parameter `after` resumes the same way (for a client that cannot set headers)
    async with stream(base_url, COMMANDER, after=first[0].id) as reader:
        again = await reader.events(4)
    assert [e.cloud_event["id"] for e in again] == [e.cloud_event["id"] for e in first + later][1:]


async def test_a_stream_opened_without_last_event_id_starts_from_now(
    notifications: NotificationsApp, base_url: str
) -> None:
    up = notifications.upstream
    await up.register()
    await notifications.settled()
    async with stream(base_url, COMMANDER) as reader:
        await up.register()
        got = await reader.events(1)
    assert got[0].cloud_event["id"] == sent_event(notifications)["id"]


async def test_the_token_may_come_as_access_token_instead_of_the_header(
    notifications: NotificationsApp, base_url: str
) -> None:
    bearer = token("county", county=BINCHENG)["Authorization"].removeprefix("Bearer ")
    async with stream(base_url, access_token=bearer) as reader:
        await notifications.upstream.register(ZHANHUA)
        await notifications.settled()
        own = await notifications.upstream.register(BINCHENG)
        got = await reader.events(1)
    assert got[0].cloud_event["subject"] == own


async def test_the_stream_ends_when_its_token_expires(
    notifications: NotificationsApp, base_url: str
) -> None:
    """A token is checked when the stream opens; the stream then ends at the token's expiry,
    so a browser left open past it reconnects, is refused and logs in again."""
    short = issue_token(SECRET, role="commander", ttl=dt.timedelta(seconds=2))
    started = dt.datetime.now(dt.UTC)
    async with stream(base_url, access_token=short) as reader:
        pid = await notifications.upstream.register()
        got = await reader.events(1)  # live until then
        assert got[0].cloud_event["subject"] == pid
        with pytest.raises(AssertionError, match="the stream ended"):
            await reader.next()
    assert dt.datetime.now(dt.UTC) - started >= dt.timedelta(seconds=1)
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        again = await client.get("/v1/stream", params={"access_token": short})
    assert again.status_code == 401


@pytest.mark.parametrize(
    ("headers", "params", "expected"),
    [
        ({}, {}, 401),
        ({}, {"access_token": "not-a-token"}, 401),
        (COMMANDER, {"access_token": "x"}, 401),
        (COMMANDER | {"Last-Event-ID": "abc"}, {}, 422),
        (COMMANDER | {"Last-Event-ID": "-1"}, {}, 422),
        (COMMANDER, {"after": "-1"}, 422),
    ],
    ids=["no-token", "bad-access-token", "token-twice", "bad-id", "negative-id", "bad-after"],
)
async def test_refusals_are_answered_before_any_event(
    base_url: str, headers: dict[str, str], params: dict[str, str], expected: int
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=READ_BUDGET, trust_env=False) as c:
        answer = await c.get("/v1/stream", headers=headers, params=params)
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
