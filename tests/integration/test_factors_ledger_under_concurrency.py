"""The ledger's one invariant under real concurrency: what is drawn from a pool never exceeds
the pool. Three replicas of the factors API (each its own engine and connection pool) share one
PostgreSQL database and take many simultaneous requests. The same tests run on the embedded
SQLite default in tests/api/factors/test_ledger_concurrency.py."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.factors import service
from services.factors.main import SERVICE
from services.factors.models import Allocation, Pool, ProjectView, ReplacementSource, outbox
from shared.clock import today_in_shanghai
from shared.db import utcnow
from shared.events.catalogue import factors as ev
from shared.events.catalogue.factors import ReleaseCause
from shared.migrations import upgrade
from shared.uow import record_event
from tests.conftest import (
    COMMANDER,
    create_database,
    make_settings,
    start_service,
    wait_until,
)

pytestmark = pytest.mark.integration

REPLICAS = 3


@dataclass
class Replicas:
    clients: list[httpx.AsyncClient]
    runtimes: list[Any]

    @property
    def runtime(self) -> Any:
        """The first replica's runtime, for reading the database."""
        return self.runtimes[0]

    def client(self, i: int) -> httpx.AsyncClient:
        return self.clients[i % len(self.clients)]


@pytest.fixture
async def replicas(postgres_server: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    async with started_replicas(await create_database(postgres_server), tmp_path) as started:
        yield started


@contextlib.asynccontextmanager
async def started_replicas(url: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    """REPLICAS factors APIs over the database at `url`."""
    await upgrade(SERVICE, url)
    started = []
    for _ in range(REPLICAS):
        app, lifespan = await start_service(
            SERVICE, make_settings("factors", url, tmp_path), with_worker=False
        )
        started.append((app, lifespan))
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://factors")
        for app, _ in started
    ]
    try:
        yield Replicas(clients, [app.state.runtime for app, _ in started])
    finally:
        for client in clients:
            await client.aclose()
        for _, lifespan in started:
            await lifespan.__aexit__(None, None, None)


async def known_projects(replicas: Replicas, levels: list[str | None]) -> list[str]:
    """Projects in the factors projection (the registry's events put them there elsewhere; the
    projection is this service's own table, so the test writes it as its setup)."""
    ids = []
    async with replicas.runtime.session_factory() as session, session.begin():
        for level in levels:
            project_id = str(uuid.uuid4())
            session.add(
                ProjectView(
                    id=project_id,
                    name=f"并发测试-{project_id[:8]}",
                    county="371602",
                    level=level,
                    stage="reserve",
                    version=1,
                    updated_at=utcnow(),
                )
            )
            ids.append(project_id)
    return ids


async def new_pool(replicas: Replicas, amount: str, **extra: Any) -> str:
    body = {
        "factor": "land",
        "year": 2000 + int(uuid.uuid4().int % 90),
        "scope": "city",
        "amount": amount,
        **extra,
    }
    r = await replicas.client(0).post("/v1/pools", json=body, headers=COMMANDER)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def ledger(replicas: Replicas, pool_id: str) -> tuple[Pool, Decimal, int]:
    """The pool row, the sum of its active allocations, and its allocation events."""
    async with replicas.runtime.session_factory() as session:
        pool = await session.get(Pool, pool_id)
        assert pool is not None
        active = await session.scalar(
            select(func.coalesce(func.sum(Allocation.charged), 0)).where(
                Allocation.pool_id == pool_id, Allocation.status == "active"
            )
        )
        events = await session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.type == "kuaiche.factor.allocated.v1", outbox.c.payload.contains(pool_id)
            )
        )
    return pool, Decimal(active), int(events or 0)


async def allocate_all(
    replicas: Replicas, pool_id: str, projects: list[str], amount: str
) -> list[httpx.Response]:
    async def one(i: int, project_id: str) -> httpx.Response:
        return await replicas.client(i).post(
            "/v1/allocations",
            json={"pool_id": pool_id, "project_id": project_id, "amount": amount},
            headers=COMMANDER,
        )

    return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(projects))))


