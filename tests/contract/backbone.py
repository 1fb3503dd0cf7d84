"""A tiny service-shaped schema for testing the backbone itself: outbox, inbox, and a table a
handler changes."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.events.envelope import CloudEvent
from shared.inbox import inbox_table
from shared.outbox import outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
counters = Table(
    "counters",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Integer, nullable=False),
)
documents = Table(  # JSON columns, as a read model's standings have
    "documents",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("body", JSON),
    Column("note", JSON(none_as_null=True)),
)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


async def bump(session: AsyncSession, name: str, by: int = 1) -> None:
    done = await session.execute(
        update(counters).where(counters.c.name == name).values(value=counters.c.value + by)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(counters.insert().values(name=name, value=by))


async def counter(session: AsyncSession, name: str) -> int:
    return int(await session.scalar(select(counters.c.value).where(counters.c.name == name)) or 0)


def event(
    subject: str = "p1", n: int = 1, type_: str = "kuaiche.project.milestone_updated.v1"
) -> CloudEvent:
    return CloudEvent(
        source="kuaiche/test",
        type=type_,
        subject=subject,
        data={
            "project_id": subject,
            "milestone_id": f"m{n}",
            "name": f"milestone {n}",
            "planned_date": "2020-04-01",
            "actual_date": None,
        },
        county="371602",
        actor="test",
        sequence=n,
        partitionkey=subject,
    )
