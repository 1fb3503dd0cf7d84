"""Idempotency-Key across a crash, on PostgreSQL: the registry API runs in a process of its own
that is killed with SIGKILL in the middle of a registration, once before its transaction
commits and once after (the change committed, its answer not yet sent). A retry with the same
key against a fresh process then finds the first answer or nothing, and the project exists
exactly once either way."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.registry.main import SERVICE
from services.registry.models import Project
from shared.db import make_engine, make_session_factory
from shared.migrations import upgrade
from tests.conftest import COMMANDER, make_settings, wait_until
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def registry_process(
    settings_json: str, when: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.dying_registry",
        settings_json,
        str(port),
        when,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}"

    async def alive() -> bool:
        if process.returncode is not None:
            raise AssertionError(f"the registry process exited: {process.returncode}")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/livez")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_until(alive, timeout=60, what="the registry process to serve")
        yield base, process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 15)


async def projects_named(url: str, name: str) -> list[str]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return list(await session.scalars(select(Project.id).where(Project.name == name)))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
async def test_a_retry_after_the_process_died_registers_once(
    when: str, postgres_url: str, tmp_path: Path
) -> None:
    await upgrade(SERVICE, postgres_url)
    settings = make_settings("registry", postgres_url, tmp_path)
    dumped = settings.model_dump(mode="json")
    dumped["jwt_secret"] = settings.jwt_secret.get_secret_value()
    settings_json = json.dumps(dumped)
    name = f"崩溃项目-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "county": "371602", "track": "implementation", "total_investment": "100"}
    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}

    async with registry_process(settings_json, when) as (base, process):
        async with httpx.AsyncClient(timeout=30) as client:
            with pytest.raises(httpx.TransportError):  # no answer: the process died
                await client.post(f"{base}/v1/projects", json=body, headers=headers)
        assert await asyncio.wait_for(process.wait(), 15) == -signal.SIGKILL
    stored = await projects_named(postgres_url, name)
    assert len(stored) == (1 if when == "after-commit" else 0)

    async with registry_process(settings_json, "never") as (base, _):
        async with httpx.AsyncClient(timeout=30) as client:
            retry = await client.post(f"{base}/v1/projects", json=body, headers=headers)
            again = await client.post(f"{base}/v1/projects", json=body, headers=headers)
    assert retry.status_code == again.status_code == 201, retry.text
    assert retry.json()["id"] == again.json()["id"]
    assert await projects_named(postgres_url, name) == [retry.json()["id"]]
    if when == "after-commit":
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["id"] == stored[0]


async def test_concurrent_retries_on_postgresql_register_once_and_agree(
    postgres_url: str, tmp_path: Path
) -> None:
    await upgrade(SERVICE, postgres_url)
    settings = make_settings("registry", postgres_url, tmp_path)
    dumped = settings.model_dump(mode="json")
    dumped["jwt_secret"] = settings.jwt_secret.get_secret_value()
    name = f"并发项目-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "county": "371602", "track": "implementation", "total_investment": "100"}
    headers = {**COMMANDER, "Idempotency-Key": uuid.uuid4().hex}
    async with registry_process(json.dumps(dumped), "never") as (base, _):
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(
                *(client.post(f"{base}/v1/projects", json=body, headers=headers) for _ in range(6))
            )
    assert {a.status_code for a in answers} == {201}
    stored = await projects_named(postgres_url, name)
    assert len(stored) == 1
    assert {a.json()["id"] for a in answers} == set(stored)
