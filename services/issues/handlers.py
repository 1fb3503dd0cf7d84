"""Events the issues service consumes: the registry's projects, kept as a local projection
(id, name, county, leader, stage, withdrawn) so a problem can be refused for an unknown or
withdrawn project without calling the registry. Each event is applied once (the inbox), and an
event older than what the projection holds (a replay) changes nothing."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.issues.models import ProjectView
from shared.db import utcnow
from shared.events.catalogue import registry as reg
from shared.events.envelope import CloudEvent
from shared.inbox import Handler
from shared.rows import TransactionRows

log = logging.getLogger(__name__)

CONSUMER = "issues-projects"


async def on_project_snapshot(
    session: AsyncSession, event: CloudEvent, payload: reg.ProjectSnapshot
) -> None:
    rows = TransactionRows(session)
    project = await rows.get(ProjectView, {"id": payload.project_id})
    if project is not None and project.version >= event.sequence:
        return
    if project is None:
        project = rows.new(ProjectView, id=payload.project_id)
    project.name = payload.name
    project.county = payload.county
    project.leader = payload.leader
    project.stage = payload.stage
    project.withdrawn = payload.stage == reg.Stage.WITHDRAWN
    project.version = event.sequence
    project.updated_at = utcnow()


async def on_stage_changed(
    session: AsyncSession, event: CloudEvent, payload: reg.ProjectStageChanged
) -> None:
    project = await TransactionRows(session).get(ProjectView, {"id": payload.project_id})
    if project is None:
        # The registration comes first on the same key; without it there is nothing to move.
        log.warning("stage change of unknown project %s ignored", payload.project_id)
        return
    if project.version >= event.sequence:
        return
    project.stage = payload.to_stage
    project.withdrawn = payload.to_stage == reg.Stage.WITHDRAWN
    project.version = event.sequence
    project.updated_at = utcnow()


async def prefetch(session: AsyncSession, events: list[tuple[CloudEvent, Any]]) -> None:
    """The consumer's `before_batch`: the projects of a batch's events, read and locked in one
    statement (`shared.rows`), not each after flushing what the events before it wrote."""
    await TransactionRows(session).load(ProjectView, "id", (p.project_id for _e, p in events))


HANDLERS: dict[str, Handler] = {
    reg.ProjectRegistered.TYPE: on_project_snapshot,
    reg.ProjectUpdated.TYPE: on_project_snapshot,
    reg.ProjectStageChanged.TYPE: on_stage_changed,
}
