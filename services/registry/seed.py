"""Loads the Binzhou 2020 demo library through the same use cases an API call runs, so every
project, plan, report and stage move is a real row with its event in the outbox."""

from __future__ import annotations

from services.registry import service
from services.registry.demo import demo_library
from services.registry.domain.regions import load_region_table
from services.registry.schemas import ListChangeIn, PlanIn, ReportIn, StageMoveIn
from shared.auth import Principal, Role
from shared.runtime import Runtime

DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)


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
                PlanIn(
                    annual_investment=item.plan.annual_investment,
                    monthly_targets=item.plan.monthly_targets,
                ),
            )
        for r in item.reports:
            await service.submit_report(
                runtime.uow(),
                DEMO_LOADER,
                project.id,
                ReportIn(
                    period=r.period,
                    ytd_investment=r.ytd_investment,
                    month_investment=r.month_investment,
                    started=r.started,
                    progress_note=r.progress_note,
                ),
            )
        for change in item.list_changes:
            await service.change_list(
                runtime.uow(),
                DEMO_LOADER,
                project.id,
                ListChangeIn(
                    kind=change.kind,
                    level=change.level,
                    reason=change.reason,
                    effective_date=change.effective_date,
                ),
            )
    return f"registry: demo library loaded ({len(library)} projects)"
