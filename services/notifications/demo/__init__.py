"""The demo for `kuaiche up --demo`: the recipients of `recipients.json` (the command office,
every division, the departments of the demo's problems), then the other services' demo events
read through the service's own consumer, so the inboxes fill the way they do in production
(problems assigned 交办, red overdue notices, the April 通报 to every division ...). A second
load adds nothing: the recipients exist and every event was applied once."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import func, select

from services.notifications import service
from services.notifications.config import Context
from services.notifications.domain.occasions import COMMANDER_KEY, RecipientKind
from services.notifications.models import Notification
from services.notifications.schemas import RecipientCreate
from shared.auth import Principal, Role
from shared.errors import RuleViolation
from shared.runtime import Runtime

__all__ = ["load_demo"]

DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)


def _recipients(ctx: Context) -> list[RecipientCreate]:
    data = json.loads(resources.files(__package__).joinpath("recipients.json").read_text("utf-8"))
    wanted = [
        RecipientCreate(
            kind=RecipientKind.COMMANDER, key=COMMANDER_KEY, name=data["commander"], channels=[]
        )
    ]
    wanted += [
        RecipientCreate(kind=RecipientKind.COUNTY, key=d.code, name=d.name, channels=[])
        for d in ctx.region.divisions
    ]
    wanted += [
        RecipientCreate(kind=RecipientKind.DEPARTMENT, key=name, name=name, channels=[])
        for name in data["departments"]
    ]
    return wanted


async def load_demo(runtime: Runtime) -> str:
    ctx = Context.of(runtime)
    made = 0
    for recipient in _recipients(ctx):
        try:
            await service.create_recipient(runtime.uow(), ctx, DEMO_LOADER, recipient)
            made += 1
        except RuleViolation:
            pass  # already there (a second load)
    await runtime.catch_up()
    async with runtime.session_factory() as session:
        notes = await session.scalar(select(func.count()).select_from(Notification))
    return f"notifications: demo loaded ({made} recipients added; {notes} notifications in all)"
