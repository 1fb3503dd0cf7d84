"""Standings, the pure part: what a read-model row's state marks for computing again, which
periods of which years are kept, and a division's figures and score as a row keeps them (JSON:
decimals as strings, so a figure reads back exactly as computed). `services.scoring.standings`
keeps the rows; see there."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.scoring.domain.exposure import Thresholds
from services.scoring.domain.figures import (
    DivisionFigures,
    FactorSupport,
    Facts,
    Value,
    assess,
)
from services.scoring.domain.periods import Period
from services.scoring.domain.ranking import IndicatorScore, Score, score
from services.scoring.domain.scheme import (
    DEFAULT_SCHEME,
    DEFAULT_VERSION,
    SchemeBody,
    stored_scheme,
)


@dataclass
class Marks:
    """The divisions and years whose figures a transaction's read-model writes changed."""

    epoch: int | None = None
    years: dict[str, set[int]] = field(default_factory=dict)  # county → years
    onward: dict[str, int] = field(default_factory=dict)  # county → every kept year from this
    projects: dict[str, set[int]] = field(default_factory=dict)  # project id → years (plans…)
    plans_of: dict[str, set[str]] = field(default_factory=dict)  # project id → counties

    def __bool__(self) -> bool:
        return bool(self.years or self.onward or self.projects or self.plans_of)

    def county(self, county: str | None, *years: int | None) -> None:
        if county:
            self.years.setdefault(county, set()).update(y for y in years if y is not None)

    def county_onward(self, county: str | None, year: int) -> None:
        if county:
            self.onward[county] = min(year, self.onward.get(county, year))

    def project(self, project_id: str, year: int) -> None:
        self.projects.setdefault(project_id, set()).add(year)


def year_of(day: dt.date | None) -> int | None:
    return day.year if day is not None else None


def mark_project(marks: Marks, value: Callable[[str], Any]) -> None:
    """The periods a project (in one state) can count in: on the key list, every one (every
    kept year, from year 1); else the years of its planned start, start and completion, of its
    plans, and those it is unstarted in (from its planned start until it starts)."""
    county = value("county")
    planned, started = value("planned_start"), value("actual_start")
    dates = (planned, started, value("actual_completion"), value("withdrawn_on"))
    marks.county(county, *(year_of(d) for d in dates))
    marks.plans_of.setdefault(value("project_id"), set()).add(county)
    if value("level"):
        marks.county_onward(county, 1)
    elif planned is not None and started is None:
        marks.county_onward(county, planned.year)
    elif planned is not None and started is not None:
        marks.county(county, *range(planned.year, started.year + 1))


def scheme_digest(scheme: SchemeBody) -> str:
    return hashlib.sha256(scheme.model_dump_json().encode()).hexdigest()[:32]


def months(years: Iterable[int], today: dt.date) -> list[Period]:
    """The kept periods of `years`: their months up to today's."""
    now = Period.of(today)
    return [
        Period(y, m)
        for y in sorted(set(years))
        if y <= now.year
        for m in range(1, 13)
        if Period(y, m) <= now
    ]


def encode_figures(f: DivisionFigures) -> dict[str, Any]:
    def plain(v: Value) -> Any:
        return v if v is None or isinstance(v, int) else str(v)

    return {
        "values": {k: plain(v) for k, v in f.values.items()},
        "by_level": f.key_projects_by_level,
        "support": {k: [s.count, str(s.amount), s.unit] for k, s in f.factor_support.items()},
    }


def decode_figures(county: str, data: Mapping[str, Any]) -> DivisionFigures:
    def value(v: Any) -> Value:
        return Decimal(v) if isinstance(v, str) else v

    return DivisionFigures(
        county=county,
        values={k: value(v) for k, v in data["values"].items()},
        key_projects_by_level=dict(data["by_level"]),
        factor_support={
            k: FactorSupport(count=c, amount=Decimal(a), unit=u)
            for k, (c, a, u) in data["support"].items()
        },
    )


