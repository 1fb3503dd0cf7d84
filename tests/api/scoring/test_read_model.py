"""The read model's version rule: an event whose `sequence` is not newer than what a row holds
changes nothing, even under a new event id (which the inbox cannot recognise as a repeat): a
producer's replayed outbox row after a restore, a consumer-side bug, an operator re-publishing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
