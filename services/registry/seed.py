"""Loads the Binzhou 2020 demo library through the same use cases an API call runs, so every
project, plan, report and stage move is a real row with its event in the outbox."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from services.registry import service
from services.registry.demo import demo_library
from services.registry.schemas import ListChangeIn, PlanIn, ReportIn, StageMoveIn
from shared.auth import Principal, Role
from shared.regions import load_region_table
from shared.runtime import Runtime

DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)

_Input = TypeVar("_Input", bound=BaseModel)


def _as_input(model: type[_Input], record: object) -> _Input:
    """The API input `model` a client would send for a demo record: its fields, read from the
    record's attributes of the same names, validated as a request body is."""
    return model.model_validate(record, from_attributes=True)


async def load_demo(runtime: Runtime) -> str:
    async with runtime.session_factory() as session:
        if await service.count_projects(session):
            return "registry: projects already present; demo not loaded again"
    regions = load_region_table(runtime.settings.regions_file)
    library = demo_library()
    for item in library:
        project = await service.register_project(runtime.uow(), DEMO_LOADER, item.project, regions)
        for stage, on in item.stage_moves:
            await service.move_stage(
                runtime.uow(),
                DEMO_LOADER,
                project.id,
                StageMoveIn(stage=stage, date=on, reason="demo"),
            )
        if item.plan is not None:
            await service.set_plan(
                runtime.uow(),
                DEMO_LOADER,
                project.id,
                item.plan.year,
                _as_input(PlanIn, item.plan),
            )
        for report in item.reports:
            await service.submit_report(
                runtime.uow(), DEMO_LOADER, project.id, _as_input(ReportIn, report)
            )
        for change in item.list_changes:
            await service.change_list(
                runtime.uow(), DEMO_LOADER, project.id, _as_input(ListChangeIn, change)
            )
    return f"registry: demo library loaded ({len(library)} projects)"
