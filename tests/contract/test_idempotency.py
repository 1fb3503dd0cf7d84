"""Creating POSTs accept Idempotency-Key: a retried request gets the first answer."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from services.registry.models import Project
from tests.conftest import COMMANDER, token


def project(name: str) -> dict:
    return {"name": name, "county": "371602", "track": "implementation", "total_investment": "100"}


async def count(registry, name: str) -> int:
    async with registry.runtime.session_factory() as s:
        return int(
            await s.scalar(select(func.count()).select_from(Project).where(Project.name == name))
            or 0
        )


async def test_a_retry_gets_the_first_answer_and_creates_nothing_more(registry) -> None:
    name = f"幂等项目-{uuid.uuid4().hex[:6]}"
    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}
    first = await registry.client.post("/v1/projects", json=project(name), headers=headers)
    again = await registry.client.post("/v1/projects", json=project(name), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert await count(registry, name) == 1


async def test_without_a_key_each_post_creates(registry) -> None:
    name = f"无键项目-{uuid.uuid4().hex[:6]}"
    for _ in range(2):
        assert (
            await registry.client.post("/v1/projects", json=project(name), headers=COMMANDER)
        ).status_code == 201
    assert await count(registry, name) == 2


async def test_a_key_reused_for_another_request_is_refused(registry) -> None:
    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}
    assert (
        await registry.client.post("/v1/projects", json=project("甲"), headers=headers)
    ).status_code == 201
    r = await registry.client.post("/v1/projects", json=project("乙"), headers=headers)
    assert r.status_code == 422
    assert "different request" in r.json()["detail"]


async def test_keys_belong_to_their_caller(registry) -> None:
    key = uuid.uuid4().hex
    name = f"两人项目-{uuid.uuid4().hex[:6]}"
    a = await registry.client.post(
        "/v1/projects", json=project(name), headers={**COMMANDER, "Idempotency-Key": key}
    )
    b = await registry.client.post(
        "/v1/projects",
        json=project(name),
        headers={**token("county", county="371602"), "Idempotency-Key": key},
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_a_refusal_is_replayed_too(registry) -> None:
    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}
    bad = {**project("坏"), "county": "999999"}  # no such division: a rule, 409
    first = await registry.client.post("/v1/projects", json=bad, headers=headers)
    again = await registry.client.post("/v1/projects", json=bad, headers=headers)
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json()


async def test_concurrent_retries_create_once(registry) -> None:
    name = f"并发项目-{uuid.uuid4().hex[:6]}"
    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}
    answers = await asyncio.gather(
        *(
            registry.client.post("/v1/projects", json=project(name), headers=headers)
            for _ in range(5)
        )
    )
    assert {r.status_code for r in answers} <= {201, 409}
    assert await count(registry, name) == 1