async def test_concurrent_allocations_grant_exactly_as_many_as_fit(replicas: Replicas) -> None:
    pool_id = await new_pool(replicas, "100")
    projects = await known_projects(replicas, ["city_key"] * 60)

    answers = await allocate_all(replicas, pool_id, projects, "7")

    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 14, statuses  # 14 × 7 = 98 fits, a 15th would be 105
    assert statuses.count(409) == 46, statuses
    for r in answers:
        if r.status_code == 409:
            assert r.json()["remaining"] == "2", r.text  # what was left when it was refused
            assert "2 remains" in r.json()["detail"]
    pool, active, events = await ledger(replicas, pool_id)
    assert pool.allocated == active == Decimal(98)
    assert events == 14


async def test_a_ring_fence_holds_under_concurrency(replicas: Replicas) -> None:
    # 60 of 100 are kept for city key projects and above; county key projects share the rest.
    pool_id = await new_pool(
        replicas, "100", ring_fences=[{"min_level": "city_key", "amount": "60"}]
    )
    county = await known_projects(replicas, ["county_key"] * 20)
    city = await known_projects(replicas, ["city_key"] * 20)

    answers = await allocate_all(replicas, pool_id, [*county, *city], "10")

    granted = {p for p, r in zip([*county, *city], answers, strict=True) if r.status_code == 201}
    assert len(granted & set(county)) <= 4  # never into the fenced 60
    assert len(granted) == 10  # the pool is filled exactly, whatever the order
    pool, active, _ = await ledger(replicas, pool_id)
    assert pool.allocated == active == Decimal(100)


async def test_releases_and_allocations_racing_keep_the_ledger_exact(
    replicas: Replicas,
) -> None:
    pool_id = await new_pool(replicas, "100")
    first = await known_projects(replicas, ["city_key"] * 10)
    held = await allocate_all(replicas, pool_id, first, "10")
    assert [r.status_code for r in held] == [201] * 10  # the pool is full
    later = await known_projects(replicas, ["city_key"] * 12)

    async def release(i: int, allocation_id: str) -> httpx.Response:
        return await replicas.client(i).post(
            f"/v1/allocations/{allocation_id}/release",
            json={"reason": "并发收回"},
            headers=COMMANDER,
        )

    # Six releases (one of them twice) race twelve new requests for the same room.
    to_release = [r.json()["id"] for r in held[:6]]
    results = await asyncio.gather(
        *(release(i, a) for i, a in enumerate([*to_release, to_release[0]])),
        allocate_all(replicas, pool_id, later, "10"),
    )
    releases: list[httpx.Response] = list(results[:-1])  # type: ignore[arg-type]
    allocations: list[httpx.Response] = results[-1]  # type: ignore[assignment]

    assert sorted(r.status_code for r in releases) == [200] * 6 + [409]
    assert all(r.status_code in (201, 409) for r in allocations), [r.text for r in allocations]
    new = sum(r.status_code == 201 for r in allocations)
    assert new <= 6
    pool, active, _ = await ledger(replicas, pool_id)
    assert pool.allocated == active == Decimal(10 * (10 - 6 + new))
    assert pool.released == Decimal(60)
    assert pool.allocated <= pool.amount


async def test_expiry_scans_on_every_replica_release_each_allocation_once(
    replicas: Replicas,
) -> None:
    pool_id = await new_pool(replicas, "1000")
    today = today_in_shanghai()
    projects = await known_projects(replicas, ["city_key"] * 30)
    for i, project_id in enumerate(projects):
        r = await replicas.client(i).post(
            "/v1/allocations",
            json={
                "pool_id": pool_id,
                "project_id": project_id,
                "amount": "10",
                "use_by": str(today),
            },
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text

    tomorrow = today + dt.timedelta(days=1)
    counts = await asyncio.gather(
        *(service.release_expired(rt.uow, tomorrow) for rt in replicas.runtimes)
    )

    assert sum(counts) == 30  # between them, each allocation once
    pool, active, _ = await ledger(replicas, pool_id)
    assert pool.allocated == active == Decimal(0) and pool.released == Decimal(300)
    async with replicas.runtime.session_factory() as session:
        releases = await session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.type == "kuaiche.factor.released.v1", outbox.c.payload.contains(pool_id)
            )
        )
    assert releases == 30


