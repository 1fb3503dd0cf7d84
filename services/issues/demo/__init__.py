"""The Binzhou spring-2020 problem list for `kuaiche up --demo`: 222 problems over the demo
projects, 196 of them resolved or closed (88.3%), four supervision rounds, a handful overdue.

The issues service does not know the registry: it learns the projects from the registry's
events like in production. So the demo first reads the bus into its projection until nothing
new arrives (the registry's demo was published before, see kuaiche/cli.py), then picks
projects from that projection, ordered by name so the same library gives the same list, and
plays every problem's life (`problems.py`, from `problems.json`) through the same use cases an
API call runs, each on its own date in spring 2020 (no wall clock). The overdue scan runs as of
the data's `as_of` date at the end, so the open problems past their deadline carry their flag.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.issues import queries, service
from services.issues.config import IssuesConfig
from services.issues.demo.problems import COMPLEX_FATES, DemoProblem, Fate, demo_data, demo_problems
from services.issues.domain.enums import Complexity, Verdict
from services.issues.models import ProjectView
from services.issues.schemas import (
    AssignIn,
    CloseIn,
    ExtendIn,
    FeedbackIn,
    IssueCreate,
    ObjectIn,
    PlanIn,
    ResolveIn,
    RoundCreate,
)
from shared.auth import Principal, Role
from shared.calendar import SHANGHAI, WorkCalendar
from shared.runtime import Runtime
from shared.uow import UnitOfWork

__all__ = ["load_demo"]

COMMANDER = Principal(subject="demo-loader", role=Role.COMMANDER)
# The unit a misassigned problem goes to first (it objects), unless that is the right unit.
WRONG_UNIT, OTHER_WRONG_UNIT = "市住房和城乡建设局", "市发展和改革委员会"


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI).astimezone(dt.UTC)


class _Player:
    """Plays one problem's life through the use cases."""

    def __init__(
        self, runtime: Runtime, calendar: WorkCalendar, config: IssuesConfig, rounds: dict[int, str]
    ) -> None:
        self.runtime = runtime
        self.calendar = calendar
        self.config = config
        self.rounds = rounds

    def wd(self, day: dt.date, n: int) -> dt.date:
        return self.calendar.add_workdays(day, n)

    async def play(self, p: DemoProblem) -> None:
        """The problem's whole life in one transaction: each use case joins the unit of work
        (shared/uow.py), as it would open its own."""
        async with self.runtime.uow() as uow:
            await self._play(uow, p)

    async def _play(self, uow: UnitOfWork, p: DemoProblem) -> None:
        cal, cfg = self.calendar, self.config
        reporter = Principal(subject="demo-reporter", role=Role.COUNTY, county=p.county)
        category = demo_data().categories[p.category]
        unit = category.unit
        dept = Principal(subject="demo-unit", role=Role.DEPARTMENT, department=unit)
        complex_ = p.fate in COMPLEX_FATES
        issue = await service.report_issue(
            uow,
            reporter,
            IssueCreate(
                project_id=p.project_id,
                category=p.category,
                title=p.title,
                description=f"{p.title}，影响项目推进，请求协调解决。",
                source=p.source,
                complexity=Complexity.COMPLEX if complex_ else Complexity.GENERAL,
                round_id=self.rounds[p.round_number] if p.round_number else None,
            ),
            _at(p.reported_on, 9),
        )
        if p.fate is Fate.REPORTED:
            return
        iid = issue.id
        c0, c1, c2, _c3 = p.choices
        assigned_on = self.wd(p.reported_on, 1)
        co_units = list(category.co_units)[: c2 % 2]

        async def assign(to: str, on: dt.date) -> None:
            await service.assign(
                uow,
                COMMANDER,
                iid,
                AssignIn(
                    unit=to,
                    co_units=[u for u in co_units if u != to],
                    working_days=None if complex_ else p.working_days,
                ),
                cfg,
                _at(on),
            )

        async def resolve(on: dt.date) -> None:
            await service.resolve(
                uow, dept, iid, ResolveIn(resolution=f"已协调解决：{p.title}"), _at(on, 16)
            )

        async def accept(on: dt.date) -> None:
            await service.give_feedback(
                uow, reporter, iid, FeedbackIn(accepted=True, comment="企业满意"), cfg, _at(on)
            )

        async def close(on: dt.date, verdict: Verdict = Verdict.AGREED) -> None:
            note = "纳入下一阶段统筹解决" if verdict is Verdict.DEFERRED else "问题已解决，同意销号"
            await service.close(
                uow, COMMANDER, iid, CloseIn(verdict=verdict, note=note), _at(on, 17)
            )

        if p.fate is Fate.CLOSED_OBJECTED:
            wrong = WRONG_UNIT if unit != WRONG_UNIT else OTHER_WRONG_UNIT
            await assign(wrong, assigned_on)
            await service.object_to_assignment(
                uow,
                Principal(subject="demo-unit", role=Role.DEPARTMENT, department=wrong),
                iid,
                ObjectIn(reason=f"该事项不属于本单位职责，建议交由{unit}办理"),
                cfg,
                _at(assigned_on, 15),
            )
            assigned_on = self.wd(assigned_on, 1)
        await assign(unit, assigned_on)
        deadline = self.wd(assigned_on, p.working_days)

        if complex_:
            plan_due = self.wd(assigned_on, cfg.plan_working_days)
            if p.fate is Fate.PLAN_LATE:
                return
            planned_on = self.wd(assigned_on, 1 + c0 % cfg.plan_working_days)
            deadline = self.wd(planned_on, 4 if p.fate is Fate.OVERDUE_PLANNED else 8 + c1 % 6)
            await service.submit_plan(
                uow,
                dept,
                iid,
                PlanIn(
                    plan=f"{p.title}：分三步推进，{deadline.isoformat()}前办结", deadline=deadline
                ),
                _at(planned_on),
            )
            assert planned_on <= plan_due
            if p.fate is Fate.OVERDUE_PLANNED:
                return
        if p.fate is Fate.OVERDUE:
            return

        if p.fate is Fate.CLOSED_EXTENDED:
            asked = self.wd(assigned_on, 1 + c0 % max(1, p.working_days - 1))
            await service.extend(
                uow,
                COMMANDER,
                iid,
                ExtendIn(working_days=3, reason="涉及多部门会商，申请延期", requested_on=asked),
                cfg,
                _at(asked, 15),
            )
            deadline = self.wd(deadline, 3)

        if p.fate is Fate.CLOSED_LATE:
            late_on = self.wd(deadline, 1 + c1 % 3)
            # the scan that would have run the night the deadline passed
            await service.flag_overdue(lambda: uow, _at(self.wd(deadline, 1), 1))
            resolved_on = late_on
        else:
            span = cal.workdays_after(assigned_on, deadline)
            resolved_on = self.wd(assigned_on, 1 + c1 % max(1, span))
        await resolve(resolved_on)

        if p.fate is Fate.CLOSED_REOPENED:
            rejected_on = self.wd(resolved_on, 1)
            await service.give_feedback(
                uow,
                reporter,
                iid,
                FeedbackIn(accepted=False, comment="问题未彻底解决，企业仍反映困难"),
                cfg,
                _at(rejected_on),
            )
            resolved_on = self.wd(rejected_on, 1 + c2 % p.working_days)
            await resolve(resolved_on)

        if p.fate is Fate.RESOLVED:
            if c0 % 2:
                await accept(self.wd(resolved_on, 1))
            return
        if p.fate is Fate.CLOSED_DEFERRED:
            await close(self.wd(resolved_on, 1), Verdict.DEFERRED)
            return
        await accept(self.wd(resolved_on, 1))
        await close(self.wd(resolved_on, 2))


