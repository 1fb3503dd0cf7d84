"""The Binzhou spring-2020 problem list for `kuaiche up --demo`: 222 problems over the demo
projects, 196 of them resolved or closed (88.3%), four supervision rounds, a handful overdue.

The issues service does not know the registry: it learns the projects from the registry's
events like in production. So the demo first reads the bus into its projection until nothing
new arrives (the registry's demo was published before, see kuaiche/cli.py), then picks
projects from that projection, ordered by name so the same library gives the same list, and
plays every problem's life through the same use cases an API call runs, each on its own
date in spring 2020 (`random.Random(2020)`, no wall clock). The overdue scan runs as of
2020-04-30 at the end, so the open problems past their deadline carry their flag.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from services.issues import service
from services.issues.config import IssuesConfig, load_config
from services.issues.domain.calendar import SHANGHAI, WorkCalendar
from services.issues.domain.enums import Category, Complexity, Source, Verdict
from services.issues.models import KnownProject
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
from shared.runtime import Runtime

SEED = 2020
AS_OF = dt.date(2020, 4, 30)
COMMANDER = Principal(subject="demo-loader", role=Role.COMMANDER)

ROUNDS: tuple[tuple[int, str, dt.date, dt.date], ...] = (
    (1, "第一轮巡回督导", dt.date(2020, 2, 17), dt.date(2020, 2, 28)),
    (2, "第二轮巡回督导", dt.date(2020, 3, 9), dt.date(2020, 3, 20)),
    (3, "第三轮巡回督导", dt.date(2020, 3, 30), dt.date(2020, 4, 10)),
    (4, "第四轮巡回督导", dt.date(2020, 4, 20), dt.date(2020, 4, 30)),
)

# How each problem's life goes, and how many have it: 160 closed + 36 resolved = 196 of 222.
FATES: tuple[tuple[str, int], ...] = (
    ("closed", 100),
    ("closed_late", 10),
    ("closed_extended", 8),
    ("closed_reopened", 8),
    ("closed_objected", 4),
    ("closed_deferred", 10),
    ("closed_complex", 20),
    ("resolved", 36),
    ("reported", 18),
    # the open ones last: a scan run for a late problem must not flag them early
    ("overdue", 4),
    ("overdue_planned", 2),
    ("plan_late", 2),
)
TOTAL = sum(n for _, n in FATES)  # 222

UNITS: dict[Category, str] = {
    Category.LAND: "市自然资源和规划局",
    Category.ENERGY: "市发展和改革委员会",
    Category.ENVIRONMENTAL_CAPACITY: "市生态环境局",
    Category.WATER: "市水利局",
    Category.FUNDS: "市地方金融监督管理局",
    Category.APPROVALS: "市行政审批服务局",
    Category.UTILITIES: "市住房和城乡建设局",
    Category.DEMOLITION: "市住房和城乡建设局",
    Category.CONSTRUCTION: "市住房和城乡建设局",
    Category.OTHER: "市发展和改革委员会",
}
CO_UNITS: dict[Category, tuple[str, ...]] = {
    Category.UTILITIES: ("国网滨州供电公司", "市城市管理局"),
    Category.FUNDS: ("人民银行滨州市中心支行",),
    Category.LAND: ("市生态环境局",),
}
WEIGHTS: dict[Category, float] = {
    Category.LAND: 20,
    Category.ENERGY: 10,
    Category.ENVIRONMENTAL_CAPACITY: 10,
    Category.WATER: 6,
    Category.FUNDS: 14,
    Category.APPROVALS: 16,
    Category.UTILITIES: 10,
    Category.DEMOLITION: 6,
    Category.CONSTRUCTION: 5,
    Category.OTHER: 3,
}
TITLES: dict[Category, tuple[str, ...]] = {
    Category.LAND: ("用地指标不足", "土地组卷报批进度慢", "林地占用手续未办结"),
    Category.ENERGY: ("能耗指标缺口", "节能审查未通过", "用能权指标待调剂"),
    Category.ENVIRONMENTAL_CAPACITY: ("主要污染物总量替代不足", "环评批复待办", "排污许可待核发"),
    Category.WATER: ("取水许可未批复", "用水指标不足"),
    Category.FUNDS: ("项目贷款审批慢", "专项债资金未到位", "流动资金缺口"),
    Category.APPROVALS: ("施工许可办理慢", "规划许可待批", "消防审验待办"),
    Category.UTILITIES: ("供电线路未接入", "天然气管网未通", "供热接口未落实"),
    Category.DEMOLITION: ("地上附着物征迁未完成", "征迁补偿分歧"),
    Category.CONSTRUCTION: ("施工用工短缺", "建材运输受阻"),
    Category.OTHER: ("配套道路未打通", "外籍技术人员入境受阻"),
}
SOURCES: dict[Source, float] = {
    Source.ENTERPRISE: 30,
    Source.SERVICE_OFFICER: 20,
    Source.SUPERVISION_ROUND: 25,
    Source.TASK_FORCE: 10,
    Source.COUNTY: 15,
}


@dataclass(frozen=True)
class DemoProblem:
    project_id: str
    county: str
    fate: str
    category: Category
    source: Source
    round_number: int | None
    title: str
    reported_on: dt.date
    working_days: int
    choices: tuple[int, ...] = field(default_factory=tuple)  # per-fate picks, fixed up front


def _workdays(calendar: WorkCalendar, first: dt.date, last: dt.date) -> list[dt.date]:
    days, day = [], first
    while day <= last:
        if calendar.is_workday(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _reported_window(fate: str) -> tuple[dt.date, dt.date]:
    if fate == "reported":
        return dt.date(2020, 4, 27), AS_OF
    if fate in ("overdue", "overdue_planned"):
        return dt.date(2020, 4, 1), dt.date(2020, 4, 14)
    if fate == "plan_late":
        return dt.date(2020, 4, 20), dt.date(2020, 4, 23)
    return dt.date(2020, 2, 10), dt.date(2020, 4, 3)


def demo_problems(projects: Sequence[tuple[str, str]], calendar: WorkCalendar) -> list[DemoProblem]:
    """The problem list (pure): `projects` are (id, county) in a stable order."""
    rng = random.Random(SEED)
    categories = list(WEIGHTS)
    sources = list(SOURCES)
    out: list[DemoProblem] = []
    for fate, count in FATES:
        days = _workdays(calendar, *_reported_window(fate))
        for _ in range(count):
            project_id, county = projects[rng.randrange(len(projects))]
            category = rng.choices(categories, weights=[WEIGHTS[c] for c in categories])[0]
            source = rng.choices(sources, weights=[SOURCES[s] for s in sources])[0]
            reported_on = rng.choice(days)
            round_number = None
            if source is Source.SUPERVISION_ROUND:
                started = [n for n, _, start, _ in ROUNDS if start <= reported_on]
                if started:
                    round_number = started[-1]
                else:
                    source = Source.ENTERPRISE
            out.append(
                DemoProblem(
                    project_id=project_id,
                    county=county,
                    fate=fate,
                    category=category,
                    source=source,
                    round_number=round_number,
                    title=rng.choice(TITLES[category]),
                    reported_on=reported_on,
                    working_days=rng.choice((3, 4, 5)),
                    choices=tuple(rng.randrange(1_000) for _ in range(4)),
                )
            )
    return out


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
        rt, cal, cfg = self.runtime, self.calendar, self.config
        reporter = Principal(subject="demo-reporter", role=Role.COUNTY, county=p.county)
        unit = UNITS[p.category]
        dept = Principal(subject="demo-unit", role=Role.DEPARTMENT, department=unit)
        complex_ = p.fate in ("closed_complex", "overdue_planned", "plan_late")
        issue = await service.report_issue(
            rt.uow(),
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
        if p.fate == "reported":
            return
        iid = issue.id
        c0, c1, c2, _c3 = p.choices
        assigned_on = self.wd(p.reported_on, 1)
        co_units = list(CO_UNITS.get(p.category, ()))[: c2 % 2]

        async def assign(to: str, on: dt.date) -> None:
            await service.assign(
                rt.uow(),
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
                rt.uow(), dept, iid, ResolveIn(resolution=f"已协调解决：{p.title}"), _at(on, 16)
            )

        async def accept(on: dt.date) -> None:
            await service.give_feedback(
                rt.uow(), reporter, iid, FeedbackIn(accepted=True, comment="企业满意"), cfg, _at(on)
            )

        async def close(on: dt.date, verdict: Verdict = Verdict.AGREED) -> None:
            note = "纳入下一阶段统筹解决" if verdict is Verdict.DEFERRED else "问题已解决，同意销号"
            await service.close(
                rt.uow(), COMMANDER, iid, CloseIn(verdict=verdict, note=note), _at(on, 17)
            )

        if p.fate == "closed_objected":
            wrong = "市住房和城乡建设局" if unit != "市住房和城乡建设局" else "市发展和改革委员会"
            await assign(wrong, assigned_on)
            await service.object_to_assignment(
                rt.uow(),
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
            if p.fate == "plan_late":
                return
            planned_on = self.wd(assigned_on, 1 + c0 % cfg.plan_working_days)
            deadline = self.wd(planned_on, 4 if p.fate == "overdue_planned" else 8 + c1 % 6)
            await service.submit_plan(
                rt.uow(),
                dept,
                iid,
                PlanIn(
                    plan=f"{p.title}：分三步推进，{deadline.isoformat()}前办结", deadline=deadline
                ),
                _at(planned_on),
            )
            assert planned_on <= plan_due
            if p.fate == "overdue_planned":
                return
        if p.fate == "overdue":
            return

        if p.fate == "closed_extended":
            asked = self.wd(assigned_on, 1 + c0 % max(1, p.working_days - 1))
            await service.extend(
                rt.uow(),
                COMMANDER,
                iid,
                ExtendIn(working_days=3, reason="涉及多部门会商，申请延期", requested_on=asked),
                cfg,
                _at(asked, 15),
            )
            deadline = self.wd(deadline, 3)

        if p.fate == "closed_late":
            late_on = self.wd(deadline, 1 + c1 % 3)
            # the scan that would have run the night the deadline passed
            await service.flag_overdue(rt.uow, _at(self.wd(deadline, 1), 1))
            resolved_on = late_on
        else:
            span = cal.workdays_after(assigned_on, deadline)
            resolved_on = self.wd(assigned_on, 1 + c1 % max(1, span))
        await resolve(resolved_on)

        if p.fate == "closed_reopened":
            rejected_on = self.wd(resolved_on, 1)
            await service.give_feedback(
                rt.uow(),
                reporter,
                iid,
                FeedbackIn(accepted=False, comment="问题未彻底解决，企业仍反映困难"),
                cfg,
                _at(rejected_on),
            )
            resolved_on = self.wd(rejected_on, 1 + c2 % p.working_days)
            await resolve(resolved_on)

        if p.fate == "resolved":
            if c0 % 2:
                await accept(self.wd(resolved_on, 1))
            return
        if p.fate == "closed_deferred":
            await close(self.wd(resolved_on, 1), Verdict.DEFERRED)
            return
        await accept(self.wd(resolved_on, 1))
        await close(self.wd(resolved_on, 2))


async def known_projects(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.session_factory() as s:
        rows = (
            await s.execute(
                select(KnownProject.id, KnownProject.county)
                .where(KnownProject.withdrawn.is_(False))
                .order_by(KnownProject.name, KnownProject.id)
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


async def load_demo(runtime: Runtime) -> str:
    async with runtime.session_factory() as s:
        if await service.count_issues(s):
            return "issues: problems already present; demo not loaded again"
    await runtime.catch_up()  # the registry's demo events, into the projection
    projects = await known_projects(runtime)
    if not projects:
        return "issues: no projects known from the registry's events; demo not loaded"
    async with runtime.session_factory() as s:
        calendar = await service.load_calendar(s)
    config = load_config()
    rounds: dict[int, str] = {}
    for number, name, started, ended in ROUNDS:
        row = await service.create_round(
            runtime.uow(),
            COMMANDER,
            RoundCreate(number=number, name=name, started_on=started, ended_on=ended),
            _at(started, 9),
        )
        rounds[number] = row.id
    player = _Player(runtime, calendar, config, rounds)
    for problem in demo_problems(projects, calendar):
        await player.play(problem)
    overdue = await service.flag_overdue(runtime.uow, _at(AS_OF, 23))
    return (
        f"issues: demo loaded ({TOTAL} problems over {len(projects)} known projects, "
        f"{len(ROUNDS)} supervision rounds, {overdue} flagged overdue on {AS_OF.isoformat()})"
    )
