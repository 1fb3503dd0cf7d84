"""The demo loader: the recipients of recipients.json (the command office, every division, the
departments), then whatever the other services' demos published, read through the service's
own consumer, so the inboxes fill as in production; a second load adds nothing."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

from services.notifications.demo import load_demo
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, token


async def test_the_demo_adds_its_recipients_and_fills_inboxes_from_the_events(
    notifications: NotificationsApp,
) -> None:
    up = notifications.upstream
    pid = await up.register()
    qid = await up.report_problem(pid, dt.date(2020, 4, 1))
    await up.assign(qid, dt.date(2020, 4, 1), dt.date(2020, 4, 9), unit="市水利局")
    await up.flag_overdue(qid, dt.date(2020, 4, 10))

    first = await load_demo(notifications.runtime)
    data = json.loads(
        resources.files("services.notifications.demo").joinpath("recipients.json").read_text()
    )
    expected = 1 + len(notifications.ctx.region.divisions) + len(data["departments"])
    assert f"{expected} recipients added" in first

    listed = await notifications.client.get("/v1/recipients?limit=100", headers=COMMANDER)
    assert listed.json()["total"] == expected
    unit = token("department", department="市水利局")
    inbox = (await notifications.client.get("/v1/notifications", headers=unit)).json()
    assert sorted(n["rule_id"] for n in inbox["items"]) == ["issue-assigned", "issue-overdue"]
    office = (await notifications.client.get("/v1/notifications", headers=COMMANDER)).json()
    assert [n["rule_id"] for n in office["items"]] == ["issue-overdue"]

    again = await load_demo(notifications.runtime)
    assert "0 recipients added" in again
    inbox = (await notifications.client.get("/v1/notifications", headers=unit)).json()
    assert inbox["total"] == 2
