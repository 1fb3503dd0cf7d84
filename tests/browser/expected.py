"""What the console should show, asked of the same APIs through the gateway with the same token."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tests.browser.conftest import Console, Demo

# The contract's figures and where each comes from (the brief's DOM contract).
REGISTRY_FIGURES = ("projects", "total_investment", "key_projects")
SCORING_FIGURES = (
    "start_rate",
    "schedule_rate",
    "completions",
    "problems_collected",
    "problems_resolved",
    "problems_on_time",
    "problems_overdue",
)


def same(shown: str | None, expected: Any) -> bool:
    """A figure's data-value against an API's value: decimals by value ("78440000.00" is
    78440000), anything else as text."""
    if shown is None:
        return False
    try:
        return Decimal(str(shown)) == Decimal(str(expected))
    except InvalidOperation:
        return str(shown) == str(expected)


def period(demo: Demo, token: str | None = None) -> tuple[int, int]:
    """The console's default period: the latest publication (the demo publishes April 2020)."""
    items = demo.get("/scoring/v1/publications", token)["items"]
    assert items, "the demo has a publication"
    latest = max(items, key=lambda p: (p["year"], p["month"]))
    return int(latest["year"]), int(latest["month"])


def summary(demo: Demo, token: str | None = None) -> dict[str, Any]:
    return demo.get("/registry/v1/projects/summary", token)  # type: ignore[no-any-return]


def city_figures(demo: Demo, token: str | None = None) -> dict[str, Any]:
    year, month = period(demo, token)
    return demo.get("/scoring/v1/figures", token, year=year, month=month)  # type: ignore[no-any-return]


EXPOSURE_KINDS = ("unstarted", "lagging", "overdue")
CREDIT_FIGURES = ("projects", "demanded", "granted", "disbursed")


def expected_figures(demo: Demo, token: str | None = None) -> dict[str, Any]:
    """Each figure's value as the APIs answer it for this token: the brief's contract keys,
    each key project level, the credit summary and the exposure counts (docs/console.md)."""
    year, month = period(demo, token)
    s = summary(demo, token)
    f = demo.get("/scoring/v1/figures", token, year=year, month=month)["figures"]
    out: dict[str, Any] = {key: s[key] for key in REGISTRY_FIGURES}
    out.update({key: f[key] for key in SCORING_FIGURES})
    out.update({f"level-{r['level']}": r["projects"] for r in s["by_level"]})
    out["problems_overdue_now"] = demo.get("/issues/v1/issues/stats", token)["overdue"]
    credit = demo.get("/factors/v1/credit/summary", token, year=year)
    out.update({f"credit-{key}": credit[key] for key in CREDIT_FIGURES})
    for kind in EXPOSURE_KINDS:
        out[f"exposure-{kind}"] = exposure_total(demo, token, kind)
        for colour in ("red", "yellow"):
            out[f"exposure-{kind}-{colour}"] = exposure_total(demo, token, kind, colour)
    return out


def exposure_total(demo: Demo, token: str | None, kind: str, colour: str | None = None) -> int:
    year, month = period(demo, token)
    answer = demo.get(
        "/scoring/v1/exposure", token, kind=kind, year=year, month=month, colour=colour, limit=1
    )
    return int(answer["total"])


def mismatches(c: Console, expected: dict[str, Any]) -> list[str]:
    shown = c.figures()
    return [
        f"{key}: shown {shown.get(key)!r}, the API says {value!r}"
        for key, value in expected.items()
        if not same(shown.get(key), value)
    ]


def project_ids(demo: Demo, token: str, **filters: Any) -> set[str]:
    """Every project id the registry lists for this token and filters (all pages)."""
    ids: set[str] = set()
    offset = 0
    while True:
        page = demo.get("/registry/v1/projects", token, limit=500, offset=offset, **filters)
        ids |= {p["id"] for p in page["items"]}
        offset += 500
        if offset >= page["total"]:
            return ids
