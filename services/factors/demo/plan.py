"""The demo's plan: the data file's pools, sources and credit lines laid over the projects the
factors service has learnt from the registry's events.

The plan is deterministic: projects are taken in name order, each group as the data file
defines it (by level, a seeded sample of another group, or the first of several groups), and
each draw's total is split with the seeded generator into whole units that add up exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """A project the demo may allocate to, as factors' projection knows it."""

    id: str
    name: str
    county: str
    level: str | None


@dataclass(frozen=True)
class Draw:
    project_id: str
    amount: Decimal
    advance: bool = False
    source: str | None = None  # the key of a replacement source in the data file


@dataclass(frozen=True)
class DemoPool:
    body: dict[str, Any]  # a POST /v1/pools body
    draws: list[Draw] = field(default_factory=list)


@dataclass(frozen=True)
class DemoSource:
    key: str
    body: dict[str, Any]  # a POST /v1/replacement-sources body


@dataclass(frozen=True)
class DemoCredit:
    project_id: str
    year: int
    demand: Decimal
    grants: list[tuple[str, Decimal, dt.date]]  # bank, amount, date
    disbursed: Decimal
    disbursed_on: dt.date


@dataclass(frozen=True)
class FactorDemo:
    sources: list[DemoSource]
    pools: list[DemoPool]
    credit: list[DemoCredit]


def split_total(total: int, n: int, rng: random.Random) -> list[Decimal]:
    """`total` in `n` whole, positive parts of uneven size that add up exactly."""
    weights = [rng.uniform(0.4, 1.6) for _ in range(n)]
    scale = sum(weights)
    parts = [max(1, int(total * w / scale)) for w in weights]
    for i in range(total - sum(parts)):  # hand out what flooring left over
        parts[i % n] += 1
    assert sum(parts) == total and min(parts) > 0
    return [Decimal(p) for p in parts]


def scaled(parts: Sequence[Decimal], total: int) -> list[Decimal]:
    """Whole parts proportional to `parts`, never above them, adding up exactly to `total`."""
    whole = sum(parts, Decimal(0))
    out = [Decimal(int(p * total / whole)) for p in parts]
    i = 0
    while sum(out, Decimal(0)) < total:
        if out[i % len(out)] < parts[i % len(out)]:
            out[i % len(out)] += 1
        i += 1
    return out


def _select(
    groups: Mapping[str, list[Candidate]], spec: Mapping[str, Any]
) -> list[Candidate]:
    """The projects a selection names: its groups (`group` or `of`) one after the other, then
    `start`, `step` and `first` as in a slice."""
    names = [spec["group"]] if "group" in spec else spec["of"]
    chosen = [p for name in names for p in groups[name]]
    chosen = chosen[spec.get("start", 0) :: spec.get("step", 1)]
    return chosen[: spec["first"]] if "first" in spec else chosen


def build(data: Mapping[str, Any], projects: Sequence[Candidate]) -> FactorDemo:
    rng = random.Random(data["seed"])
    by_level: dict[str | None, list[Candidate]] = {}
    for p in sorted(projects, key=lambda p: p.name):
        by_level.setdefault(p.level, []).append(p)

    groups: dict[str, list[Candidate]] = {}
    for g in data["groups"]:
        if "levels" in g:
            groups[g["name"]] = [p for level in g["levels"] for p in by_level.get(level, [])]
        elif "sample_of" in g:
            population = groups[g["sample_of"]]
            groups[g["name"]] = rng.sample(population, min(g["size"], len(population)))
        else:
            groups[g["name"]] = _select(groups, g)

    def draws(spec: Mapping[str, Any]) -> list[Draw]:
        group = _select(groups, spec)
        if not group:
            return []
        amounts = split_total(spec["total"], len(group), rng)
        advance, source = spec.get("advance", False), spec.get("source")
        return [Draw(p.id, a, advance, source) for p, a in zip(group, amounts, strict=True)]

    sources = [
        DemoSource(s["key"], {k: v for k, v in s.items() if k != "key"}) for s in data["sources"]
    ]
    pools = [
        DemoPool(p["pool"], [d for spec in p["draws"] for d in draws(spec)]) for p in data["pools"]
    ]
    return FactorDemo(sources, pools, _credit(data["credit"], groups, rng))


def _credit(
    terms: Mapping[str, Any], groups: Mapping[str, list[Candidate]], rng: random.Random
) -> list[DemoCredit]:
    """The credit lines: demands split over the borrowers, grants and disbursements scaled
    from them; a line from `shared_from` up is granted by two banks in halves."""
    borrowers = _select(groups, terms["borrowers"])
    if not borrowers:
        return []
    demands = split_total(terms["demanded"], len(borrowers), rng)
    granted = scaled(demands, terms["granted"])
    disbursed = scaled(granted, terms["disbursed"])
    banks = terms["banks"]
    first_day = dt.date.fromisoformat(terms["first_granted_on"])
    lines = []
    for i, (p, demand, grant, paid) in enumerate(
        zip(borrowers, demands, granted, disbursed, strict=True)
    ):
        on = first_day + dt.timedelta(days=i)
        if grant >= terms["shared_from"]:
            first = (grant / 2).to_integral_value()
            grants = [
                (banks[i % len(banks)], first, on),
                (banks[(i + 1) % len(banks)], grant - first, on),
            ]
        else:
            grants = [(banks[i % len(banks)], grant, on)]
        paid_on = on + dt.timedelta(days=terms["disbursed_days_after"])
        lines.append(DemoCredit(p.id, terms["year"], demand, grants, paid, paid_on))
    return lines
