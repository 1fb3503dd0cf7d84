"""Registry → Kafka → issues on real parts: a project registered over the registry's HTTP API
reaches the issues projection through Kafka, a problem is then taken for it (and its event goes
out keyed by the project), and once the project is withdrawn new problems are refused."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.issues import handlers
from services.issues.main import SERVICE as ISSUES
from services.issues.models import ProjectView
from services.registry.main import SERVICE as REGISTRY
from shared.bus.kafka import KafkaBus
from shared.events.envelope import CloudEvent
from shared.events.topics import dead_letter_topic
from tests.conftest import COMMANDER, create_database, make_settings, start_service, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def kafka(kafka_bootstrap: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    yield bus
    await bus.stop()


async def test_a_registry_project_reaches_the_issues_projection_over_kafka(
    tmp_path: Path, postgres_server: str, kafka: KafkaBus
) -> None:
    run = uuid.uuid4().hex[:10]
    registry_topic, issues_topic = f"kuaiche.it.{run}.registry", f"kuaiche.it.{run}.issues"
    await kafka.ensure_topics(
        [
            registry_topic,
            issues_topic,
            dead_letter_topic(registry_topic),
            dead_letter_topic(issues_topic),
        ]
    )
    registry_def = dataclasses.replace(REGISTRY, topic=registry_topic)
    issues_def = dataclasses.replace(
        ISSUES,
        topic=issues_topic,
        subscribes={registry_topic: lambda rt: handlers.HANDLERS},
        consumer=f"issues-projects-{run}",
        jobs=lambda rt: {},
    )
    reg_app, reg_life = await start_service(
        registry_def,
        make_settings(
            "registry", await create_database(postgres_server), tmp_path / "r", kafka.bootstrap
        ),
        bus=kafka,
    )
    iss_app, iss_life = await start_service(
        issues_def,
        make_settings(
            "issues", await create_database(postgres_server), tmp_path / "i", kafka.bootstrap
        ),
        bus=kafka,
    )
    sessions = iss_app.state.runtime.session_factory
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=reg_app), base_url="http://r"
            ) as registry,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=iss_app), base_url="http://i"
            ) as issues,
        ):
            r = await registry.post(
                "/v1/projects",
                json={
                    "name": "邹平市铝精深加工项目",
                    "county": "371626",  # an old code: the registry resolves it to 371681
                    "track": "implementation",
                    "stage": "started",
                    "actual_start": "2020-03-02",
                    "leader": "李副市长",
                    "total_investment": "120000",
                },
                headers=COMMANDER,
            )
            assert r.status_code == 201, r.text
            project_id = r.json()["id"]

            async def known(withdrawn: bool = False) -> ProjectView | None:
                async with sessions() as s:
                    p = await s.get(ProjectView, project_id)
                    return p if p is not None and p.withdrawn is withdrawn else None

            project = await wait_until(known, timeout=60)
            assert (project.county, project.leader, project.stage) == (
                "371681",
                "李副市长",
                "started",
            )

            body = {
                "project_id": project_id,
                "category": "energy",
                "title": "能耗指标缺口",
                "description": "缺口 2 万吨标准煤",
                "source": "task_force",
            }
            r = await issues.post("/v1/issues", json=body, headers=COMMANDER)
            assert r.status_code == 201, r.text
            issue_id = r.json()["id"]

            r = await registry.post(
                f"/v1/projects/{project_id}/stage",
                json={"stage": "withdrawn", "date": "2020-04-10", "reason": "企业战略调整"},
                headers=COMMANDER,
            )
            assert r.status_code == 200, r.text
            await wait_until(lambda: known(withdrawn=True), timeout=60)
            r = await issues.post("/v1/issues", json=body, headers=COMMANDER)
            assert r.status_code == 409 and "withdrawn" in r.json()["detail"], r.text

        # The problem's event went out on Kafka, keyed by the project.
        reader = kafka.consumer(f"it-reader-{run}", [issues_topic])
        await reader.start()
        try:

            async def reported() -> list:
                return [
                    m
                    for m in await reader.fetch(timeout=1.0)
                    if CloudEvent.from_json(m.value).type == "kuaiche.issue.reported.v1"
                ]

            [message] = await wait_until(reported, timeout=60)
        finally:
            await reader.stop()
        assert message.key == project_id
        event = CloudEvent.from_json(message.value)
        assert event.subject == issue_id and event.county == "371681"
    finally:
        await iss_life.__aexit__(None, None, None)
        await reg_life.__aexit__(None, None, None)
