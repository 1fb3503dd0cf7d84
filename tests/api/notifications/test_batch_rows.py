"""A batch's projection rows (`handlers.prefetch`, `shared.rows`): the projects, problems and
pools a consumer's batch is about are read in one statement each, not one per event after a
flush, and the batch's events still build on each other (a project registered and updated in
one batch, a problem reported and assigned)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from services.notifications.handlers import prefetch
from services.notifications.main import SERVICE
from services.notifications.models import ProblemView, ProjectView
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import CloudEvent
from tests.api.notifications.conftest import NotificationsApp
from tests.support.statements import tables_read_by_batch
from tests.support.upstream import Upstream, decoded


async def _events(upstream: Upstream) -> list[tuple[CloudEvent, Any]]:
    first = await upstream.register(name="一号项目")
    second = await upstream.register(name="二号项目")
    await upstream.update(first, name="一号项目(改)")
    problem = await upstream.report_problem(second, dt.date(2020, 4, 1))
    await upstream.assign(problem, dt.date(2020, 4, 2), dt.date(2020, 4, 9), co_units=["市发改委"])
    return decoded(upstream.sent)


async def test_a_batch_reads_its_projects_and_problems_once(
    notifications: NotificationsApp,
) -> None:
    await _one_batch(notifications)


async def test_a_batch_reads_its_projects_and_problems_once_on_postgres(
    notifications_pg: NotificationsApp,
) -> None:
    await _one_batch(notifications_pg)


async def _one_batch(notifications: NotificationsApp) -> None:
    runtime = notifications.runtime
    # the events as the consumer decodes them, built on a bus nobody follows
    batch = await _events(Upstream(InProcessBus()))
    reads = await tables_read_by_batch(runtime, batch, prefetch, SERVICE.handlers(runtime))
    assert reads.count("projects") == 1, reads
    assert reads.count("problems") == 1, reads
    async with runtime.session_factory() as session:
        projects = (await session.scalars(select(ProjectView).order_by(ProjectView.name))).all()
        problems = (await session.scalars(select(ProblemView))).all()
    assert [(p.name, p.version) for p in projects] == [("一号项目(改)", 2), ("二号项目", 1)]
    assert [(q.status, q.co_units, q.version) for q in problems] == [("assigned", ["市发改委"], 2)]