# ---------------------------------------------------------------- a withdrawal racing the ledger
# Deterministic interleavings on PostgreSQL: one transaction holds a lock while the withdrawal
# handler's release runs into it; the test waits until the handler is blocked, then moves on.
@pytest.fixture
async def on_postgres(postgres_server: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    url = await create_database(postgres_server)
    await upgrade(SERVICE, url)
    app, lifespan = await start_service(
        SERVICE, make_settings("factors", url, tmp_path), with_worker=False
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://factors")
    try:
        yield Replicas([client], [app.state.runtime])
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


def emitter(session: AsyncSession) -> service.Emit:
    return partial(record_event, session, outbox, source=ev.SOURCE, topic="kuaiche.factors")


async def withdrawal_releases(replicas: Replicas, project_id: str) -> int:
    """What the handler of a project's withdrawal does after updating the projection."""
    async with replicas.runtime.session_factory() as session, session.begin():
        await session.scalar(
            select(ProjectView).where(ProjectView.id == project_id).with_for_update()
        )
        return await service.release_for_withdrawn_project(
            session, emitter(session), project_id, actor="test:registry"
        )


async def someone_waits_for_a_lock(replicas: Replicas) -> bool:
    async with replicas.runtime.session_factory() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def allocated(replicas: Replicas, body: dict[str, Any]) -> str:
    r = await replicas.client(0).post("/v1/allocations", json=body, headers=COMMANDER)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_withdrawal_passes_over_an_allocation_released_while_it_waited(
    on_postgres: Replicas,
) -> None:
    [project] = await known_projects(on_postgres, ["city_key"])
    pool_id = await new_pool(on_postgres, "100")
    allocation_id = await allocated(
        on_postgres, {"pool_id": pool_id, "project_id": project, "amount": "10"}
    )

    async with on_postgres.runtime.session_factory() as manual, manual.begin():
        allocation = await manual.get(Allocation, allocation_id)
        assert allocation is not None
        await service.release_allocation(
            manual,
            emitter(manual),
            allocation,
            cause=ReleaseCause.MANUAL,
            reason="指挥部收回",
            actor="test:commander",
        )
        # the handler still sees the allocation active, and waits for its pool
        handler = asyncio.create_task(withdrawal_releases(on_postgres, project))
        await wait_until(lambda: someone_waits_for_a_lock(on_postgres))

    assert await handler == 0  # released once, by hand; the withdrawal is still applied
    pool, active, _ = await ledger(on_postgres, pool_id)
    assert pool.allocated == active == Decimal(0) and pool.released == Decimal(10)


async def test_a_withdrawal_over_several_pools_takes_every_pool_before_any_source(
    on_postgres: Replicas,
) -> None:
    # The withdrawn project drew COD from two pools (two years), each against its own source;
    # meanwhile an allocation for another project holds the later pool and wants the first
    # source. Locking pool, source, pool, source would deadlock with it.
    [withdrawn, other] = await known_projects(on_postgres, ["city_key", "city_key"])
    year = 2000 + int(uuid.uuid4().int % 80)
    pools = sorted(
        [
            await new_pool(on_postgres, "100", factor="pollutant", pollutant="COD", year=y)
            for y in (year, year + 1)
        ]
    )
    sources = []
    for name in ("关停造纸厂", "提标污水处理厂"):
        r = await on_postgres.client(0).post(
            "/v1/replacement-sources",
            json={"pollutant": "COD", "name": name, "kind": "closed", "amount": "50"},
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
        sources.append(r.json()["id"])
    for pool_id, source_id in zip(pools, sources, strict=True):
        await allocated(
            on_postgres,
            {"pool_id": pool_id, "project_id": withdrawn, "amount": "5", "source_id": source_id},
        )

    async with on_postgres.runtime.session_factory() as allocation, allocation.begin():
        for row in (ProjectView, other), (Pool, pools[1]):
            await allocation.scalar(select(row[0]).where(row[0].id == row[1]).with_for_update())
        handler = asyncio.create_task(withdrawal_releases(on_postgres, withdrawn))
        await wait_until(lambda: someone_waits_for_a_lock(on_postgres))
        await allocation.scalar(
            select(ReplacementSource).where(ReplacementSource.id == sources[0]).with_for_update()
        )

    assert await handler == 2
    for pool_id in pools:
        pool, active, _ = await ledger(on_postgres, pool_id)
        assert pool.allocated == active == Decimal(0) and pool.released == Decimal(5)
