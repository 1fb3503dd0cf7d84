"""A division's figures for a period, from the read model's facts (DOMAIN.md "Scores").

Everything is year to date at the period's end and goes by the business dates the events
carried: a start dated 2020-04-10 counts in April 2020 whenever it was entered.

- start rate 开工率 = started / implementation projects planned to start this year (a project
  started before its plan still counts as started); a project counts until the date of its
  withdrawal, so one withdrawn in June is still in April's card;
- investment completion rate 投资完成率 = the year's latest reported year-to-date investment /
  the annual plans, over the projects with a plan this year; lag = that rate − 序时进度; the
  schedule rate 序时进度完成率 = year-to-date investment / (annual plans × month / 12);
- problems: collected this year by the report date; resolved by the resolution date (a reopened
  problem is unresolved again); on time as the resolution was; overdue by the day flagged;
- factor support: allocations against this year's pools (an allocation's business date is its
  pool's year) not released by the period's end, counted and summed per factor; credit granted
  授信 by the grant date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from services.scoring.domain import exposure
from services.scoring.domain.exposure import Exposure, Thresholds
from services.scoring.domain.facts import (
    AllocationFacts,
    GrantFacts,
    PlanFacts,
    ProblemFacts,
    ProjectFacts,
    ReportFacts,
)
from services.scoring.domain.periods import Period
from shared.events.catalogue.registry import Track
from shared.rates import percent

Value = Decimal | int | None


@dataclass
class FactorSupport:
    count: int = 0
    amount: Decimal = Decimal(0)
    unit: str = ""


@dataclass
class DivisionFigures:
    county: str
    values: dict[str, Value] = field(default_factory=dict)
    key_projects_by_level: dict[str, int] = field(default_factory=dict)
    factor_support: dict[str, FactorSupport] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    projects: Sequence[ProjectFacts]
    plans: Sequence[PlanFacts]
    reports: Sequence[ReportFacts]
    problems: Sequence[ProblemFacts]
    allocations: Sequence[AllocationFacts]
    grants: Sequence[GrantFacts]


@dataclass(frozen=True)
class Assessment:
    period: Period
    figures: dict[str, DivisionFigures]  # by county, in the region table's order
    exposures: list[Exposure]


def assess(
    period: Period,
    facts: Facts,
    counties: Sequence[str],
    limits: Thresholds,
    listing: bool = True,
) -> Assessment:
    """The divisions' figures for the period and, if `listing`, its exposure lists (without:
    the same figures, the lists left empty; what kept standings need, at a third less work)."""
    known = set(counties)
    projects = {p.project_id: p for p in facts.projects if p.county in known}
    live = {pid: p for pid, p in projects.items() if exposure.live(p, period)}
    counters: dict[str, dict[str, int]] = {c: defaultdict(int) for c in counties}
    money: dict[str, dict[str, Decimal]] = {c: defaultdict(Decimal) for c in counties}
    by_level: dict[str, dict[str, int]] = {c: defaultdict(int) for c in counties}
    support: dict[str, dict[str, FactorSupport]] = {c: {} for c in counties}
    exposures: list[Exposure] = []

    for p in live.values():
        n = counters[p.county]
        planned_this_year = p.planned_start is not None and p.planned_start.year == period.year
        started_by_end = p.actual_start is not None and p.actual_start <= period.last_day
        if p.track == Track.IMPLEMENTATION and planned_this_year:
            n["planned_starts"] += 1
            n["started"] += started_by_end
        n["new_starts"] += period.in_month(p.actual_start)
        n["new_starts_ytd"] += period.in_year_to_date(p.actual_start)
        n["completions"] += period.in_year_to_date(p.actual_completion)
        if p.level:
            n["key_projects"] += 1
            by_level[p.county][p.level] += 1
        if not listing:
            n["unstarted_projects"] += bool(exposure.months_unstarted(p, period))
        elif found := exposure.unstarted(p, period, limits):
            exposures.append(found)
            n["unstarted_projects"] += 1

    ytd = _latest_year_to_date(facts.reports, period)
    for plan in facts.plans:
        planned = live.get(plan.project_id)
        if planned is None or plan.year != period.year:
            continue
        p = planned
        done = ytd.get(plan.project_id, Decimal(0))
        money[p.county]["annual_plan"] += plan.annual_investment
        money[p.county]["ytd_investment"] += done
        if not listing:
            lags = exposure.lag(p, plan.annual_investment, done, period, limits) is not None
            counters[p.county]["lagging_projects"] += lags
        elif found := exposure.lagging(p, plan.annual_investment, done, period, limits):
            exposures.append(found)
            counters[p.county]["lagging_projects"] += 1

    for problem in facts.problems:
        if problem.county not in known:
            continue
        n = counters[problem.county]
        if period.in_year_to_date(problem.reported_on):
            n["problems_collected"] += 1
            if problem.resolved_on is not None and problem.resolved_on <= period.last_day:
                n["problems_resolved"] += 1
                n["problems_on_time"] += bool(problem.on_time)
        n["problems_overdue"] += period.in_year_to_date(problem.overdue_on)
        project = projects.get(problem.project_id)
        if not listing:
            continue
        if found := exposure.overdue(problem, period, project.name if project else None):
            exposures.append(found)

    for allocation in facts.allocations:
        if allocation.county not in known or allocation.year != period.year:
            continue
        if allocation.released_on is not None and allocation.released_on <= period.last_day:
            continue
        counters[allocation.county]["factor_allocations"] += 1
        s = support[allocation.county].setdefault(
            allocation.factor, FactorSupport(unit=allocation.unit)
        )
        s.count += 1
        s.amount += allocation.amount

    for grant in facts.grants:
        if grant.county in known and grant.year == period.year:
            if grant.granted_on <= period.last_day:
                money[grant.county]["credit_granted"] += grant.amount

    figures = {
        c: _division(c, period, counters[c], money[c], by_level[c], support[c]) for c in counties
    }
    exposures.sort(
        key=lambda e: (e.kind, e.colour != "red", e.county, e.project_id, e.issue_id or "")
    )
    return Assessment(period=period, figures=figures, exposures=exposures)


# The figures that are counted or summed per division; every other one (the rates, the lag, the
# time target) is computed from these, so a combination of divisions is computed, not averaged.
COUNTED = (
    "planned_starts",
    "started",
    "new_starts",
    "new_starts_ytd",
    "completions",
    "key_projects",
    "problems_collected",
    "problems_resolved",
    "problems_on_time",
    "problems_overdue",
    "factor_allocations",
    "unstarted_projects",
    "lagging_projects",
)
SUMMED = ("annual_plan", "ytd_investment", "credit_granted")


def combine(scope: str, period: Period, divisions: Sequence[DivisionFigures]) -> DivisionFigures:
    """The figures of several divisions together (the city's, or one county's own): counts and
    amounts added up, the rates computed from the sums as a division's are."""
    n: dict[str, int] = defaultdict(int)
    money: dict[str, Decimal] = defaultdict(Decimal)
    by_level: dict[str, int] = defaultdict(int)
    support: dict[str, FactorSupport] = {}
    for d in divisions:
        for key in COUNTED:
            n[key] += int(d.values[key] or 0)
        for key in SUMMED:
            money[key] += Decimal(d.values[key] or 0)
        for level, count in d.key_projects_by_level.items():
            by_level[level] += count
        for factor, s in d.factor_support.items():
            total = support.setdefault(factor, FactorSupport(unit=s.unit))
            total.count += s.count
            total.amount += s.amount
    return _division(scope, period, n, money, dict(sorted(by_level.items())), support)


