"""End to end on real parts: the four services on PostgreSQL, talking only through Kafka. A
project is registered, started, given its plan and report in the registry, a problem is reported
and resolved in issues, land is allocated in factors, all over their HTTP APIs; the division's
scorecard in scoring changes accordingly (waiting with a bounded wait-until)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.factors.main import SERVICE as FACTORS
from services.issues.main import SERVICE as ISSUES
from services.registry.main import SERVICE as REGISTRY
from services.scoring import readmodel
from services.scoring.main import SERVICE as SCORING
from shared.bus.kafka import KafkaBus
from shared.clock import today_in_shanghai
from shared.events.topics import dead_letter_topic
from tests.conftest import COMMANDER, create_database, make_settings, start_service, wait_until

pytestmark = pytest.mark.integration

BINCHENG = "371602"


async def test_work_in_the_other_services_shows_in_the_divisions_scorecard(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str
) -> None:
    run = uuid.uuid4().hex[:10]
    topic = {
        name: f"kuaiche.it.{run}.{name}" for name in ("registry", "factors", "issues", "scoring")
    }
    admin = KafkaBus(kafka_bootstrap)
    await admin.start()
    await admin.ensure_topics([t for x in topic.values() for t in (x, dead_letter_topic(x))])
    def on_own_topics(definition: Any) -> Any:
        """The definition publishing to and consuming from this run's topics (and groups)."""
        return dataclasses.replace(
            definition,
            topic=topic[definition.name],
            subscribes={
                topic[upstream.removeprefix("kuaiche.")]: factory
                for upstream, factory in definition.subscribes.items()
            },
            consumer=definition.consumer and f"{definition.consumer}-{run}",
        )

    scoring_definition = on_own_topics(SCORING)
    feed = readmodel.Feed.of(scoring_definition, group=f"scoring-{run}")
    definitions = [
        on_own_topics(REGISTRY),
        on_own_topics(FACTORS),
        dataclasses.replace(on_own_topics(ISSUES), jobs=lambda rt: {}),
        dataclasses.replace(
            scoring_definition,
            jobs=lambda rt: {"read-model": partial(readmodel.follow, rt, feed, 1.0)},
        ),
    ]
    started: list[tuple[Any, Any]] = []
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for definition in definitions:
            settings = make_settings(
                definition.name,
                await create_database(postgres_server),
                tmp_path / definition.name,
                kafka=kafka_bootstrap,
            )
            app, lifespan = await start_service(definition, settings)
            started.append((app, lifespan))
            clients[definition.name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{definition.name}"
            )
        registry, factors, issues, scoring = (
            clients[n] for n in ("registry", "factors", "issues", "scoring")
        )
        today = today_in_shanghai()
        year, month = today.year, today.month
        first_of_month = today.replace(day=1)

        async def card() -> dict[str, Any]:
            r = await scoring.get(
                f"/v1/scorecards/{BINCHENG}",
                params={"year": year, "month": month},
                headers=COMMANDER,
            )
            assert r.status_code == 200, r.text
            return r.json()

        async def card_where(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            async def ready() -> dict[str, Any] | None:
                c = await card()
                return c if check(c["figures"]) else None

            return await wait_until(ready, timeout=60, interval=0.2)

        async def until_ok(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
            """A service answers 422 for a project its projection has not heard of yet."""

            async def ok() -> httpx.Response | None:
                r = await call()
                return r if r.status_code in (200, 201) else None

            return await wait_until(ok, timeout=60, interval=0.2)

        before = await card()
        assert before["figures"]["planned_starts"] == 0

        # registry: a project planned to start this month, in reserve
        r = await registry.post(
            "/v1/projects",
            json={
                "name": f"滨城区智能制造产业园-{run}",
                "county": BINCHENG,
                "track": "implementation",
                "stage": "reserve",
                "level": "city_key",
                "total_investment": "80000",
                "planned_start": first_of_month.isoformat(),
            },
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
        project_id = r.json()["id"]
        planned = await card_where(lambda f: f["planned_starts"] == 1)
        assert planned["figures"]["started"] == 0
        assert planned["figures"]["start_rate"] == "0.0"
        assert planned["key_projects_by_level"] == {"city_key": 1}

        # ... started this month, with its plan and this month's report
        r = await registry.post(
            f"/v1/projects/{project_id}/stage",
            json={"stage": "started", "date": first_of_month.isoformat()},
            headers=COMMANDER,
        )
        assert r.status_code == 200, r.text
        r = await registry.put(
            f"/v1/projects/{project_id}/plans/{year}",
            json={"annual_investment": "1200"},
            headers=COMMANDER,
        )
        assert r.status_code == 200, r.text
        r = await registry.post(
            f"/v1/projects/{project_id}/reports",
            json={
                "period": f"{year}-{month:02d}",
                "ytd_investment": "600",
                "month_investment": "150",
                "started": True,
            },
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
        progressed = await card_where(lambda f: f["ytd_investment"] == "600")
        f = progressed["figures"]
        assert (f["started"], f["start_rate"], f["new_starts"]) == (1, "100.0", 1)
        assert (f["annual_plan"], f["investment_completion_rate"]) == ("1200", "50.0")

        # issues: a problem reported and resolved
        r = await until_ok(
            lambda: issues.post(
                "/v1/issues",
                json={
                    "project_id": project_id,
                    "category": "land",
                    "title": "用地指标缺口",
                    "description": "二期用地指标缺口 50 亩",
                    "source": "enterprise",
                },
                headers=COMMANDER,
            )
        )
        issue_id = r.json()["id"]
        collected = await card_where(lambda f: f["problems_collected"] == 1)
        assert collected["figures"]["resolution_rate"] == "0.0"
        r = await issues.post(
            f"/v1/issues/{issue_id}/assign", json={"unit": "市自然资源和规划局"}, headers=COMMANDER
        )
        assert r.status_code == 200, r.text
        r = await issues.post(
            f"/v1/issues/{issue_id}/resolve",
            json={"resolution": "市级统筹调剂用地指标 50 亩"},
            headers=COMMANDER,
        )
        assert r.status_code == 200, r.text
        resolved = await card_where(lambda f: f["problems_resolved"] == 1)
        assert (resolved["figures"]["resolution_rate"], resolved["figures"]["on_time_rate"]) == (
            "100.0",
            "100.0",
        )

        # factors: land allocated from this year's city quota
        pool = await factors.post(
            "/v1/pools",
            json={"factor": "land", "year": year, "scope": "city", "amount": "500"},
            headers=COMMANDER,
        )
        assert pool.status_code == 201, pool.text
        await until_ok(
            lambda: factors.post(
                "/v1/allocations",
                json={"pool_id": pool.json()["id"], "project_id": project_id, "amount": "120"},
                headers=COMMANDER,
            )
        )
        supported = await card_where(lambda f: f["factor_allocations"] == 1)
        assert supported["factor_support"]["land"]["amount"] == "120"

        # the card's points moved with the work: starts, investment, problems, factors
        points = {i["key"]: i["points"] for i in supported["indicators"]}
        assert points["starts"] == "25.00"
        assert points["resolution"] == "12.00"
        assert points["factors"] == "0.25"
        assert float(supported["total"]) > float(before["total"])

        # published, the month's ranking is frozen as it stood
        r = await scoring.post(
            "/v1/publications", json={"year": year, "month": month}, headers=COMMANDER
        )
        assert r.status_code == 201, r.text
        [ours] = [e for e in r.json()["ranking"] if e["county"] == BINCHENG]
        assert ours["score"] == supported["total"]
        frozen = await scoring.get(r.headers["Location"], headers=COMMANDER)
        assert frozen.status_code == 200, frozen.text
        assert frozen.json() == r.json()
    finally:
        for client in clients.values():
            await client.aclose()
        for _, lifespan in reversed(started):
            await lifespan.__aexit__(None, None, None)
        await admin.stop()
