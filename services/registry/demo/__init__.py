"""The Binzhou 2020 demo library: the 四个一批 library as reported in May 2020.

The data are the CSV files beside this module (UTF-8, one header row each; other files refer to
a project by its name, which is unique in the library):

- `projects.csv`: the projects as a client would register them (amounts in 万元, tags separated
  by `；`, `lng`/`lat` together or not at all);
- `stage_moves.csv`: stage moves made after registration, in order;
- `plans.csv`: the 2020 annual plans with cumulative targets for months 1..12;
- `reports.csv`: monthly reports 月度调度 for January–April 2020;
- `list_changes.csv`: key-list changes 增补/调整/退出.

The figures match the municipal report: 1,191 projects with 7,844 亿元 total investment, 433 on
the key list (10 provincial major construction, 3 provincial major preparation, 6 provincial
preferred, 4 investment attraction, 52 city key, 6 city urban infrastructure, 352 county key).
No date in the data is later than `AS_OF`.

`load_demo` stores the library through the same use cases an API call runs, so every project,
plan, report and stage move is a real row with its event in the outbox.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources

from services.registry import queries, service
from services.registry.domain.enums import Level, ListChangeKind, Stage
from services.registry.schemas import ListChangeIn, PlanIn, ProjectCreate, ReportIn, StageMoveIn
from shared.auth import Principal, Role
from shared.regions import RegionTable, load_region_table
from shared.runtime import Runtime
from shared.uow import UnitOfWork

AS_OF = date(2020, 4, 30)  # no demo date is later than this
DEMO_LOADER = Principal(subject="demo-loader", role=Role.COMMANDER)
TAG_SEPARATOR = "；"


@dataclass(frozen=True)
class DemoPlan:
    """The 2020 annual plan: 万元, cumulative targets for months 1..12 (12 = annual)."""

    year: int
    annual_investment: Decimal
    monthly_targets: dict[int, Decimal]


@dataclass(frozen=True)
class DemoReport:
    """A monthly report 月度调度: period YYYY-MM, cumulative YTD and the month's increase."""

    period: str
    ytd_investment: Decimal
    month_investment: Decimal
    started: bool
    progress_note: str


@dataclass(frozen=True)
class DemoListChange:
    """A key-list change 增补/调整/退出: `level` is the new level (None when withdrawn)."""

    kind: ListChangeKind
    level: Level | None
    effective_date: date
    reason: str


@dataclass(frozen=True)
class DemoProject:
    project: ProjectCreate
    plan: DemoPlan | None = None
    reports: list[DemoReport] = field(default_factory=list)
    stage_moves: list[tuple[Stage, date]] = field(default_factory=list)
    list_changes: list[DemoListChange] = field(default_factory=list)


def _read(name: str) -> Iterator[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    yield from csv.DictReader(text.splitlines())


def _project(row: dict[str, str]) -> ProjectCreate:
    """The request body a client would send for a row of projects.csv, validated as one is."""
    lng, lat = row.pop("lng"), row.pop("lat")
    tags = row.pop("tags")
    body: dict[str, object] = {key: value for key, value in row.items() if value != ""}
    body["tags"] = tags.split(TAG_SEPARATOR) if tags else []
    if lng and lat:
        body["location"] = {"lng": lng, "lat": lat}
    return ProjectCreate.model_validate(body)


def demo_library() -> list[DemoProject]:
    """The library as read from the data files, in registration order."""
    plans = {
        row["project"]: DemoPlan(
            year=int(row["year"]),
            annual_investment=Decimal(row["annual_investment"]),
            monthly_targets={m: Decimal(row[f"m{m}"]) for m in range(1, 13)},
        )
        for row in _read("plans.csv")
    }
    reports: dict[str, list[DemoReport]] = {}
    for row in _read("reports.csv"):
        reports.setdefault(row["project"], []).append(
            DemoReport(
                period=row["period"],
                ytd_investment=Decimal(row["ytd_investment"]),
                month_investment=Decimal(row["month_investment"]),
                started=row["started"] == "true",
                progress_note=row["progress_note"],
            )
        )
    moves: dict[str, list[tuple[Stage, date]]] = {}
    for row in _read("stage_moves.csv"):
        moves.setdefault(row["project"], []).append(
            (Stage(row["stage"]), date.fromisoformat(row["date"]))
        )
    changes: dict[str, list[DemoListChange]] = {}
    for row in _read("list_changes.csv"):
        changes.setdefault(row["project"], []).append(
            DemoListChange(
                kind=ListChangeKind(row["kind"]),
                level=Level(row["level"]) if row["level"] else None,
                effective_date=date.fromisoformat(row["effective_date"]),
                reason=row["reason"],
            )
        )
    library: list[DemoProject] = []
    for row in _read("projects.csv"):
        name = row["name"]
        library.append(
            DemoProject(
                _project(row),
                plans.get(name),
                reports.get(name, []),
                moves.get(name, []),
                changes.get(name, []),
            )
        )
    return library


# Projects per transaction: their use cases join one unit of work (shared/uow.py), so the
# load commits 24 times instead of once per use case (about 2,900), yet no transaction holds
# the database long (a running API and relay wait for it meanwhile).
PROJECTS_PER_TRANSACTION = 50


async def load_demo(runtime: Runtime) -> str:
    async with runtime.session_factory() as session:
        if await queries.count_projects(session):
            return "registry: projects already present; demo not loaded again"
    regions = load_region_table(runtime.settings.regions_file)
    library = demo_library()
    for start in range(0, len(library), PROJECTS_PER_TRANSACTION):
        async with runtime.uow() as uow:
            for item in library[start : start + PROJECTS_PER_TRANSACTION]:
                await _load_project(uow, item, regions)
    return f"registry: demo library loaded ({len(library)} projects)"


async def _load_project(uow: UnitOfWork, item: DemoProject, regions: RegionTable) -> None:
    """One project's registration and what followed it, each through its use case."""
    project = await service.register_project(uow, DEMO_LOADER, item.project, regions)
    for stage, on in item.stage_moves:
        await service.move_stage(
            uow, DEMO_LOADER, project.id, StageMoveIn(stage=stage, date=on, reason="demo")
        )
    if item.plan is not None:
        await service.set_plan(
            uow,
            DEMO_LOADER,
            project.id,
            item.plan.year,
            PlanIn.model_validate(item.plan, from_attributes=True),
        )
    for report in item.reports:
        await service.submit_report(
            uow, DEMO_LOADER, project.id, ReportIn.model_validate(report, from_attributes=True)
        )
    for change in item.list_changes:
        await service.change_list(
            uow,
            DEMO_LOADER,
            project.id,
            ListChangeIn.model_validate(change, from_attributes=True),
        )