def _latest_year_to_date(reports: Sequence[ReportFacts], period: Period) -> dict[str, Decimal]:
    """Each project's year-to-date investment as its latest report of the year up to the period
    says (a month without a report keeps the last figure: YTD never goes down)."""
    latest: dict[str, tuple[int, Decimal]] = {}
    for r in reports:
        if r.year != period.year or r.month > period.month:
            continue
        if r.project_id not in latest or r.month > latest[r.project_id][0]:
            latest[r.project_id] = (r.month, r.ytd_investment)
    return {pid: amount for pid, (_, amount) in latest.items()}


def _division(
    county: str,
    period: Period,
    n: dict[str, int],
    money: dict[str, Decimal],
    by_level: dict[str, int],
    support: dict[str, FactorSupport],
) -> DivisionFigures:
    plan, done = money["annual_plan"], money["ytd_investment"]
    completion = percent(done, plan)
    target = period.time_target()
    values: dict[str, Value] = {
        "planned_starts": n["planned_starts"],
        "started": n["started"],
        "start_rate": percent(n["started"], n["planned_starts"]),
        "new_starts": n["new_starts"],
        "new_starts_ytd": n["new_starts_ytd"],
        "completions": n["completions"],
        "key_projects": n["key_projects"],
        "annual_plan": plan,
        "ytd_investment": done,
        "investment_completion_rate": completion,
        "time_target": target,
        "schedule_rate": percent(done * 12, plan * period.month),
        "investment_lag": None if completion is None else completion - target,
        "problems_collected": n["problems_collected"],
        "problems_resolved": n["problems_resolved"],
        "problems_on_time": n["problems_on_time"],
        "problems_overdue": n["problems_overdue"],
        "resolution_rate": percent(n["problems_resolved"], n["problems_collected"]),
        "on_time_rate": percent(n["problems_on_time"], n["problems_resolved"]),
        "factor_allocations": n["factor_allocations"],
        "credit_granted": money["credit_granted"],
        "unstarted_projects": n["unstarted_projects"],
        "lagging_projects": n["lagging_projects"],
    }
    return DivisionFigures(
        county=county,
        values=values,
        key_projects_by_level=dict(sorted(by_level.items())),
        factor_support=dict(sorted(support.items())),
    )
