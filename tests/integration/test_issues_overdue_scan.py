"""The overdue scan on real PostgreSQL and Kafka: two scanners at once (two worker replicas,
each with its own engine and bus) flag every newly overdue problem exactly once, a rerun flags
nothing, and the relay puts exactly one overdue event per problem on the broker."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from services.issues import service
from services.issues.main import SERVICE
from services.issues.models import Issue, IssueMove, ProjectView, outbox
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic
from shared.migrations import upgrade
from shared.runtime import open_runtime
from tests.conftest import create_database, make_settings, wait_until

pytestmark = pytest.mark.integration

PROBLEMS = 400
NOW = dt.datetime(2020, 10, 12, 17, 0, tzinfo=dt.UTC)  # 13 October, 01:00 in Shanghai


async def _seed(session_factory) -> list[str]:  # type: ignore[no-untyped-def]
    """Problems being worked on: most past their deadline, some not yet, some resolved."""
    now = dt.datetime(2020, 9, 21, 2, tzinfo=dt.UTC)
    project = str(uuid.uuid4())
    rows, overdue = [], []
    for n in range(PROBLEMS + 60):
        iid = str(uuid.uuid4())
        status, deadline = "assigned", dt.date(2020, 9, 27)
        if n >= PROBLEMS:
            status, deadline = (
                ("assigned", dt.date(2020, 10, 13)) if n % 2 else ("resolved", deadline)
            )
        elif n % 3 == 0:
            status = "planned"
        if n < PROBLEMS:
            overdue.append(iid)
        rows.append(
            {
                "id": iid,
                "project_id": project,
                "county": "371602",
                "category": "land",
                "complexity": "complex" if status == "planned" else "general",
                "source": "enterprise",
                "title": f"问题{n}",
                "description": "d",
                "status": status,
                "unit": "市自然资源和规划局",
                "co_units": [],
                "working_days": 5,
                "assigned_on": dt.date(2020, 9, 21),
                "deadline": deadline,
                "feedback_accepted": False,
                "reported_on": dt.date(2020, 9, 21),
                "reported_at": now,
                "reported_by": "test",
                "updated_at": now,
                "version": 1,
            }
        )
    async with session_factory() as s, s.begin():
        s.add(
            ProjectView(
                id=project,
                name="p",
                county="371602",
                leader=None,
                stage="started",
                withdrawn=False,
                version=1,
                updated_at=now,
            )
        )
        await s.flush()
        await s.execute(insert(Issue), rows)
    return overdue


async def test_two_concurrent_scanners_flag_each_overdue_problem_exactly_once(
    postgres_server: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = f"kuaiche.it.{uuid.uuid4().hex[:10]}.issues"
    definition = dataclasses.replace(SERVICE, topic=topic)
    url = await create_database(postgres_server)
    await upgrade(definition, url)
    settings = make_settings("issues", url, tmp_path, kafka_bootstrap)
    replicas = [await open_runtime(definition, settings) for _ in range(2)]
    try:
        overdue = await _seed(replicas[0].session_factory)
        flagged = await asyncio.gather(
            *(service.flag_overdue(rt.uow, NOW, batch_size=25) for rt in replicas)
        )
        assert sum(flagged) == PROBLEMS
        assert all(n > 0 for n in flagged), flagged  # both scanners took part

        async with replicas[0].session_factory() as s:
            payloads = (
                await s.scalars(
                    select(outbox.c.payload).where(outbox.c.type == "kuaiche.issue.overdue.v1")
                )
            ).all()
            per_issue = Counter(CloudEvent.from_json(p).subject for p in payloads)
            assert set(per_issue) == set(overdue) and set(per_issue.values()) == {1}
            moves = await s.scalar(
                select(func.count()).select_from(IssueMove).where(IssueMove.action == "overdue")
            )
            assert moves == PROBLEMS
            not_flagged = (
                await s.scalars(select(Issue.status).where(Issue.overdue_at.is_(None)))
            ).all()
            assert sorted(set(not_flagged)) == ["assigned", "resolved"] and len(not_flagged) == 60
            versions = set(
                (await s.scalars(select(Issue.version).where(Issue.overdue_at.is_not(None)))).all()
            )
            assert versions == {2}  # one change each

        # A rerun, even by both at once, finds nothing new.
        again = await asyncio.gather(*(service.flag_overdue(rt.uow, NOW) for rt in replicas))
        assert again == [0, 0]
        async with replicas[0].session_factory() as s:
            events = await s.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.type == "kuaiche.issue.overdue.v1")
            )
        assert events == PROBLEMS

        # Both replicas' relays at once: each overdue event reaches the broker exactly once.
        await replicas[0].bus.ensure_topics([topic, dead_letter_topic(topic)])
        await asyncio.gather(*(rt.publish_all() for rt in replicas))
        reader = replicas[0].bus.consumer(f"it-reader-{uuid.uuid4().hex[:8]}", [topic])
        await reader.start()
        seen: Counter[str] = Counter()
        try:

            async def all_arrived() -> bool:
                for m in await reader.fetch(timeout=1.0):
                    event = CloudEvent.from_json(m.value)
                    if event.type == "kuaiche.issue.overdue.v1":
                        seen[event.subject or ""] += 1
                return sum(seen.values()) >= PROBLEMS

            await wait_until(all_arrived, timeout=60)
        finally:
            await reader.stop()
        assert set(seen) == set(overdue) and set(seen.values()) == {1}
    finally:
        for rt in replicas:
            await rt.close()
