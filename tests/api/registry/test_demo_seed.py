"""`kuaiche up --demo` loads the Binzhou 2020 library through the real use cases."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from services.registry.main import SERVICE
from services.registry.models import Project, outbox
from tests.conftest import COMMANDER, wait_until


async def test_the_demo_library_loads_with_the_article_figures(registry) -> None:
    message = await SERVICE.load_demo(registry.runtime)
    assert "1191 projects" in message
    again = await SERVICE.load_demo(registry.runtime)
    assert "already present" in again  # loading twice changes nothing

    async with registry.runtime.session_factory() as s:
        count, total = (
            await s.execute(select(func.count(), func.sum(Project.total_investment)))
        ).one()
        events = await s.scalar(select(func.count()).select_from(outbox))
    assert count == 1191
    assert Decimal(total) == Decimal("78440000")  # 7,844 亿元 in 万元
    assert events >= 1191

    r = await registry.client.get(
        "/v1/projects", params={"key": "true", "limit": 1}, headers=COMMANDER
    )
    assert r.json()["total"] == 433
    r = await registry.client.get(
        "/v1/projects",
        params={"level": "provincial_major_construction", "limit": 1},
        headers=COMMANDER,
    )
    assert r.json()["total"] == 10

    async def all_published() -> bool:
        async with registry.runtime.session_factory() as s:
            left = await s.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return left == 0

    await wait_until(all_published, timeout=60)
