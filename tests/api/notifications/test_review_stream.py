"""Review of the live stream: a resume point too large for the feed's numbers is refused (422) before the
stream's 200, like a bad Last-Event-ID, instead of breaking the stream with a database error; and a co-unit of a problem sees its
later events, not only its assignment."""

from __future__ import annotations

import datetime as dt

import httpx

from services.notifications import queries
from shared.auth import Principal, Role
from tests.api.notifications.conftest import NotificationsApp
from tests.api.notifications.test_stream import NDRC, NRPB, READ_BUDGET, base_url  # noqa: F401
from tests.conftest import COMMANDER


async def test_an_after_beyond_any_feed_id_is_refused_before_any_event(
    base_url: str,  # noqa: F811
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=READ_BUDGET, trust_env=False) as c:
        answer = await c.get("/v1/stream", headers=COMMANDER, params={"after": str(2**64)})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_co_unit_sees_the_later_events_of_its_problem(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    pid = await up.register()
    qid = await up.report_problem(pid, dt.date(2020, 9, 21))
    await up.assign(qid, dt.date(2020, 9, 21), dt.date(2020, 9, 28), unit=NRPB, co_units=[NDRC])
    await up.flag_overdue(qid, dt.date(2020, 9, 29))
    await up.resolve(qid, dt.date(2020, 9, 30))
    await notifications.settled()
    co_unit = Principal("t", Role.DEPARTMENT, department=NDRC)
    async with notifications.runtime.session_factory() as session:
        seen, _ = await queries.feed_after(session, co_unit, 0, [], 500)  # what its stream shows
    assert [e.type for e in seen] == [
        "kuaiche.issue.assigned.v1",
        "kuaiche.issue.overdue.v1",
        "kuaiche.issue.resolved.v1",
    ]
