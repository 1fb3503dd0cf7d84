"""The demo's problem list, drawn from `problems.json` (pure: no I/O beyond reading that file).

`problems.json` holds the supervision rounds, how each problem's life goes (its fate) and how
many have it (160 closed + 36 resolved = 196 of 222), when each fate's problems were reported,
and per category the responsible unit, co-units, weight and titles. The fates are played in the
file's order: the open ones come last, so the scan run for a late problem does not flag them
early. The draw is `random.Random(seed)` over the projects in a stable order: the same library
gives the same list.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any

from services.issues.domain.enums import Category, Source
from shared.calendar import WorkCalendar


class Fate(StrEnum):
    """How a demo problem's life goes."""

    CLOSED = "closed"
    CLOSED_LATE = "closed_late"  # resolved after its deadline, flagged overdue meanwhile
    CLOSED_EXTENDED = "closed_extended"  # an extension of 3 working days first
    CLOSED_REOPENED = "closed_reopened"  # the reporter rejects the first resolution
    CLOSED_OBJECTED = "closed_objected"  # the first unit objects; reassigned
    CLOSED_DEFERRED = "closed_deferred"  # closed with the verdict "deferred" 暂缓销号
    CLOSED_COMPLEX = "closed_complex"  # a complex problem, through its plan
    RESOLVED = "resolved"  # awaiting closing (half of them accepted by the reporter)
    REPORTED = "reported"  # awaiting assignment
    OVERDUE = "overdue"  # assigned, its deadline passed
    OVERDUE_PLANNED = "overdue_planned"  # a complex one whose planned deadline passed
    PLAN_LATE = "plan_late"  # a complex one whose plan is late (yellow)


COMPLEX_FATES = frozenset({Fate.CLOSED_COMPLEX, Fate.OVERDUE_PLANNED, Fate.PLAN_LATE})


@dataclass(frozen=True)
class DemoRound:
    number: int
    name: str
    started_on: dt.date
    ended_on: dt.date


@dataclass(frozen=True)
class FatePlan:
    fate: Fate
    count: int
    reported_from: dt.date
    reported_to: dt.date


@dataclass(frozen=True)
class CategoryPlan:
    weight: float
    unit: str
    co_units: tuple[str, ...]
    titles: tuple[str, ...]


@dataclass(frozen=True)
class DemoData:
    seed: int
    as_of: dt.date
    rounds: tuple[DemoRound, ...]
    fates: tuple[FatePlan, ...]
    categories: dict[Category, CategoryPlan]
    sources: dict[Source, float]

    @property
    def total(self) -> int:
        return sum(f.count for f in self.fates)


@functools.cache
def demo_data() -> DemoData:
    raw: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("problems.json").read_text(encoding="utf-8")
    )
    day = dt.date.fromisoformat
    return DemoData(
        seed=raw["seed"],
        as_of=day(raw["as_of"]),
        rounds=tuple(
            DemoRound(r["number"], r["name"], day(r["started_on"]), day(r["ended_on"]))
            for r in raw["rounds"]
        ),
        fates=tuple(
            FatePlan(Fate(f["fate"]), f["count"], day(f["reported_from"]), day(f["reported_to"]))
            for f in raw["fates"]
        ),
        categories={
            Category(k): CategoryPlan(
                v["weight"], v["unit"], tuple(v["co_units"]), tuple(v["titles"])
            )
            for k, v in raw["categories"].items()
        },
        sources={Source(k): w for k, w in raw["sources"].items()},
    )


@dataclass(frozen=True)
class DemoProblem:
    project_id: str
    county: str
    fate: Fate
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


def demo_problems(projects: Sequence[tuple[str, str]], calendar: WorkCalendar) -> list[DemoProblem]:
    """The problem list: `projects` are (id, county) in a stable order."""
    data = demo_data()
    rng = random.Random(data.seed)
    categories = list(data.categories)
    weights = [data.categories[c].weight for c in categories]
    sources = list(data.sources)
    source_weights = [data.sources[s] for s in sources]
    out: list[DemoProblem] = []
    for plan in data.fates:
        days = _workdays(calendar, plan.reported_from, plan.reported_to)
        for _ in range(plan.count):
            project_id, county = projects[rng.randrange(len(projects))]
            category = rng.choices(categories, weights=weights)[0]
            source = rng.choices(sources, weights=source_weights)[0]
            reported_on = rng.choice(days)
            round_number = None
            if source is Source.SUPERVISION_ROUND:
                started = [r.number for r in data.rounds if r.started_on <= reported_on]
                if started:
                    round_number = started[-1]
                else:
                    source = Source.ENTERPRISE
            out.append(
                DemoProblem(
                    project_id=project_id,
                    county=county,
                    fate=plan.fate,
                    category=category,
                    source=source,
                    round_number=round_number,
                    title=rng.choice(data.categories[category].titles),
                    reported_on=reported_on,
                    working_days=rng.choice((3, 4, 5)),
                    choices=tuple(rng.randrange(1_000) for _ in range(4)),
                )
            )
    return out