async def known_projects(runtime: Runtime) -> list[tuple[str, str]]:
    """The projection's projects still in play, as (id, county) in a stable order."""
    async with runtime.session_factory() as s:
        rows = (
            await s.execute(
                select(ProjectView.id, ProjectView.county)
                .where(ProjectView.withdrawn.is_(False))
                .order_by(ProjectView.name, ProjectView.id)
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


async def load_demo(runtime: Runtime) -> str:
    async with runtime.session_factory() as s:
        if await queries.count_issues(s):
            return "issues: problems already present; demo not loaded again"
    await runtime.catch_up()  # the registry's demo events, into the projection
    projects = await known_projects(runtime)
    if not projects:
        return "issues: no projects known from the registry's events; demo not loaded"
    async with runtime.session_factory() as s:
        calendar = await queries.load_calendar(s)
    data = demo_data()
    rounds: dict[int, str] = {}
    for r in data.rounds:
        row = await service.create_round(
            runtime.uow(),
            COMMANDER,
            RoundCreate(number=r.number, name=r.name, started_on=r.started_on, ended_on=r.ended_on),
            _at(r.started_on, 9),
        )
        rounds[r.number] = row.id
    player = _Player(runtime, calendar, runtime.config, rounds)
    for problem in demo_problems(projects, calendar):
        await player.play(problem)
    overdue = await service.flag_overdue(runtime.uow, _at(data.as_of, 23))
    return (
        f"issues: demo loaded ({data.total} problems over {len(projects)} known projects, "
        f"{len(data.rounds)} supervision rounds, {overdue} flagged overdue on "
        f"{data.as_of.isoformat()})"
    )
