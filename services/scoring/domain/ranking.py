"""Scores and ranks: every division's indicators scored by the scheme, the total, the rank (ties
in the total broken by the scheme's tie-break indicator's raw value, in that metric's better
direction; still tied, the divisions share the rank) and the reward tier."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.scoring.domain.figures import DivisionFigures, Value
from services.scoring.domain.formulas import RankBands
from services.scoring.domain.metrics import Metric
from services.scoring.domain.scheme import Indicator, SchemeBody

CENT = Decimal("0.01")


@dataclass(frozen=True)
class IndicatorScore:
    indicator: Indicator
    value: Value
    rank: int | None  # the division's rank on the metric (rank bands only)
    points: Decimal


@dataclass(frozen=True)
class Score:
    county: str
    indicators: list[IndicatorScore]
    total: Decimal
    rank: int
    tier: str | None


def competition_ranks(
    items: Sequence[str], key: Callable[[str], tuple], *, reverse: bool = False
) -> dict[str, int]:
    """1224 ranking: equal keys share the better rank."""
    ordered = sorted(items, key=key, reverse=reverse)
    ranks: dict[str, int] = {}
    for position, item in enumerate(ordered, start=1):
        if position > 1 and key(item) == key(ordered[position - 2]):
            ranks[item] = ranks[ordered[position - 2]]
        else:
            ranks[item] = position
    return ranks


def _better_first(metric: Metric, value: Value) -> tuple:
    """A sort key putting the better value first and a missing value last."""
    if value is None:
        return (1, Decimal(0))
    v = Decimal(value)
    return (0, -v if metric.higher_is_better else v)


def _ranks_on(indicator: Indicator, figures: Mapping[str, DivisionFigures]) -> dict[str, int]:
    metric = indicator.measure
    return competition_ranks(
        list(figures), lambda c: _better_first(metric, figures[c].values[indicator.metric])
    )


def score(scheme: SchemeBody, figures: Mapping[str, DivisionFigures]) -> list[Score]:
    counties = list(figures)
    metric_ranks: dict[str, dict[str, int]] = {}
    for indicator in scheme.indicators:
        if isinstance(indicator.formula, RankBands):
            metric_ranks[indicator.key] = _ranks_on(indicator, figures)
    per_county: dict[str, list[IndicatorScore]] = {}
    for county in counties:
        scores = []
        for indicator in scheme.indicators:
            value = figures[county].values[indicator.metric]
            rank = metric_ranks.get(indicator.key, {}).get(county)
            points = indicator.formula.score(value, rank).quantize(CENT, rounding=ROUND_HALF_UP)
            scores.append(IndicatorScore(indicator, value, rank, points))
        per_county[county] = scores

    totals = {c: sum((s.points for s in per_county[c]), Decimal(0)) for c in counties}
    tie = next(i for i in scheme.indicators if i.key == scheme.tie_break)
    ranks = competition_ranks(
        counties,
        lambda c: (-totals[c], _better_first(tie.measure, figures[c].values[tie.metric])),
    )
    result = [
        Score(
            county=c,
            indicators=per_county[c],
            total=totals[c],
            rank=ranks[c],
            tier=next((t.name for t in scheme.reward_tiers if ranks[c] <= t.max_rank), None),
        )
        for c in counties
    ]
    result.sort(key=lambda s: (s.rank, counties.index(s.county)))
    return result
