"""Helpers of the scoring HTTP tests: reading cards, rankings and exposure lists, scheme bodies,
publications, problem+json and outbox checks."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import httpx
from sqlalchemy import select

from services.scoring.models import outbox
from shared.auth import Role
from shared.events.envelope import CloudEvent
from tests.api.scoring.conftest import ScoringApp
from tests.conftest import COMMANDER, token

PROBLEM_JSON = "application/problem+json"
LAND_BUREAU = "市自然资源和规划局"

_TABLE = json.loads(resources.files("shared.regions").joinpath("binzhou.json").read_text("utf-8"))
DIVISIONS: dict[str, str] = {d["code"]: d["name"] for d in _TABLE["divisions"]}
"""The ten assessed units of Binzhou, code → name, in the table's order."""


def county_token(county: str) -> dict[str, str]:
    return token(Role.COUNTY, county=county)


def department_token(department: str = LAND_BUREAU) -> dict[str, str]:
    return token(Role.DEPARTMENT, department=department)


def assert_problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    body = r.json()
    assert body["status"] == status
    for word in words:
        assert word in body["detail"], body
    return body


def body_of(r: httpx.Response, status: int = 200) -> Any:
    """The answer's body, once its status is the one expected."""
    assert r.status_code == status, r.text
    return r.json()


def period(year: int = 2020, month: int = 4, **more: Any) -> dict[str, Any]:
    return {"year": year, "month": month, **more}


async def card(
    scoring: ScoringApp,
    county: str,
    year: int = 2020,
    month: int = 4,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    r = await scoring.client.get(
        f"/v1/scorecards/{county}",
        params=period(year, month, **params),
        headers=headers or COMMANDER,
    )
    assert r.status_code == 200, r.text
    return r.json()


async def figures(
    scoring: ScoringApp, county: str, year: int = 2020, month: int = 4
) -> dict[str, Any]:
    return (await card(scoring, county, year, month))["figures"]


def points(scorecard: dict[str, Any]) -> dict[str, str]:
    """Indicator key → points as printed."""
    return {i["key"]: i["points"] for i in scorecard["indicators"]}


async def cards(
    scoring: ScoringApp,
    year: int = 2020,
    month: int = 4,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    r = await scoring.client.get(
        "/v1/scorecards", params=period(year, month, **params), headers=headers or COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()


async def ranking(
    scoring: ScoringApp, year: int = 2020, month: int = 4, **params: Any
) -> dict[str, Any]:
    r = await scoring.client.get(
        "/v1/rankings", params=period(year, month, **params), headers=COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()


def ranks(ranking_body: dict[str, Any]) -> list[tuple[str, str, int, str | None]]:
    """(county, score, rank, tier) in the ranking's order."""
    return [(e["county"], e["score"], e["rank"], e["tier"]) for e in ranking_body["items"]]


async def exposure(
    scoring: ScoringApp,
    kind: str,
    year: int = 2020,
    month: int = 4,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> list[dict[str, Any]]:
    r = await scoring.client.get(
        "/v1/exposure",
        params=period(year, month, kind=kind, **params),
        headers=headers or COMMANDER,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return body["items"]


# ---- schemes
def ratio(metric: str, pts: str, key: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "key": key or metric,
        "name": f"{metric} 指标",
        "metric": metric,
        "formula": {"type": "ratio_points", "points": pts, **more},
    }


def per_item(metric: str, each: str, cap: str, key: str | None = None) -> dict[str, Any]:
    return {
        "key": key or metric,
        "name": f"{metric} 指标",
        "metric": metric,
        "formula": {"type": "per_item", "points_per_item": each, "cap": cap},
    }


def scheme_body(
    effective_from: str = "2020-01",
    indicators: list[dict[str, Any]] | None = None,
    tie_break: str = "new_starts_ytd",
    **more: Any,
) -> dict[str, Any]:
    """A valid scheme: 10 points per new start this year (capped at 50) and 50 for the start
    rate; ties go to more new starts; first place is 一等, the next two 二等."""
    return {
        "name": "2020年重点项目考核办法",
        "effective_from": effective_from,
        "indicators": (
            [per_item("new_starts_ytd", "10", "50"), ratio("start_rate", "50")]
            if indicators is None
            else indicators
        ),
        "tie_break": tie_break,
        "reward_tiers": [{"name": "一等", "max_rank": 1}, {"name": "二等", "max_rank": 3}],
        **more,
    }


async def put_scheme(
    scoring: ScoringApp,
    version: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await scoring.client.put(
        f"/v1/schemes/{version}", json=body, headers=headers or COMMANDER
    )


async def stored_versions(scoring: ScoringApp) -> list[str]:
    r = await scoring.client.get("/v1/schemes", headers=COMMANDER)
    assert r.status_code == 200, r.text
    return [s["version"] for s in r.json()["items"]]


# ---- publications
async def publish(
    scoring: ScoringApp,
    year: int = 2020,
    month: int = 4,
    headers: dict[str, str] | None = None,
    **more: Any,
) -> httpx.Response:
    return await scoring.client.post(
        "/v1/publications", json=period(year, month, **more), headers=headers or COMMANDER
    )


async def published(
    scoring: ScoringApp, year: int = 2020, month: int = 4, **more: Any
) -> dict[str, Any]:
    r = await publish(scoring, year, month, **more)
    assert r.status_code == 201, r.text
    return r.json()


async def outbox_events(scoring: ScoringApp, event_type: str | None = None) -> list[CloudEvent]:
    async with scoring.runtime.session_factory() as s:
        query = select(outbox.c.payload).order_by(outbox.c.id)
        if event_type is not None:
            query = query.where(outbox.c.type == event_type)
        rows = (await s.execute(query)).scalars().all()
    return [CloudEvent.from_json(p) for p in rows]
