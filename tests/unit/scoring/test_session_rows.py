"""The live path's rows (`SessionRows`): a batch's events read each row once and insert the rows
they make together at the commit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select

from services.scoring.handlers import registry_handlers
from services.scoring.models import Base, ProjectView
from shared.db import make_engine, make_session_factory
from shared.events.catalogue import registry as reg
from shared.events.envelope import CloudEvent

EPOCH = 1


def registered(project_id: str) -> tuple[CloudEvent, reg.ProjectRegistered]:
    payload = reg.ProjectRegistered(
        project_id=project_id,
        name=f"项目{project_id}",
        county="371602",
        level=None,
        track="implementation",
        stage="planning",
        code=None,
        total_investment="100",
        planned_start=None,
        planned_completion=None,
        actual_start=None,
        actual_completion=None,
        leader=None,
        responsible_unit=None,
        industry=None,
        tags=[],
        version=1,
    )
    return _event(payload, project_id, 1), payload


def started(project_id: str) -> tuple[CloudEvent, reg.ProjectStageChanged]:
    payload = reg.ProjectStageChanged(
        project_id=project_id,
        from_stage="planning",
        to_stage="started",
        date=dt.date(2020, 4, 1),
        reason=None,
        track="implementation",
        level=None,
        planned_start=None,
        actual_start=dt.date(2020, 4, 1),
        actual_completion=None,
    )
    return _event(payload, project_id, 2), payload


def _event(payload: Any, project_id: str, sequence: int) -> CloudEvent:
    return CloudEvent(
        source="kuaiche/registry",
        type=payload.TYPE,
        subject=project_id,
        data=payload.model_dump(mode="json"),
        county="371602",
        actor="test",
        sequence=sequence,
        partitionkey=project_id,
    )


async def test_a_batch_reads_each_row_once_and_inserts_the_new_ones_together(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'scoring.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_session_factory(engine)
    handlers = registry_handlers(EPOCH)
    batch = [registered("p1"), registered("p2"), started("p1"), registered("p3")]
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            statements.append(statement.split()[0])

    sa_event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        async with sessions() as session, session.begin():
            for ev, payload in batch:
                await handlers[ev.type](session, ev, payload)
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", note)
    try:
        # p1, p2, p3 read once each (p1's stage change found it in memory); one INSERT of all
        assert statements == ["SELECT", "SELECT", "SELECT", "INSERT"], statements
        async with sessions() as session:
            rows = (
                await session.scalars(select(ProjectView).order_by(ProjectView.project_id))
            ).all()
        assert [(r.project_id, r.stage, r.version) for r in rows] == [
            ("p1", "started", 2),
            ("p2", "planning", 1),
            ("p3", "planning", 1),
        ]
    finally:
        await engine.dispose()
