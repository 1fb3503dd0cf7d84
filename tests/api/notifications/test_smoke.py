"""The first path through: a problem assigned reaches its unit's inbox and the stream's feed."""

from __future__ import annotations

import datetime as dt

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, token


async def test_an_assigned_problem_reaches_the_units_inbox(notifications: NotificationsApp) -> None:
    up = notifications.upstream
    pid = await up.register()
    qid = await up.report_problem(pid, dt.date(2020, 9, 21))
    await up.assign(qid, dt.date(2020, 9, 21), dt.date(2020, 9, 28))
    await notifications.settled()
    unit = token("department", department="市自然资源和规划局")
    answer = await notifications.client.get("/v1/notifications", headers=unit)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 1
    note = page["items"][0]
    assert note["rule_id"] == "issue-assigned"
    assert "2020年9月28日" in note["body"]
    assert note["link"] == f"/issues/v1/issues/{qid}"
    mine = await notifications.client.get("/v1/notifications", headers=COMMANDER)
    assert mine.json()["total"] == 0