def score_as_kept(row: Any, figures: DivisionFigures, scheme: SchemeBody) -> Score:
    return Score(
        county=row.county,
        indicators=[
            IndicatorScore(i, figures.values[i.metric], rank, Decimal(points))
            for i, (rank, points) in zip(scheme.indicators, json.loads(row.indicators), strict=True)
        ],
        total=Decimal(row.total),
        rank=row.rank,
        tier=row.tier,
    )


@dataclass(frozen=True)
class Kept:
    """A period's kept standings, in the region table's order, as read: the rows with their
    JSON columns (`figures`, `indicators`) as the text stored, decoded only when asked; and the
    version and revision of the stored scheme in effect for the period when they were read
    (None: the default)."""

    rows: dict[str, Any]
    scheme: tuple[str, int] | None

    @functools.cached_property
    def figures(self) -> dict[str, DivisionFigures]:
        return {c: decode_figures(c, json.loads(r.figures)) for c, r in self.rows.items()}

    @property
    def state(self) -> tuple[Any, ...]:
        """The rows as read, which with the scheme in effect (its revision is in each row) is
        all an answer from them depends on: equal states, equal answers."""
        return tuple(tuple(r) for r in self.rows.values())

    def scores(self, version: str, scheme: SchemeBody) -> list[Score]:
        """The kept scores if they are the scheme's, else the kept figures scored by it; in the
        ranking's order (as `ranking.score` gives them)."""
        digest = scheme_digest(scheme)
        if any(
            r.scheme_version != version or r.scheme_digest != digest for r in self.rows.values()
        ):
            return score(scheme, self.figures)
        counties = list(self.figures)
        result = [score_as_kept(self.rows[c], self.figures[c], scheme) for c in counties]
        result.sort(key=lambda s: (s.rank, counties.index(s.county)))
        return result


def fact_years(facts: Facts) -> set[int]:
    """The years the facts are dated in (what `Marks` would mark for them)."""
    years: set[int] = set()
    for p in facts.projects:
        days = (p.planned_start, p.actual_start, p.actual_completion, p.withdrawn_on)
        years.update(d.year for d in days if d is not None)
    for dated in (facts.plans, facts.reports, facts.allocations, facts.grants):
        years.update(r.year for r in dated)
    for q in facts.problems:
        years.update(d.year for d in (q.reported_on, q.overdue_on) if d is not None)
    return years


class SchemesInEffect:
    """The scheme in effect for each period, from the stored schemes read once (the rule of
    `queries.scheme_in_effect`; a read checks the scheme it finds against the kept digest)."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self.rows = sorted(rows, key=lambda s: (s.effective_from, s.set_at))

    def of(self, period: Period) -> tuple[str, SchemeBody]:
        found = [s for s in self.rows if s.effective_from <= str(period)]
        if not found:
            return DEFAULT_VERSION, DEFAULT_SCHEME
        return found[-1].version, stored_scheme(found[-1].body)


def compute_rows(
    facts: Facts,
    kept_figures: Mapping[Period, Mapping[str, Any]],
    needed: Mapping[Period, set[str]],
    codes: list[str],
    own: str,
    thresholds: Thresholds,
    schemes: SchemesInEffect,
) -> dict[Period, dict[str, dict[str, Any]]]:
    """Each period's rows as they should be: the `needed` divisions assessed, the others' kept
    figures as they are, every division scored by the scheme in effect."""
    result: dict[Period, dict[str, dict[str, Any]]] = {}
    for period in sorted(needed):
        figures = {c: decode_figures(c, f) for c, f in kept_figures[period].items()}
        fresh = [c for c in codes if c in needed[period]]
        figures.update(assess(period, facts, fresh, thresholds, listing=False).figures)
        figures = {c: figures[c] for c in codes}
        version, scheme = schemes.of(period)
        digest = scheme_digest(scheme)
        result[period] = {
            s.county: {
                "basis": own,
                "figures": encode_figures(figures[s.county]),
                "scheme_version": version,
                "scheme_digest": digest,
                "indicators": [[i.rank, str(i.points)] for i in s.indicators],
                "total": str(s.total),
                "rank": s.rank,
                "tier": s.tier,
            }
            for s in score(scheme, figures)
        }
    return result
