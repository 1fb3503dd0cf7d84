"""Allocating factors under contention through the factors API, against bare guarded UPDATEs.

In one run, per database (the embedded SQLite default; PostgreSQL too with --postgres):

  ours, one hot pool  N `POST /v1/allocations` (commander token), C in flight, all drawing on
        ONE pool just big enough for all N, through httpx's ASGITransport into
        `build_app(services.factors.main.SERVICE, settings, with_worker=True)` after
        `shared.migrations.upgrade`. Each request locks the project's projection row and the
        pool (SELECT ... FOR UPDATE), sums the pool's active allocations by level (the
        ring-fence check), inserts the allocation, updates the pool and writes the outbox event
        in one transaction; the worker's outbox relay runs in this process on the in-process bus.
        Every request waits on the same row lock: the worst case.
  ours, spread        the same, the N spread over P pools (allocation i on pool i mod P).
  ours, refusal       (after the hot run, its pool being full) N more requests on it, each
        refused with a 409: the cost of saying no.
  bare, one hot pool / spread   the same N allocations (the rows and outbox events ours wrote,
        read back) on an engine from `shared.db.make_engine`, in a fresh database migrated the
        same way: per allocation one transaction of
        `UPDATE pools SET allocated = allocated + :x ... WHERE id = :id AND allocated + :x <=
        amount RETURNING allocated`, the allocation INSERT and the outbox INSERT, C in flight.
        The leanest correct way to keep the invariant (no project lock, no ring-fence sum).

Projects are rows in the factors projection (`projects`), inserted as setup like
tests/integration/test_factors_ledger_under_concurrency.py does; pools are made with
`POST /v1/pools` (land, energy and water pools of past years, so no draw is an advance). After
each run, every pool's `allocated` must equal the sum of its active allocations and N allocations
must have been granted (refusal: none), or the script fails. 20 warm-up allocations (on a pool
of their own) precede the clock on each path. Databases are fresh (temporary SQLite files, or
CREATE DATABASE with unique names) and removed after, even on failure.

    .venv/bin/python bench/factors_ledger.py [--allocations 1000] [--concurrency 16]
        [--pools 16] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench import common  # noqa: E402
from services.factors.main import SERVICE  # noqa: E402
from services.factors.models import Base, ProjectView, outbox  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.config import ServiceSettings  # noqa: E402
from shared.db import make_engine, utcnow  # noqa: E402
from shared.http.app import build_app  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

PROG = "factors_ledger"
WARMUP = 20
AMOUNT = Decimal("2.5")  # per allocation; exact in binary too (SQLite keeps NUMERIC as REAL)
FACTORS = ("land", "energy", "water")
FIRST_YEAR = 1990
ALLOCATED = "kuaiche.factor.allocated.v1"

pools_t = Base.metadata.tables["pools"]
allocations_t = Base.metadata.tables["allocations"]


def pool_keys(count: int) -> list[tuple[str, int]]:
    """`count` distinct (factor, year) pairs of city pools, none of a year to come."""
    last = dt.date.today().year - 1
    keys = [(f, y) for y in range(FIRST_YEAR, last + 1) for f in FACTORS]
    if count > len(keys):
        raise SystemExit(f"--pools may be at most {len(keys) - 2}")
    return keys[:count]


@dataclass
class Layout:
    """Which pool each allocation of a run draws on, and how many each pool takes."""

    n: int
    spread: int
    warmup_pool: str = ""
    hot_pool: str = ""
    spread_pools: list[str] = field(default_factory=list)

    def spread_pool(self, i: int) -> str:
        return self.spread_pools[i % self.spread]

    def spread_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in range(self.n):
            counts[self.spread_pool(i)] = counts.get(self.spread_pool(i), 0) + 1
        return counts


async def check_ledger(engine: AsyncEngine, expected: dict[str, int], what: str) -> None:
    """Every pool in `expected`: `allocated` = the sum of its active allocations = its count of
    allocations × AMOUNT. Raises when not."""
    async with engine.connect() as conn:
        for pool_id, count in expected.items():
            allocated = await conn.scalar(
                select(pools_t.c.allocated).where(pools_t.c.id == pool_id)
            )
            drawn, rows = (
                await conn.execute(
                    select(func.coalesce(func.sum(allocations_t.c.charged), 0), func.count()).where(
                        allocations_t.c.pool_id == pool_id, allocations_t.c.status == "active"
                    )
                )
            ).one()
            want = AMOUNT * count
            if not (Decimal(str(allocated)) == Decimal(str(drawn)) == want and rows == count):
                raise RuntimeError(
                    f"{what}: pool {pool_id} has allocated {allocated}, its {rows} allocations "
                    f"sum to {drawn}; expected {count} allocations of {AMOUNT} = {want}"
                )


# ---------------------------------------------------------------- ours: the HTTP API
@dataclass
class ReadBack:
    """What ours wrote, for the bare path to write again: pool rows, and per run the allocation
    rows and outbox rows in request order."""

    pools: list[dict[str, Any]]
    warmup: list[tuple[dict[str, Any], dict[str, Any]]]
    hot: list[tuple[dict[str, Any], dict[str, Any]]]
    spread: list[tuple[dict[str, Any], dict[str, Any]]]


async def through_api(
    backend: str, url: str, data_dir: Path, layout: Layout, concurrency: int
) -> tuple[list[common.Figure], ReadBack]:
    n = layout.n
    secret = secrets.token_urlsafe(48)
    settings = ServiceSettings(
        service="factors",
        port=0,
        database_url=url,
        kafka_bootstrap=None,
        jwt_secret=SecretStr(secret),
        data_dir=data_dir,
    )
    headers = {"Authorization": f"Bearer {issue_token(secret, role=Role.COMMANDER)}"}
    await upgrade(SERVICE, url)
    app: FastAPI = build_app(SERVICE, settings, with_worker=True)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://factors") as client:

            async def new_pool(key: tuple[str, int], count: int) -> str:
                factor, year = key
                body = {
                    "factor": factor,
                    "year": year,
                    "scope": "city",
                    "amount": str(AMOUNT * count),
                }
                r = await client.post("/v1/pools", json=body, headers=headers)
                if r.status_code != 201:
                    raise RuntimeError(f"POST /v1/pools: {r.status_code} {r.text[:500]}")
                return str(r.json()["id"])

            keys = pool_keys(2 + layout.spread)
            layout.warmup_pool = await new_pool(keys[0], WARMUP)
            layout.hot_pool = await new_pool(keys[1], n)
            per_pool = [len(range(k, n, layout.spread)) for k in range(layout.spread)]
            layout.spread_pools = [
                await new_pool(key, count) for key, count in zip(keys[2:], per_pool, strict=True)
            ]

            # The projection: one project per allocation (no project lock is contended), the
            # levels in turn, so the ring-fence sum groups several levels.
            projects = [str(uuid.uuid4()) for _ in range(WARMUP + n)]
            async with runtime.session_factory() as session, session.begin():
                now = utcnow()
                session.add_all(
                    ProjectView(
                        id=p,
                        name=f"要素压测项目{i:05d}",
                        county=common.COUNTIES[i % len(common.COUNTIES)],
                        level=common.LEVELS[i % len(common.LEVELS)],
                        stage="implementation",
                        version=1,
                        updated_at=now,
                    )
                    for i, p in enumerate(projects)
                )

            async def allocate(pool_id: str, project_id: str, status: int) -> str:
                body = {"pool_id": pool_id, "project_id": project_id, "amount": str(AMOUNT)}
                r = await client.post("/v1/allocations", json=body, headers=headers)
                if r.status_code != status:
                    raise RuntimeError(
                        f"POST /v1/allocations: {r.status_code} (expected {status}) {r.text[:500]}"
                    )
                return str(r.json()["id"]) if status == 201 else ""

            warmup_ids = [await allocate(layout.warmup_pool, p, 201) for p in projects[:WARMUP]]
            await check_ledger(runtime.engine, {layout.warmup_pool: WARMUP}, "ours, warm-up")

            figures: list[common.Figure] = []

            async def measured(name: str, pool_of: Callable[[int], str], status: int) -> list[str]:
                ids = [""] * n

                async def one(i: int) -> None:
                    ids[i] = await allocate(pool_of(i), projects[WARMUP + i], status)

                common.step(f"{backend}: ours, {name}: {n} POST /v1/allocations")
                latencies, seconds = await common.timed(n, concurrency, one)
                figures.append(common.Figure(backend, f"ours, {name}", latencies, seconds))
                return ids

            hot_ids = await measured("one hot pool", lambda i: layout.hot_pool, 201)
            await check_ledger(runtime.engine, {layout.hot_pool: n}, "ours, one hot pool")
            spread_ids = await measured("spread", layout.spread_pool, 201)
            await check_ledger(runtime.engine, layout.spread_counts(), "ours, spread")
            await measured("refusal (full pool, 409)", lambda i: layout.hot_pool, 409)
            await check_ledger(runtime.engine, {layout.hot_pool: n}, "ours, refusal")

        async with runtime.engine.connect() as conn:
            pools = [dict(r) for r in (await conn.execute(select(pools_t))).mappings()]
            allocations = {
                r["id"]: dict(r) for r in (await conn.execute(select(allocations_t))).mappings()
            }
            events = {}
            for r in (
                await conn.execute(select(outbox).where(outbox.c.type == ALLOCATED))
            ).mappings():
                event = dict(r)
                del event["id"]
                event["published_at"] = None
                events[json.loads(event["payload"])["data"]["allocation_id"]] = event
    finally:
        await lifespan.__aexit__(None, None, None)
    if len(allocations) != WARMUP + 2 * n or len(events) != len(allocations):
        raise RuntimeError(
            f"ours: {len(allocations)} allocations and {len(events)} allocation events; "
            f"expected {WARMUP + 2 * n} of each"
        )

    def rows(ids: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(allocations[i], events[i]) for i in ids]

    return figures, ReadBack(pools, rows(warmup_ids), rows(hot_ids), rows(spread_ids))


# ---------------------------------------------------------------- bare: guarded UPDATEs
async def bare_updates(
    backend: str, url: str, layout: Layout, written: ReadBack, concurrency: int
) -> list[common.Figure]:
    n = layout.n
    await upgrade(SERVICE, url)  # the same schema as ours: tables, indexes, CHECKs
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(pools_t),
                [
                    p | {"allocated": 0, "advance_allocated": 0, "released": 0, "version": 1}
                    for p in written.pools
                ],
            )

        async def allocate(allocation: dict[str, Any], event: dict[str, Any]) -> None:
            charge = allocation["charged"]
            async with engine.begin() as conn:
                granted = (
                    await conn.execute(
                        update(pools_t)
                        .where(
                            pools_t.c.id == allocation["pool_id"],
                            pools_t.c.allocated + charge <= pools_t.c.amount,
                        )
                        .values(
                            allocated=pools_t.c.allocated + charge,
                            version=pools_t.c.version + 1,
                            updated_at=utcnow(),
                        )
                        .returning(pools_t.c.allocated)
                    )
                ).first()
                if granted is None:
                    raise RuntimeError(f"bare: pool {allocation['pool_id']} refused {charge}")
                await conn.execute(insert(allocations_t).values(**allocation))
                await conn.execute(insert(outbox).values(**event))

        for allocation, event in written.warmup:
            await allocate(allocation, event)
        await check_ledger(engine, {layout.warmup_pool: WARMUP}, "bare, warm-up")

        figures: list[common.Figure] = []
        for name, run, expected in (
            ("one hot pool", written.hot, {layout.hot_pool: n}),
            ("spread", written.spread, layout.spread_counts()),
        ):
            common.step(f"{backend}: bare, {name}: {n} guarded UPDATE + 2 INSERTs")

            async def one(i: int, run: list[tuple[dict[str, Any], dict[str, Any]]] = run) -> None:
                await allocate(*run[i])

            latencies, seconds = await common.timed(n, concurrency, one)
            figures.append(common.Figure(backend, f"bare, {name}", latencies, seconds))
            await check_ledger(engine, expected, f"bare, {name}")
        async with engine.connect() as conn:
            events = await conn.scalar(select(func.count()).select_from(outbox))
        if events != WARMUP + 2 * n:
            raise RuntimeError(f"bare: {events} outbox rows; expected {WARMUP + 2 * n}")
    finally:
        await engine.dispose()
    return figures


# ---------------------------------------------------------------- run
async def one_backend(
    backend: str,
    make_url: Callable[[str], Awaitable[str]],
    data_dir: Path,
    n: int,
    concurrency: int,
    spread: int,
) -> list[common.Figure]:
    layout = Layout(n, spread)
    ours, written = await through_api(
        backend, await make_url("ours"), data_dir, layout, concurrency
    )
    bare = await bare_updates(backend, await make_url("bare"), layout, written, concurrency)
    ours[0].bare, ours[1].bare = bare
    return [ours[0], bare[0], ours[1], bare[1], ours[2]]


async def run(args: argparse.Namespace) -> int:
    n, concurrency, spread = args.allocations, args.concurrency, args.pools
    if n < 1 or concurrency < 1 or spread < 1:
        raise SystemExit("--allocations, --concurrency and --pools must be at least 1")
    if spread > n:
        raise SystemExit("--pools may not exceed --allocations (every pool takes one at least)")
    pool_keys(2 + spread)  # refuse too many pools before anything starts
    extra = ["sqlite: temporary files (WAL, synchronous=NORMAL, BEGIN IMMEDIATE: shared.db)"]
    if args.postgres:
        pg = await common.postgres_facts(args.postgres)
        extra.append(f"postgres: {common.hide_password(args.postgres)}, {pg}")
    extra.append(
        f"allocations: N = {n} of {AMOUNT} (after {WARMUP} warm-up allocations), "
        f"concurrency {concurrency}, spread over {spread} pools, one API process, "
        "bus: in-process"
    )
    print(
        "\n".join(
            common.machine_lines(["fastapi", "httpx", "SQLAlchemy", "aiosqlite", "asyncpg"], *extra)
        ),
        flush=True,
    )

    figures: list[common.Figure] = []
    databases: list[str] = []

    async def measure() -> None:
        with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
            tmp_dir = Path(tmp)

            for backend, make_url in common.database_makers(tmp_dir, args.postgres, databases):
                figures.extend(
                    await one_backend(backend, make_url, tmp_dir, n, concurrency, spread)
                )

    if not await common.attempt(
        PROG, args.timeout, measure, lambda: common.drop_databases(PROG, args.postgres, databases)
    ):
        return 1

    print()
    print(common.figures_table("alloc/s", figures))
    print(
        "\nours/bare = our allocations/s divided by the bare path's on the same database and "
        "pools. Latency per request (ours) or per transaction (bare), queueing included. "
        "Every ledger checked after each run: allocated = sum of its allocations, N granted "
        "(refusal: N refused, none granted)."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    options = common.parser(__doc__)
    options.add_argument("--allocations", type=int, default=1000, help="N (default 1000)")
    options.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight (default 16)"
    )
    options.add_argument(
        "--pools", type=int, default=16, help="P, pools of the spread rows (default 16)"
    )
    common.add_optional_postgres(options)
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
