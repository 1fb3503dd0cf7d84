"""Changing a recipient's robots: a robot given again (same type and address, say with a new
secret) keeps its id, so what was queued for it before the change still goes; a robot left
out is gone, and what was queued for it fails, saying so."""

from __future__ import annotations

import datetime as dt

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER
from tests.support.fake_robots import FakeRobots

UNIT = "市自然资源和规划局"


async def _recipient(notifications: NotificationsApp, url: str) -> tuple[str, str]:
    made = await notifications.client.post(
        "/v1/recipients",
        json={
            "kind": "department",
            "key": UNIT,
            "name": UNIT,
            "channels": [{"type": "dingtalk", "url": url, "secret": "SEC-old"}],
        },
        headers=COMMANDER,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"], made.headers["etag"]


async def _assign(notifications: NotificationsApp) -> None:
    up = notifications.upstream
    pid = await up.register()
    qid = await up.report_problem(pid, dt.date(2020, 9, 21))
    await up.assign(qid, dt.date(2020, 9, 21), dt.date(2020, 9, 28), unit=UNIT)
    await notifications.settled()


async def test_a_robot_given_again_with_a_new_secret_still_gets_what_was_queued(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    url = fake_robots.register_dingtalk("nrpb", "SEC-new")
    rid, etag = await _recipient(notifications, url)
    await _assign(notifications)  # queued for the robot under its old secret
    changed = await notifications.client.patch(
        f"/v1/recipients/{rid}",
        json={"channels": [{"type": "dingtalk", "url": url, "secret": "SEC-new"}]},
        headers={**COMMANDER, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    await notifications.dispatcher().step()
    assert len(fake_robots.received("nrpb")) == 1  # signed with the new secret, accepted
    assert not fake_robots.refused


async def test_a_robot_left_out_is_gone(
    notifications: NotificationsApp, fake_robots: FakeRobots
) -> None:
    url = fake_robots.register_dingtalk("nrpb", "SEC-old")
    rid, etag = await _recipient(notifications, url)
    await _assign(notifications)
    changed = await notifications.client.patch(
        f"/v1/recipients/{rid}", json={"channels": []}, headers={**COMMANDER, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    await notifications.dispatcher().step()
    assert fake_robots.received("nrpb") == []
