"""The metric catalogue: every raw figure a scorecard carries, which a scheme's indicator can
score. Rates are percentages as printed (one decimal place, half up), so a clerk can recompute
any points from the card itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    RATE = "rate"  # a percentage, one decimal place
    COUNT = "count"  # projects, problems, allocations
    AMOUNT = "amount"  # 万元
    GAP = "gap"  # percentage points (investment lag against 序时进度)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    kind: Kind
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("planned_starts", "计划年内开工项目", Kind.COUNT),
        Metric("started", "已开工项目", Kind.COUNT),
        Metric("start_rate", "开工率", Kind.RATE),
        Metric("new_starts", "本月新开工项目", Kind.COUNT),
        Metric("new_starts_ytd", "年内新开工项目", Kind.COUNT),
        Metric("completions", "年内竣工项目", Kind.COUNT),
        Metric("key_projects", "重点项目", Kind.COUNT),
        Metric("annual_plan", "年度计划投资（万元）", Kind.AMOUNT),
        Metric("ytd_investment", "累计完成投资（万元）", Kind.AMOUNT),
        Metric("investment_completion_rate", "投资完成率", Kind.RATE),
        Metric("time_target", "序时进度", Kind.RATE),
        Metric("schedule_rate", "序时进度完成率", Kind.RATE),
        Metric("investment_lag", "投资完成率较序时进度（百分点）", Kind.GAP),
        Metric("problems_collected", "收集问题", Kind.COUNT),
        Metric("problems_resolved", "办结问题", Kind.COUNT),
        Metric("problems_on_time", "按期办结问题", Kind.COUNT),
        Metric("problems_overdue", "超期问题", Kind.COUNT, higher_is_better=False),
        Metric("resolution_rate", "问题办结率", Kind.RATE),
        Metric("on_time_rate", "按期办结率", Kind.RATE),
        Metric("factor_allocations", "要素保障（笔）", Kind.COUNT),
        Metric("credit_granted", "授信（万元）", Kind.AMOUNT),
        Metric("unstarted_projects", "未开工项目", Kind.COUNT, higher_is_better=False),
        Metric("lagging_projects", "进度滞后项目", Kind.COUNT, higher_is_better=False),
    )
}
