"""The issues consumer's batch (`handlers.prefetch`, `shared.rows`): the projects of a batch's
registry events are read in one statement, not one per event after a flush, and the events of
one project in the batch still build on each other."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.issues.handlers import HANDLERS, prefetch
from services.issues.models import ProjectView
from shared.bus.inprocess import InProcessBus
from tests.api.issues.helpers import IssuesApp
from tests.support.statements import tables_read_by_batch
from tests.support.upstream import Upstream, decoded


async def test_a_batch_reads_its_projects_once(issues: IssuesApp) -> None:
    upstream = Upstream(InProcessBus())  # the events as the consumer decodes them
    first = await upstream.register(name="一号项目")
    second = await upstream.register(name="二号项目")
    await upstream.start(first, dt.date(2020, 4, 1))
    await upstream.update(second, name="二号项目(改)")
    batch = decoded(upstream.sent)
    runtime = issues.runtime
    reads = await tables_read_by_batch(runtime, batch, prefetch, HANDLERS)
    assert reads.count("projects") == 1, reads
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(ProjectView).order_by(ProjectView.name))).all()
    assert [(r.name, r.stage, r.version) for r in rows] == [
        ("一号项目", "started", 2),
        ("二号项目(改)", "reserve", 2),
    ]
