"""Investment progress: completion rate 投资完成率, time elapsed 序时进度 and the lag between.

Percentages have one decimal place, rounded half up (as the city's reports print them); the lag
is taken from the rounded figures so it matches what a reader subtracts on paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.errors import InvalidInput
from shared.rates import percent


@dataclass(frozen=True)
class Progress:
    """Percentages (1 dp); None where the base is missing or zero."""

    completion_rate: Decimal | None  # 投资完成率: YTD actual / annual plan
    time_elapsed: Decimal  # 序时进度: month / 12
    lag_points: Decimal | None  # completion rate − time elapsed, percentage points
    plan_rate_to_date: Decimal | None  # YTD actual / cumulative target to date


def compute_progress(
    annual_plan: Decimal | None,
    ytd_actual: Decimal,
    as_of_month: int,
    target_to_date: Decimal | None,
) -> Progress:
    """Progress of a project (or a sum of projects) as of the end of `as_of_month`."""
    if (
        isinstance(as_of_month, bool)
        or not isinstance(as_of_month, int)
        or not (1 <= as_of_month <= 12)
    ):
        message = f"{as_of_month!r} is not a month (1–12)"
        raise InvalidInput(message, errors=[{"field": "as_of_month", "message": message}])

    time_elapsed = percent(as_of_month, 12)
    assert time_elapsed is not None  # 12 is never zero
    completion_rate = percent(ytd_actual, annual_plan) if annual_plan is not None else None
    lag_points = completion_rate - time_elapsed if completion_rate is not None else None
    plan_rate = percent(ytd_actual, target_to_date) if target_to_date is not None else None
    return Progress(
        completion_rate=completion_rate,
        time_elapsed=time_elapsed,
        lag_points=lag_points,
        plan_rate_to_date=plan_rate,
    )
