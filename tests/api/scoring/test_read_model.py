"""The read model's version rule: an event whose `sequence` is not newer than what a row holds
changes nothing, even under a new event id (which the inbox cannot recognise as a repeat): a
producer's replayed outbox row after a restore, a consumer-side bug, an operator re-publishing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select

from services.scoring import readmodel
from services.scoring.main import SERVICE
from services.scoring.models import ProjectView
from services.scoring.readmodel import Feed
from shared.events.catalogue import factors as fac
from shared.events.catalogue import issues as iss
from shared.events.catalogue import registry as reg
from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import figures
from tests.support.upstream import BINCHENG

D = dt.date


async def test_an_older_sequence_under_a_new_event_id_changes_nothing(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 4, 1))  # v1
    await up.start(pid, D(2020, 4, 10))  # v2
    await up.plan(pid, 2020, "1000")  # v3
    await up.report(pid, 2020, 4, "450")  # v4
    qid = await up.report_problem(pid, D(2020, 4, 2))
    await up.resolve(qid, D(2020, 4, 8))
    aid = await up.allocate(pid, amount="30")
    await up.release(aid, D(2020, 4, 20))
    await scoring.settled()
    before = await figures(scoring, BINCHENG)
    assert (before["started"], before["ytd_investment"], before["problems_resolved"]) == (
        1,
        "450",
        1,
    )
    assert before["factor_allocations"] == 0

    project = up.projects[pid]
    stale_snapshot = {**up._snapshot(project), "stage": "reserve", "actual_start": None}
    problem = up.problems[qid]
    allocation = up.allocations[aid]
    stale = [
        # the project as registered (v1), a report before the correction (v3), an older plan
        (up.registry_topic, reg.SOURCE, reg.ProjectUpdated(**stale_snapshot, changed=[]), pid, 1),
        (
            up.registry_topic,
            reg.SOURCE,
            reg.ReportSubmitted(
                project_id=pid,
                period="2020-04",
                year=2020,
                month=4,
                ytd_investment=Decimal(100),
                month_investment=Decimal(0),
                started=True,
                progress_note=None,
                correction_note=None,
            ),
            pid,
            3,
        ),
        # the problem as reported (v1), the allocation as allocated (v1)
        (
            up.issues_topic,
            iss.SOURCE,
            iss.IssueReopened(
                issue_id=qid,
                project_id=pid,
                county=BINCHENG,
                status="assigned",
                category="land",
                complexity="general",
                unit=None,
                deadline=None,
                reported_on=problem.reported_on,
                version=1,
                comment="旧事件",
            ),
            qid,
            1,
        ),
        (
            up.factors_topic,
            fac.SOURCE,
            fac.FactorAllocated(
                **up._allocation_fields(allocation),
                level="city_key",
                scope="city",
                ratio=None,
                source_id=None,
                advance=False,
                allocated_on=D(2020, 4, 2),
                use_by=None,
            ),
            aid,
            1,
        ),
    ]
    for topic, source, payload, subject, sequence in stale:
        await up._send(
            topic, source, payload, subject=subject, county=BINCHENG, sequence=sequence, key=pid
        )
    await scoring.settled()
    assert await figures(scoring, BINCHENG) == before


async def test_a_batch_reads_the_rows_of_its_projects_in_one_statement(
    scoring: ScoringApp,
) -> None:
    """The live consumer reads the project rows a batch's registry events need at once
    (`handlers.prefetch`), not one SELECT per event, and applies the batch as before: a
    project registered and changed in the same batch, one changed twice, one unknown to the
    epoch (its registration not in it: the change is ignored)."""
    up = scoring.upstream
    first, second, orphan = [await up.register(BINCHENG) for _ in range(3)]
    await up.update(first, name="改名")
    await up.start(second, D(2020, 4, 10))
    await up.update(second, name="又改名")
    await up.start(orphan, D(2020, 4, 12))
    await scoring.settled()  # the worker's consumer is done with them (epoch 1)
    reader = scoring.bus.consumer("test-prefetch", [up.registry_topic])
    await reader.start()
    fetched = await reader.fetch(timeout=0, max_messages=100)
    registration = next(m for m in fetched if m.key == orphan)  # its key's first, in order
    messages = [m for m in fetched if m is not registration]
    epoch = 99  # not the current one: the worker's consumer does not write it
    consumer = readmodel.consumer(scoring.runtime, Feed.of(SERVICE), epoch)
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters
        if "FROM projects" in statement and epoch in values:  # not the worker's own reads
            reads.append(statement)

    engine = scoring.runtime.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        await consumer.process_batch(reader, messages)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 1, reads
    async with scoring.runtime.session_factory() as s:
        rows = {
            r.project_id: r
            for r in await s.scalars(select(ProjectView).where(ProjectView.epoch == epoch))
        }
    assert set(rows) == {first, second}
    assert (rows[first].name, rows[first].stage, rows[first].version) == ("改名", "reserve", 2)
    assert (rows[second].name, rows[second].stage, rows[second].version) == ("又改名", "started", 3)
