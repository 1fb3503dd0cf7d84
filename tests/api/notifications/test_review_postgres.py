"""Review, over PostgreSQL: a message whose title, filled from the longest names upstream
allows (a 200-character project name, a 200-character problem title), still reaches the inbox;
the event is not dead-lettered for a title the notifications table cannot hold."""

from __future__ import annotations

import datetime as dt

from tests.api.notifications.conftest import NotificationsApp
from tests.api.notifications.inboxes import inbox, unit


async def test_an_assignment_with_the_longest_names_reaches_the_unit(
    notifications_pg: NotificationsApp,
) -> None:
    n = notifications_pg
    pid = await n.upstream.register(name="园" * 200)
    qid = await n.upstream.report_problem(pid, dt.date(2020, 9, 1), title="地" * 200)
    await n.upstream.assign(qid, dt.date(2020, 9, 1), dt.date(2020, 9, 28))
    await n.settled()
    got = await inbox(n, unit(), "issue-assigned")
    assert len(got) == 1
    assert got[0]["title"].startswith("【交办】园")
    assert len(got[0]["title"]) <= 300
