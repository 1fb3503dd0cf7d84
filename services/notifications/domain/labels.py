"""The Chinese words messages use for the other services' values."""

from __future__ import annotations

from shared.events.catalogue.factors import FACTOR_LABELS, POLLUTANT_LABELS, Factor, Pollutant

EXPOSURE_LISTS: dict[str, str] = {
    "unstarted": "未开工项目通报",
    "lagging": "进度滞后项目通报",
    "overdue": "超期问题通报",
}


def factor(code: str, pollutant: str | None = None) -> str:
    """用地计划指标, or 污染物排放总量替代指标（化学需氧量） for a pollutant's pool."""
    try:
        label = FACTOR_LABELS[Factor(code)]
    except ValueError:
        return code
    if pollutant:
        try:
            return f"{label}（{POLLUTANT_LABELS[Pollutant(pollutant)]}）"
        except ValueError:
            return f"{label}（{pollutant}）"
    return label


def exposure_list(kind: str) -> str:
    return EXPOSURE_LISTS.get(kind, kind)
