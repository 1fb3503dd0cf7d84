"""What factors learns from the registry's events: a small projection of each project (county,
level, stage) kept through the inbox, never by calling the registry. A project withdrawn (退出)
gives its active allocations back to their pools, each with its `factor.released` event,
in the same transaction as the projection's change."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.factors import service
from services.factors.models import ProjectView, outbox
from shared.db import utcnow
from shared.events.catalogue import registry as reg
from shared.events.envelope import CloudEvent
from shared.inbox import Handler
from shared.uow import record_event

CONSUMER = "factors-projects"


async def _view(session: AsyncSession, project_id: str) -> ProjectView | None:
    return await session.scalar(
        select(ProjectView).where(ProjectView.id == project_id).with_for_update()
    )


def _stale(view: ProjectView | None, event: CloudEvent) -> bool:
    """An event older than what the projection holds (the registry's version is its sequence)."""
    return view is not None and event.sequence <= view.version


def handlers(topic: str, source: str) -> dict[str, Handler]:
    async def on_snapshot(session: AsyncSession, event: CloudEvent, p: reg.ProjectSnapshot) -> None:
        view = await _view(session, p.project_id)
        if _stale(view, event):
            return
        was_withdrawn = view is not None and view.withdrawn
        if view is None:
            view = ProjectView(id=p.project_id)
            session.add(view)
        view.name = p.name
        view.county = p.county
        view.level = p.level
        view.stage = p.stage
        view.version = p.version
        view.updated_at = utcnow()
        await session.flush()
        if view.withdrawn and not was_withdrawn:
            await _release(session, event, view)

    async def on_stage_changed(
        session: AsyncSession, event: CloudEvent, p: reg.ProjectStageChanged
    ) -> None:
        view = await _view(session, p.project_id)
        if _stale(view, event):
            return
        if view is None:  # the registration is still to come; keep what this event says
            view = ProjectView(id=p.project_id, county=event.county or "", name=None)
            session.add(view)
        view.stage = p.to_stage
        view.level = p.level
        view.version = event.sequence
        view.updated_at = utcnow()
        await session.flush()
        if p.to_stage == reg.Stage.WITHDRAWN:
            await _release(session, event, view)

    async def on_list_changed(session: AsyncSession, event: CloudEvent, p: reg.ListChanged) -> None:
        view = await _view(session, p.project_id)
        if view is None or _stale(view, event):
            return
        view.level = p.to_level
        view.version = event.sequence
        view.updated_at = utcnow()

    async def _release(session: AsyncSession, event: CloudEvent, view: ProjectView) -> None:
        emit = partial(record_event, session, outbox, source=source, topic=topic)
        await service.release_for_withdrawn_project(session, emit, view.id, actor=event.actor)

    return {
        reg.ProjectRegistered.TYPE: on_snapshot,
        reg.ProjectUpdated.TYPE: on_snapshot,
        reg.ProjectStageChanged.TYPE: on_stage_changed,
        reg.ListChanged.TYPE: on_list_changed,
    }
