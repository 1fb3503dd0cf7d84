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

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple, Protocol, TypeVar

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
from shared.amounts import canonical
from shared.rates import percent

Value = Decimal | int | None
ZERO = Decimal(0)


class _OfAYear(Protocol):
    @property
    def year(self) -> int: ...


_Dated = TypeVar("_Dated", bound=_OfAYear)


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

    @cached_property  # (frozen: the facts are not to change once assessed)
    def index(self) -> FactIndex:
        """What `assess` needs of the facts whatever the period, found once: a fill assesses
        the same facts for every month of every year."""
        return FactIndex(self)


class FactIndex:
    """The facts sorted out by what a period selects them by: the projects by division (one per
    id, the last) with what every period reads of them worked out, the plans, reports,
    allocations and grants by year, and each project's year-to-date investment at the end of
    each month."""

    def __init__(self, facts: Facts) -> None:
        self.projects = {p.project_id: p for p in facts.projects}
        self.by_county: dict[str, list[_Project]] = defaultdict(list)
        for p in self.projects.values():
            due = exposure.planned_month(p)
            self.by_county[p.county].append(
                _Project(
                    facts=p,
                    counts_until=exposure.counts_until(p),
                    planned_month=due,
                    planned_year=None if due is None else due // 12,
                    start=p.actual_start,
                    completion=p.actual_completion,
                    level=p.level,
                )
            )
        self.plans = _by_year(facts.plans)
        self.reports = _by_year(facts.reports)
        self.allocations = _by_year(facts.allocations)
        self.grants = _by_year(facts.grants)
        self._ytd: dict[int, list[dict[str, Decimal]]] = {}

    def year_to_date(self, period: Period) -> dict[str, Decimal]:
        """Each project's year-to-date investment as its latest report of the year up to the
        period says (a month without a report keeps the last figure: YTD never goes down; of
        two reports of a month, the first)."""
        months = self._ytd.get(period.year)
        if months is None:
            first: list[dict[str, Decimal]] = [{} for _ in range(13)]
            for r in self.reports.get(period.year, ()):
                first[r.month].setdefault(r.project_id, r.ytd_investment)
            months = [first[0]]
            for month in range(1, 13):
                months.append(months[-1] | first[month])
            self._ytd[period.year] = months
        return months[period.month]


class _Project(NamedTuple):
    """A project's facts as a period reads them (`FactIndex`)."""

    facts: ProjectFacts
    counts_until: dt.date | None  # `exposure.counts_until`
    planned_month: int | None  # `exposure.planned_month`
    planned_year: int | None  # the year of `planned_month`: in that year's start rate
    start: dt.date | None
    completion: dt.date | None
    level: str | None


def _by_year(rows: Sequence[_Dated]) -> dict[int, list[_Dated]]:
    found: dict[int, list[_Dated]] = defaultdict(list)
    for r in rows:
        found[r.year].append(r)
    return found


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
    index = facts.index
    counters: dict[str, dict[str, int]] = {c: defaultdict(int) for c in counties}
    money: dict[str, dict[str, Decimal]] = {c: defaultdict(Decimal) for c in counties}
    by_level: dict[str, dict[str, int]] = {c: defaultdict(int) for c in counties}
    support: dict[str, dict[str, FactorSupport]] = {c: {} for c in counties}
    exposures: list[Exposure] = []

    year, first, last, month = period.year, period.first_day, period.last_day, period.index
    year_start = period.year_start
    live: dict[str, ProjectFacts] = {}
    building: set[str] = set()  # started by the period's end, not completed: can be lagging
    for county, n in counters.items():
        levels = by_level[county]
        planned = started = new = new_ytd = completed = key = late = 0
        for p, until, due, planned_year, start, completion, level in index.by_county.get(
            county, ()
        ):
            if until is not None and until <= last:
                continue  # withdrawn by the period's end (`exposure.live`)
            live[p.project_id] = p
            started_by_end = start is not None and start <= last
            if planned_year == year:  # an implementation project planned to start this year
                planned += 1
                started += started_by_end
            if start is not None and year_start <= start <= last:
                new_ytd += 1
                new += start >= first
            if completion is not None and year_start <= completion <= last:
                completed += 1
            if started_by_end and (completion is None or completion > last):
                building.add(p.project_id)
            if level:
                key += 1
                levels[level] += 1
            if listing:
                if found := exposure.unstarted(p, period, limits):
                    exposures.append(found)
                    late += 1
            elif due is not None and not started_by_end and month > due:  # months_unstarted
                late += 1
        n["planned_starts"] += planned
        n["started"] += started
        n["new_starts"] += new
        n["new_starts_ytd"] += new_ytd
        n["completions"] += completed
        n["key_projects"] += key
        n["unstarted_projects"] += late

    ytd = index.year_to_date(period)
    for plan in index.plans.get(year, ()):
        planned_project = live.get(plan.project_id)
        if planned_project is None:
            continue
        p = planned_project
        done = ytd.get(plan.project_id, ZERO)
        money[p.county]["annual_plan"] += plan.annual_investment
        money[p.county]["ytd_investment"] += done
        if not listing:
            if p.project_id in building:  # live, in construction: else `exposure.lag` says None
                lags = exposure.behind_schedule(plan.annual_investment, done, period, limits)
                counters[p.county]["lagging_projects"] += lags is not None
        elif found := exposure.lagging(p, plan.annual_investment, done, period, limits):
            exposures.append(found)
            counters[p.county]["lagging_projects"] += 1

    for problem in facts.problems:
        if problem.county not in counters:
            continue
        n = counters[problem.county]
        if period.in_year_to_date(problem.reported_on):
            n["problems_collected"] += 1
            if problem.resolved_on is not None and problem.resolved_on <= period.last_day:
                n["problems_resolved"] += 1
                n["problems_on_time"] += bool(problem.on_time)
        n["problems_overdue"] += period.in_year_to_date(problem.overdue_on)
        if not listing:
            continue
        project = index.projects.get(problem.project_id)
        name = project.name if project and project.county in counters else None
        if found := exposure.overdue(problem, period, name):
            exposures.append(found)

    for allocation in index.allocations.get(period.year, ()):
        if allocation.county not in counters:
            continue
        if allocation.released_on is not None and allocation.released_on <= period.last_day:
            continue
        counters[allocation.county]["factor_allocations"] += 1
        s = support[allocation.county].setdefault(
            allocation.factor, FactorSupport(unit=allocation.unit)
        )
        s.count += 1
        s.amount += allocation.amount

    for grant in index.grants.get(period.year, ()):
        if grant.county in counters and grant.granted_on <= period.last_day:
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


def _division(
    county: str,
    period: Period,
    n: dict[str, int],
    money: dict[str, Decimal],
    by_level: dict[str, int],
    support: dict[str, FactorSupport],
) -> DivisionFigures:
    # the sums' text must not depend on where their terms came from (a row read back from the
    # database has the column's scale; one a batch or a rebuild's fold just made, the event's)
    plan, done = canonical(money["annual_plan"]), canonical(money["ytd_investment"])
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
        "credit_granted": canonical(money["credit_granted"]),
        "unstarted_projects": n["unstarted_projects"],
        "lagging_projects": n["lagging_projects"],
    }
    return DivisionFigures(
        county=county,
        values=values,
        key_projects_by_level=dict(sorted(by_level.items())),
        factor_support={
            k: FactorSupport(s.count, canonical(s.amount), s.unit) for k, s in sorted(support.items())
        },
    )
