"""Review, over PostgreSQL: two commanders replacing the rules at once from the same version;
one wins, the other is told its version is stale (412), never a 500."""

from __future__ import annotations

import asyncio

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER


async def test_concurrent_rule_replacements_from_one_version_give_one_412(
    notifications_pg: NotificationsApp,
) -> None:
    n = notifications_pg
    current = await n.client.get("/v1/rules", headers=COMMANDER)
    body = {"rules": current.json()["rules"]}
    for _ in range(5):
        etag = (await n.client.get("/v1/rules", headers=COMMANDER)).headers["etag"]
        answers = await asyncio.gather(
            *(
                n.client.put("/v1/rules", json=body, headers=COMMANDER | {"If-Match": etag})
                for _ in range(2)
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
