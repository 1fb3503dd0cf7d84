"""`assess` reads the facts through an index built once per `Facts` and shared by every period
assessed on them (a fill assesses 24). Here it is checked against the straightforward reading
of the rules, one period at a time from the raw facts, on random histories: every figure and
every exposure the same, for every month of three years, with and without the lists, for all
divisions and for a few."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import pytest

from services.scoring.domain import exposure
from services.scoring.domain.exposure import Exposure, Thresholds
from services.scoring.domain.facts import ProjectFacts, ReportFacts
from services.scoring.domain.figures import (
    Assessment,
    DivisionFigures,
    FactorSupport,
    Facts,
    _division,
    assess,
)
from services.scoring.domain.periods import Period
from shared.events.catalogue.registry import Level, Stage, Track
from tests.unit.scoring.helpers import (
    COUNTY,
    OTHER,
    Allocation,
    Grant,
    Plan,
    Problem,
    Project,
    Report,
)

ELSEWHERE = "371699"  # a division not assessed: its facts count nowhere
YEARS = (2019, 2020, 2021)
PERIODS = [Period(y, m) for y in YEARS for m in range(1, 13)]


# ---- the rules read straight from the facts (as `assess` read them before the index)
def _live(project: ProjectFacts, period: Period) -> bool:
    if project.stage != Stage.WITHDRAWN:
        return True
    return project.withdrawn_on is not None and project.withdrawn_on > period.last_day


def _months_unstarted(project: ProjectFacts, period: Period) -> int:
    if project.track != Track.IMPLEMENTATION or not _live(project, period):
        return 0
    if not project.planned_start:
        return 0
    if project.actual_start is not None and project.actual_start <= period.last_day:
        return 0
    planned = project.planned_start
    return max(period.index - (planned.year * 12 + planned.month - 1), 0)


def _latest_year_to_date(reports: Sequence[ReportFacts], period: Period) -> dict[str, Decimal]:
    latest: dict[str, tuple[int, Decimal]] = {}
    for r in reports:
        if r.year != period.year or r.month > period.month:
            continue
        if r.project_id not in latest or r.month > latest[r.project_id][0]:
            latest[r.project_id] = (r.month, r.ytd_investment)
    return {pid: amount for pid, (_, amount) in latest.items()}


def straightforward(
    period: Period, facts: Facts, counties: Sequence[str], limits: Thresholds, listing: bool
) -> Assessment:
    known = set(counties)
    projects = {p.project_id: p for p in facts.projects if p.county in known}
    live = {pid: p for pid, p in projects.items() if _live(p, period)}
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
            n["unstarted_projects"] += bool(_months_unstarted(p, period))
        elif found := exposure.unstarted(p, period, limits):
            exposures.append(found)
            n["unstarted_projects"] += 1
    ytd = _latest_year_to_date(facts.reports, period)
    for plan in facts.plans:
        planned = live.get(plan.project_id)
        if planned is None or plan.year != period.year:
            continue
        done = ytd.get(plan.project_id, Decimal(0))
        money[planned.county]["annual_plan"] += plan.annual_investment
        money[planned.county]["ytd_investment"] += done
        if not listing:
            lags = exposure.lag(planned, plan.annual_investment, done, period, limits)
            counters[planned.county]["lagging_projects"] += lags is not None
        elif found := exposure.lagging(planned, plan.annual_investment, done, period, limits):
            exposures.append(found)
            counters[planned.county]["lagging_projects"] += 1
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
        if listing and (
            found := exposure.overdue(problem, period, project.name if project else None)
        ):
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
    figures: dict[str, DivisionFigures] = {
        c: _division(c, period, counters[c], money[c], by_level[c], support[c]) for c in counties
    }
    exposures.sort(
        key=lambda e: (e.kind, e.colour != "red", e.county, e.project_id, e.issue_id or "")
    )
    return Assessment(period=period, figures=figures, exposures=exposures)


# ---- random histories
def _history(seed: int) -> Facts:
    rng = random.Random(seed)

    def day() -> dt.date:  # anywhere in the three years
        return dt.date(rng.choice(YEARS), rng.randint(1, 12), rng.randint(1, 28))

    def maybe_day(chance: float) -> dt.date | None:
        return day() if rng.random() < chance else None

    def amount() -> Decimal:
        return Decimal(rng.randint(0, 50_000)) / rng.choice((1, 10, 100))

    counties = (COUNTY, OTHER, ELSEWHERE)
    projects = []
    for i in range(rng.randint(5, 60)):
        start = maybe_day(0.6)
        projects.append(
            Project(
                f"p{i}",
                county=rng.choice(counties),
                name=f"项目{i}",
                level=rng.choice([None, None, *Level]),
                track=rng.choice([Track.IMPLEMENTATION, Track.IMPLEMENTATION, Track.PREPARATION]),
                stage=rng.choice([Stage.RESERVE, Stage.STARTED, Stage.WITHDRAWN]),
                planned_start=maybe_day(0.8),
                actual_start=start,
                actual_completion=maybe_day(0.3) if start else None,
                withdrawn_on=maybe_day(0.7),
            )
        )
    ids = [p.project_id for p in projects] + ["unknown"]
    plans = [
        Plan(rng.choice(ids), rng.choice(YEARS), amount() if rng.random() < 0.9 else Decimal(0))
        for _ in range(rng.randint(0, 80))  # some projects with two plans in a year
    ]
    reports = [  # some of a month twice
        Report(rng.choice(ids), rng.choice(YEARS), rng.randint(1, 12), amount())
        for _ in range(rng.randint(0, 200))
    ]
    problems = []
    for i in range(rng.randint(0, 30)):
        resolved = maybe_day(0.5)
        problems.append(
            Problem(
                f"i{i}",
                project_id=rng.choice(ids),
                county=rng.choice(counties),
                deadline=maybe_day(0.5),
                reported_on=day(),
                resolved_on=resolved,
                on_time=rng.choice([True, False]) if resolved else None,
                overdue_on=maybe_day(0.4),
                closed_on=maybe_day(0.3),
            )
        )
    allocations = [
        Allocation(
            f"a{i}",
            project_id=rng.choice(ids),
            county=rng.choice(counties),
            factor=rng.choice(("land", "energy")),
            year=rng.choice(YEARS),
            amount=amount(),
            released_on=maybe_day(0.3),
        )
        for i in range(rng.randint(0, 30))
    ]
    grants = [
        Grant(
            f"g{i}",
            county=rng.choice(counties),
            year=rng.choice(YEARS),
            amount=amount(),
            granted_on=day(),
        )
        for i in range(rng.randint(0, 10))
    ]
    return Facts(projects, plans, reports, problems, allocations, grants)


@pytest.mark.parametrize("seed", range(40))
def test_assessing_through_the_shared_index_is_reading_the_facts_straight(seed: int) -> None:
    facts = _history(seed)
    limits = Thresholds(
        unstarted_red_after_months=1 + seed % 4,
        lagging_yellow_points=Decimal(5 + seed % 10),
        lagging_red_points=Decimal(20 + seed % 15),
    )
    for counties in ([COUNTY, OTHER], [OTHER]):
        for listing in (False, True):
            for period in PERIODS:  # the same Facts, so the same index, for every period
                expected = straightforward(period, facts, counties, limits, listing)
                assert assess(period, facts, counties, limits, listing=listing) == expected, (
                    period,
                    counties,
                    listing,
                )
