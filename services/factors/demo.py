"""The Binzhou 2020 factor figures of the demo (要素跟着项目走), as a plan over the projects the
factors service has learnt from the registry's events.

From the source article (DOMAIN.md's seed figures):
- the province's coordinated land pool covers the 10 provincial major construction projects'
  1,928 亩 of new land quota;
- 13 other provincial projects (3 preparation, 6 preferred, 4 investment-attraction), 52 city key
  and 6 city infrastructure projects got 3,603 亩 in advance (预支) from the quota the province
  issued the city for 2019: 81.6% of it, so that quota is 4,415 亩;
- 44 projects with credit needs were granted 17.4 亿元 of credit.
The rest (the city's 2020 land, energy, pollutant and water pools, the replacement sources with
2:1 replacement for air pollutants, credit demanded and disbursed) is ours and only plausible.

The plan is deterministic: projects are taken in name order, and amounts are split with a
seeded generator into whole units that add up exactly to the totals above.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from shared.events.catalogue.registry import Level

SEED = 2020


@dataclass(frozen=True)
class KnownProject:
    id: str
    name: str
    county: str
    level: str | None


@dataclass(frozen=True)
class Draw:
    project_id: str
    amount: Decimal
    advance: bool = False
    source: str | None = None  # a DemoSource.name, for pollutants


@dataclass(frozen=True)
class DemoPool:
    body: dict[str, object]  # a POST /v1/pools body
    draws: list[Draw] = field(default_factory=list)


@dataclass(frozen=True)
class DemoSource:
    body: dict[str, object]  # a POST /v1/replacement-sources body

    @property
    def name(self) -> str:
        return str(self.body["name"])


@dataclass(frozen=True)
class DemoCredit:
    project_id: str
    demand: Decimal
    grants: list[tuple[str, Decimal, dt.date]]  # bank, amount, date
    disbursed: Decimal
    disbursed_on: dt.date


@dataclass(frozen=True)
class FactorDemo:
    sources: list[DemoSource]
    pools: list[DemoPool]
    credit: list[DemoCredit]


BANKS = (
    "中国工商银行滨州分行",
    "中国农业银行滨州分行",
    "中国银行滨州分行",
    "中国建设银行滨州分行",
    "滨州农村商业银行",
    "恒丰银行滨州分行",
)

CREDIT_PROJECTS = 44
CREDIT_DEMANDED = 236_000  # 万元 (23.6 亿元)
CREDIT_GRANTED = 174_000  # 万元 (17.4 亿元, the article's figure)
CREDIT_DISBURSED = 98_000  # 万元


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


def build(projects: Sequence[KnownProject]) -> FactorDemo:
    rng = random.Random(SEED)
    by_level: dict[str | None, list[KnownProject]] = {}
    for p in sorted(projects, key=lambda p: p.name):
        by_level.setdefault(p.level, []).append(p)

    def level(*levels: Level) -> list[KnownProject]:
        return [p for lvl in levels for p in by_level.get(lvl, [])]

    provincial_major = level(Level.PROVINCIAL_MAJOR_CONSTRUCTION)
    other_provincial = level(
        Level.PROVINCIAL_MAJOR_PREPARATION, Level.PROVINCIAL_PREFERRED, Level.INVESTMENT_ATTRACTION
    )
    city_key = level(Level.CITY_KEY)
    city_infrastructure = level(Level.CITY_INFRASTRUCTURE)
    county_key = level(Level.COUNTY_KEY)
    some_county_key = rng.sample(county_key, min(40, len(county_key)))

    def draws(
        group: Sequence[KnownProject], total: int, advance: bool = False, source: str | None = None
    ) -> list[Draw]:
        if not group:
            return []
        return [
            Draw(p.id, amount, advance, source)
            for p, amount in zip(group, split_total(total, len(group), rng), strict=True)
        ]

    land = [
        DemoPool(
            {
                "factor": "land",
                "year": 2020,
                "scope": "provincial",
                "amount": "1928",
                "name": "2020年省重大建设项目新增建设用地计划指标（省级统筹）",
            },
            draws(provincial_major, 1928),
        ),
        DemoPool(
            {
                "factor": "land",
                "year": 2019,
                "scope": "city",
                "amount": "4415",
                "name": "2019年省下达滨州市新增建设用地计划指标",
                "ring_fences": [{"min_level": "city_key", "amount": "2000"}],
            },
            draws(other_provincial, 1100, advance=True)
            + draws(city_key, 2200, advance=True)
            + draws(city_infrastructure, 303, advance=True),
        ),
        DemoPool(
            {
                "factor": "land",
                "year": 2020,
                "scope": "city",
                "amount": "5200",
                "name": "2020年滨州市新增建设用地计划指标",
                "ring_fences": [{"min_level": "city_key", "amount": "1500"}],
                "advance_share": "30",
            },
            draws(some_county_key, 2356),
        ),
    ]
    energy = [
        DemoPool(
            {"factor": "energy", "year": 2020, "scope": "provincial", "amount": "600000"},
            draws(provincial_major, 452_000),
        ),
        DemoPool(
            {
                "factor": "energy",
                "year": 2020,
                "scope": "city",
                "amount": "1200000",
                "advance_share": "20",
            },
            draws(city_key, 512_600) + draws(some_county_key[:20], 123_900),
        ),
    ]
    sources = [
        DemoSource(
            {
                "pollutant": pollutant,
                "name": f"{plant}（{pollutant}）",
                "kind": kind,
                "county": county,
                "amount": amount,
            }
        )
        for pollutant, plant, kind, county, amount in (
            ("SO2", "滨州某热电厂1#、2#燃煤机组关停", "closed", "371602", "1200"),
            ("NOx", "滨州某热电厂1#、2#燃煤机组关停", "closed", "371602", "1500"),
            ("particulates", "滨州某热电厂1#、2#燃煤机组关停", "closed", "371602", "300"),
            ("VOCs", "邹平某化工企业提标改造", "retrofitted", "371681", "500"),
            ("COD", "博兴某造纸企业提标改造", "retrofitted", "371625", "400"),
            ("NH3N", "博兴某造纸企业提标改造", "retrofitted", "371625", "40"),
        )
    ]
    emitters = (provincial_major + city_key)[:24]
    pollutants = [
        DemoPool(
            {
                "factor": "pollutant",
                "pollutant": s.body["pollutant"],
                "year": 2020,
                "scope": "city",
                "amount": pool_amount,
            },
            draws(emitters[i::2], new_emissions, source=s.name),
        )
        for i, (s, pool_amount, new_emissions) in enumerate(
            zip(
                sources,
                ("1800", "2200", "500", "800", "600", "60"),
                (420, 510, 95, 160, 150, 12),
                strict=True,
            )
        )
    ]
    water = [
        DemoPool(
            {"factor": "water", "year": 2020, "scope": "city", "amount": "3500"},
            draws((city_key + city_infrastructure)[:30], 1862),
        )
    ]

    borrowers = (other_provincial + city_key + some_county_key)[:CREDIT_PROJECTS]
    demands = split_total(CREDIT_DEMANDED, len(borrowers), rng) if borrowers else []
    granted = scaled(demands, CREDIT_GRANTED) if borrowers else []
    disbursed = scaled(granted, CREDIT_DISBURSED) if borrowers else []
    credit = []
    for i, (p, demand, grant, paid) in enumerate(
        zip(borrowers, demands, granted, disbursed, strict=True)
    ):
        on = dt.date(2020, 3, 1) + dt.timedelta(days=i)
        if grant >= 4000:  # a large line is shared by two banks
            first = (grant / 2).to_integral_value()
            grants = [(BANKS[i % 6], first, on), (BANKS[(i + 1) % 6], grant - first, on)]
        else:
            grants = [(BANKS[i % 6], grant, on)]
        credit.append(DemoCredit(p.id, demand, grants, paid, on + dt.timedelta(days=20)))
    return FactorDemo(sources, land + energy + pollutants + water, credit)
