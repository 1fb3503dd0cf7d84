"""Factors learns projects from the registry over a real Kafka broker, never by calling it: a
project registered through the registry's HTTP API reaches the factors projection (PostgreSQL),
takes an allocation, and its withdrawal in the registry releases that allocation, whose
`factor.released` event factors publishes on its own topic."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import httpx
import pytest

from services.factors import main as factors_main
from services.factors.models import Allocation, ProjectView
from services.registry.main import SERVICE as REGISTRY
from shared.bus.kafka import KafkaBus
from shared.events.topics import dead_letter_topic
from tests.conftest import COMMANDER, create_database, make_settings, start_service, wait_until

pytestmark = pytest.mark.integration


async def test_a_registry_event_reaches_factors_and_a_withdrawal_releases_over_kafka(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str
) -> None:
    registry_topic = f"kuaiche.it.registry.{uuid.uuid4().hex[:8]}"
    factors_topic = f"kuaiche.it.factors.{uuid.uuid4().hex[:8]}"
    admin = KafkaBus(kafka_bootstrap)
    await admin.start()
    await admin.ensure_topics(
        [t for topic in (registry_topic, factors_topic) for t in (topic, dead_letter_topic(topic))]
    )
    registry = dataclasses.replace(REGISTRY, topic=registry_topic)
    factors = dataclasses.replace(
        factors_main.SERVICE,
        topic=factors_topic,
        subscribes={registry_topic: factors_main.project_handlers},
    )
    started = []
    try:
        for definition in (registry, factors):
            settings = make_settings(
                definition.name,
                await create_database(postgres_server),
                tmp_path,
                kafka=kafka_bootstrap,
            )
            started.append(await start_service(definition, settings))  # its own Kafka bus
        (registry_app, _), (factors_app, _) = started
        reg = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry_app), base_url="http://r"
        )
        fac = httpx.AsyncClient(transport=httpx.ASGITransport(app=factors_app), base_url="http://f")
        runtime = factors_app.state.runtime

        r = await reg.post(
            "/v1/projects",
            json={
                "name": f"滨州港项目-{uuid.uuid4().hex[:6]}",
                "county": "371603",
                "track": "implementation",
                "total_investment": "50000",
                "level": "city_key",
            },
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
        project_id = r.json()["id"]

        async def projected(stage: str) -> ProjectView | None:
            async with runtime.session_factory() as s:
                view = await s.get(ProjectView, project_id)
                return view if view is not None and view.stage == stage else None

        view = await wait_until(lambda: projected("planning"), timeout=60)
        assert (view.county, view.level) == ("371603", "city_key")

        pool = await fac.post(
            "/v1/pools",
            json={"factor": "land", "year": 2020, "scope": "city", "amount": "500"},
            headers=COMMANDER,
        )
        allocation = await fac.post(
            "/v1/allocations",
            json={"pool_id": pool.json()["id"], "project_id": project_id, "amount": "120"},
            headers=COMMANDER,
        )
        assert allocation.status_code == 201, allocation.text

        r = await reg.post(
            f"/v1/projects/{project_id}/stage",
            json={"stage": "withdrawn", "date": "2020-05-01", "reason": "企业投资计划调整"},
            headers=COMMANDER,
        )
        assert r.status_code == 200, r.text

        async def released() -> bool:
            async with runtime.session_factory() as s:
                a = await s.get(Allocation, allocation.json()["id"])
                return a is not None and a.status == "released"

        await wait_until(released, timeout=60)
        after = await fac.get(f"/v1/pools/{pool.json()['id']}", headers=COMMANDER)
        assert after.json()["allocated"] == "0" and after.json()["released"] == "120"

        # ... and the release went out on factors' own topic, keyed by the project.
        reader = admin.consumer(f"it-{uuid.uuid4().hex[:8]}", [factors_topic])
        await reader.start()
        seen: list[dict[str, object]] = []

        async def release_event() -> bool:
            for message in await reader.fetch(timeout=1.0):
                seen.append(json.loads(message.value))
            return any(e["type"] == "kuaiche.factor.released.v1" for e in seen)

        try:
            await wait_until(release_event, timeout=60)
        finally:
            await reader.stop()
        [event] = [e for e in seen if e["type"] == "kuaiche.factor.released.v1"]
        assert event["partitionkey"] == project_id
        assert event["data"]["cause"] == "withdrawn"  # type: ignore[index]
        await reg.aclose()
        await fac.aclose()
    finally:
        for _, lifespan in reversed(started):
            await lifespan.__aexit__(None, None, None)
        await admin.stop()
