"""Review: a resume point too large for the feed's numbers is refused (422) before the
stream's 200, like a bad Last-Event-ID, instead of breaking the stream with a database error."""

from __future__ import annotations

import httpx

from tests.api.notifications.test_stream import READ_BUDGET, base_url  # noqa: F401
from tests.conftest import COMMANDER


async def test_an_after_beyond_any_feed_id_is_refused_before_any_event(
    base_url: str,  # noqa: F811
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=READ_BUDGET, trust_env=False) as c:
        answer = await c.get("/v1/stream", headers=COMMANDER, params={"after": str(2**64)})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
