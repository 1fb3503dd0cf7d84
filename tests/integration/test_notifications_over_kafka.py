"""Notifications on real parts: registry and issues on PostgreSQL publishing to Kafka, the
notifications API in-process and its worker as a process of its own (`kill -9` is real).

A problem reported and assigned in issues reaches a local webhook receiver with a valid
Standard Webhooks signature (checked by the `standardwebhooks` library), the department's inbox
and the department's SSE stream; the receiver answers 500 twice and gets the event on the third
try with the same webhook-id. Then the worker is killed with SIGKILL while a delivery is in
flight and more events are committed upstream while it is dead: after a restart every event
reaches the receiver, every webhook-id is acknowledged (2xx) exactly once, and no inbox holds a
message twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.issues.main import SERVICE as ISSUES
from services.notifications.main import SERVICE as NOTIFICATIONS
from services.registry.main import SERVICE as REGISTRY
from shared.bus.kafka import KafkaBus
from shared.events.topics import dead_letter_topic
from shared.migrations import upgrade
from tests.conftest import (
    COMMANDER,
    create_database,
    make_settings,
    start_service,
    token,
    wait_until,
)
from tests.support.receiver import Reply, WebhookReceiver, webhook_receiver
from tests.support.serving import served

pytestmark = pytest.mark.integration

BINCHENG = "371602"
UNIT = "市自然资源和规划局"
ASSIGNED, RESOLVED = "kuaiche.issue.assigned.v1", "kuaiche.issue.resolved.v1"
ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """`python -m tests.support.notifications_worker` on the run's topics."""

    def __init__(self, settings: Any, topics: dict[str, str], consumer: str) -> None:
        dumped = settings.model_dump(mode="json")
        dumped["jwt_secret"] = settings.jwt_secret.get_secret_value()
        self.args = [json.dumps(dumped), json.dumps(topics), consumer]
        self.env = {
            **os.environ,
            "KUAICHE_NOTIFICATIONS_LEASE_SECONDS": "5",
            "KUAICHE_NOTIFICATIONS_DISPATCH_INTERVAL": "0.05",
            "KUAICHE_NOTIFICATIONS_HTTP_TIMEOUT": "2.5",
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.notifications_worker",
            *self.args,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        assert line.strip() == b"ready", line

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def read_stream(base_url: str, headers: dict[str, str], into: list[dict[str, str]]) -> None:
    """Collect the stream's events (id, event, data) until cancelled."""
    async with httpx.AsyncClient(timeout=None) as client:
        async with client.stream("GET", f"{base_url}/v1/stream", headers=headers) as answer:
            assert answer.status_code == 200
            event: dict[str, str] = {}
            async for line in answer.aiter_lines():
                if not line:
                    if "data" in event:
                        into.append(event)
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    event[name] = value.removeprefix(" ")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hooks:
        yield hooks


async def test_a_problem_assigned_reaches_webhook_inbox_and_stream_and_survives_a_kill(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str, receiver: WebhookReceiver
) -> None:
    run = uuid.uuid4().hex[:10]
    real = ("registry", "factors", "issues", "scoring", "notifications")
    topic = {f"kuaiche.{n}": f"kuaiche.it.{run}.{n}" for n in real}
    admin = KafkaBus(kafka_bootstrap)
    await admin.start()
    await admin.ensure_topics([t for x in topic.values() for t in (x, dead_letter_topic(x))])
    await admin.stop()

    def on_run_topics(definition: Any) -> Any:
        return dataclasses.replace(
            definition,
            topic=topic[definition.topic],
            subscribes={topic[t]: f for t, f in definition.subscribes.items()},
            consumer=definition.consumer and f"{definition.consumer}-{run}",
            jobs=lambda rt: {},
        )

    started: list[Any] = []
    worker: WorkerProcess | None = None
    reading: asyncio.Task[None] | None = None
    try:
        apps = {}
        for definition in (REGISTRY, ISSUES):
            settings = make_settings(
                definition.name,
                await create_database(postgres_server),
                tmp_path / definition.name,
                kafka=kafka_bootstrap,
            )
            app, lifespan = await start_service(on_run_topics(definition), settings)
            started.append(lifespan)
            apps[definition.name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{definition.name}"
            )
        registry, issues = apps["registry"], apps["issues"]

        # notifications: the API here (no worker), the worker in its own process
        n_settings = make_settings(
            "notifications",
            await create_database(postgres_server),
            tmp_path / "notifications",
            kafka=kafka_bootstrap,
        )
        n_definition = on_run_topics(NOTIFICATIONS)
        await upgrade(n_definition, n_settings.database_url)
        n_app, n_lifespan = await start_service(n_definition, n_settings, with_worker=False)
        started.append(n_lifespan)
        notifications = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=n_app), base_url="http://notifications"
        )
        worker = WorkerProcess(
            n_settings, {t: topic[t] for t in NOTIFICATIONS.subscribes}, n_definition.consumer
        )
        await worker.start()

        r = await notifications.post(
            "/v1/subscriptions",
            json={"url": receiver.url("/hooks"), "event_types": [ASSIGNED, RESOLVED]},
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
        subscription, secret = r.json()["id"], r.json()["secret"]
        receiver.answer(500, 500)  # the third try is answered 200

        unit = token("department", department=UNIT)
        streamed: list[dict[str, str]] = []
        async with served(n_app) as base_url:
            reading = asyncio.create_task(read_stream(base_url, unit, streamed))

            # registry: a project; issues: a problem reported and assigned
            r = await registry.post(
                "/v1/projects",
                json={
                    "name": f"滨城区智能制造产业园-{run}",
                    "county": BINCHENG,
                    "track": "implementation",
                    "stage": "reserve",
                    "total_investment": "80000",
                    "leader": "张三",
                },
                headers=COMMANDER,
            )
            assert r.status_code == 201, r.text
            project_id = r.json()["id"]

            async def reported() -> str | None:
                answer = await issues.post(
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
                return answer.json()["id"] if answer.status_code == 201 else None

            first = await wait_until(reported, timeout=60, interval=0.2)
            r = await issues.post(
                f"/v1/issues/{first}/assign", json={"unit": UNIT}, headers=COMMANDER
            )
            assert r.status_code == 200, r.text

            # the webhook: two 500s, then the third try with the same webhook-id
            await wait_until(lambda: _async(len(receiver.requests) >= 3), timeout=60)
            tries = receiver.requests[:3]
            assert len({t.webhook_id for t in tries}) == 1
            for t in tries:
                Webhook(secret).verify(t.body, t.headers)  # raises on a bad signature
                assert t.json()["type"] == ASSIGNED
                assert t.json()["data"]["issue_id"] == first
            assigned_id = tries[0].webhook_id

            async def delivered() -> dict[str, Any] | None:
                page = (
                    await notifications.get(
                        f"/v1/subscriptions/{subscription}/deliveries", headers=COMMANDER
                    )
                ).json()
                item = page["items"][0] if page["items"] else None
                return item if item and item["status"] == "delivered" else None

            delivery = await wait_until(delivered, timeout=30)
            assert [a["status"] for a in delivery["attempt_log"]] == [500, 500, 200]

            # the department's inbox and its stream
            inbox = (await notifications.get("/v1/notifications", headers=unit)).json()
            assert [n["rule_id"] for n in inbox["items"]] == ["issue-assigned"]
            await wait_until(
                lambda: _async(any(e.get("event") == ASSIGNED for e in streamed)), timeout=30
            )
            event = next(e for e in streamed if e["event"] == ASSIGNED)
            assert json.loads(event["data"])["id"] == assigned_id

            # kill -9 while a delivery is in flight, and commit more while the worker is dead
            receiver.answer(Reply(200, delay=20))
            r = await issues.post(
                f"/v1/issues/{first}/resolve",
                json={"resolution": "市级统筹调剂"},
                headers=COMMANDER,
            )
            assert r.status_code == 200, r.text
            await wait_until(lambda: _async(len(receiver.requests) >= 4), timeout=60)
            held = receiver.requests[3]
            assert held.json()["type"] == RESOLVED
            await worker.kill()
            second = await wait_until(reported, timeout=30, interval=0.2)
            r = await issues.post(
                f"/v1/issues/{second}/assign", json={"unit": UNIT}, headers=COMMANDER
            )
            assert r.status_code == 200, r.text
            await worker.start()

            await wait_until(lambda: _async(len(receiver.requests) >= 6), timeout=60)
            await asyncio.sleep(1.0)  # nothing more should come
            after = receiver.requests[4:]
            by_type = {r.json()["type"]: r for r in after}
            assert set(by_type) == {RESOLVED, ASSIGNED}
            assert by_type[RESOLVED].webhook_id == held.webhook_id  # the same message again
            assert by_type[ASSIGNED].json()["data"]["issue_id"] == second
            acknowledged = [r.webhook_id for r in receiver.requests[2:3] + after]
            assert sorted(acknowledged) == sorted(set(acknowledged))  # each 2xx'd once
            assert len(acknowledged) == 3
            for request in after:
                Webhook(secret).verify(request.body, request.headers)

            # no inbox holds a message twice
            inbox = (await notifications.get("/v1/notifications", headers=unit)).json()
            assert sorted(n["rule_id"] for n in inbox["items"]) == ["issue-assigned"] * 2
            county = (
                await notifications.get(
                    "/v1/notifications", headers=token("county", county=BINCHENG)
                )
            ).json()
            assert [n["rule_id"] for n in county["items"]] == ["issue-resolved"]
            reading.cancel()
    finally:
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(BaseException):
                await reading
        if worker is not None:
            await worker.stop()
        for lifespan in reversed(started):
            await lifespan.__aexit__(None, None, None)


async def _async(value: Any) -> Any:
    return value or None
