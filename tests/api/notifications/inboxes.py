"""Reading what the rules wrote, as the people told read it: through `GET /v1/notifications`
with the addressed recipient's token (a leader's inbox through the command office's, which may
name any recipient)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, token

NRPB = "市自然资源和规划局"  # the usual responsible unit
NDRC = "市发展和改革委员会"
MEE = "市生态环境局"
PROJECT = "滨州高新区智能制造产业园"


def unit(name: str = NRPB) -> dict[str, str]:
    return token("department", department=name)


def county(code: str) -> dict[str, str]:
    return token("county", county=code)


def shanghai(day: dt.date, hour: int = 10) -> dt.datetime:
    """`hour` o'clock in Shanghai on `day`, as the UTC instant the scan is given."""
    return dt.datetime.combine(day, dt.time(hour - 8), tzinfo=dt.UTC)


async def inbox(
    n: NotificationsApp,
    headers: dict[str, str],
    rule: str | None = None,
    **params: Any,
) -> list[dict[str, Any]]:
    """Every notification in the inbox the token reads (newest first), of `rule` if given."""
    answer = await n.client.get(
        "/v1/notifications", params={"limit": 500, **params}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"])
    return [note for note in page["items"] if rule is None or note["rule_id"] == rule]


async def leader_inbox(
    n: NotificationsApp, leader: str, rule: str | None = None
) -> list[dict[str, Any]]:
    return await inbox(n, COMMANDER, rule, recipient_kind="leader", recipient_key=leader)


async def only(n: NotificationsApp, headers: dict[str, str], rule: str) -> dict[str, Any]:
    """The one notification of `rule` in the inbox (fails on none or several)."""
    notes = await inbox(n, headers, rule)
    assert len(notes) == 1, notes
    return notes[0]
