"""Registering projects through the registry's HTTP API, against plain SQLAlchemy INSERTs.

In one run, per database (the embedded SQLite default; PostgreSQL too with --postgres):

  ours  N `POST /v1/projects` (commander token) through httpx's ASGITransport into
        `build_app(services.registry.main.SERVICE, settings, with_worker=True)` after
        `shared.migrations.upgrade`, as tests/conftest.py starts it: validation, auth, the unit of
        work (project row, stage-history row, outbox row, one transaction) and the worker's outbox
        relay on the in-process bus, all in this process;
  bare  the same N project rows (read back from ours) inserted with SQLAlchemy Core into a table
        of the same shape (`projects`' columns, types and indexes) in a fresh database, one
        transaction per row, on an engine from `shared.db.make_engine` (same SQLite pragmas,
        same pool).

Requests go one after another by default (--concurrency for more). Before the clock, a few
requests (and a few bare inserts) warm each path up; they are not counted. Each database is
fresh (a temporary SQLite file, or a CREATE DATABASE with a unique name) and is removed after.

    .venv/bin/python bench/registry_api.py [--requests 1000] [--postgres URL] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import MetaData, func, insert, select  # noqa: E402

from bench import common  # noqa: E402
from services.registry.main import SERVICE  # noqa: E402
from services.registry.models import Base, Project, outbox  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.config import ServiceSettings  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.http.app import build_app  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

PROG = "registry_api"
WARMUP = 20


def bodies(count: int) -> list[dict[str, Any]]:
    """Distinct, valid registrations: unique names and national project codes."""
    return [
        common.project_fields(i)
        | {
            "planned_start": "2020-05-01",
            "planned_completion": "2022-12-31",
            "owner": "滨州某某新材料有限公司",
            "service_officer": "张三",
            "content": "新建生产车间、仓库及配套设施，购置生产设备。",
            "location": {"lng": "117.9708", "lat": "37.3817"},
        }
        for i in range(count)
    ]


# ---------------------------------------------------------------- ours: the HTTP API
async def through_api(
    url: str, data_dir: Path, payloads: list[dict[str, Any]], warmup: int, concurrency: int
) -> tuple[list[float], float, list[dict[str, Any]]]:
    """Timed registrations of payloads[warmup:]; returns latencies, seconds and every project row
    written (warm-up rows first, in request order) for the bare path to re-insert."""
    secret = secrets.token_urlsafe(48)
    settings = ServiceSettings(
        service="registry",
        port=0,
        database_url=url,
        kafka_bootstrap=None,
        jwt_secret=SecretStr(secret),
        data_dir=data_dir,
    )
    headers = {"Authorization": f"Bearer {issue_token(secret, role=Role.COMMANDER)}"}
    await upgrade(SERVICE, url)
    app = build_app(SERVICE, settings, with_worker=True)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    ids: list[str] = [""] * len(payloads)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:

            async def register(i: int) -> None:
                r = await client.post("/v1/projects", json=payloads[i], headers=headers)
                if r.status_code != 201:
                    raise RuntimeError(f"POST /v1/projects: {r.status_code} {r.text[:500]}")
                ids[i] = r.json()["id"]

            for i in range(warmup):
                await register(i)
            latencies, seconds = await common.timed(
                len(payloads) - warmup, concurrency, lambda i: register(warmup + i)
            )

        runtime = app.state.runtime
        async with runtime.engine.connect() as conn:
            rows = {
                r["id"]: dict(r) for r in (await conn.execute(select(Project.__table__))).mappings()
            }
            events = await conn.scalar(select(func.count()).select_from(outbox))
    finally:
        await lifespan.__aexit__(None, None, None)  # the relay's last sweep publishes the rest
    if len(rows) != len(payloads) or events != len(payloads):
        raise RuntimeError(f"{len(rows)} projects and {events} outbox rows for {len(payloads)}")
    return latencies, seconds, [rows[i] for i in ids]


# ---------------------------------------------------------------- bare: SQLAlchemy INSERTs
async def bare_inserts(
    url: str, rows: list[dict[str, Any]], warmup: int, concurrency: int
) -> tuple[list[float], float]:
    projects = Base.metadata.tables["projects"].to_metadata(MetaData())  # same shape, indexes
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(projects.metadata.create_all)

        async def insert_one(i: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(projects).values(**rows[i]))

        for i in range(warmup):
            await insert_one(i)
        latencies, seconds = await common.timed(
            len(rows) - warmup, concurrency, lambda i: insert_one(warmup + i)
        )
        async with engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(projects))
    finally:
        await engine.dispose()
    if count != len(rows):
        raise RuntimeError(f"bare path: {count} rows for {len(rows)}")
    return latencies, seconds


# ---------------------------------------------------------------- run
async def one_backend(
    backend: str,
    make_url: Callable[[str], Awaitable[str]],
    data_dir: Path,
    n: int,
    concurrency: int,
) -> list[common.Figure]:
    payloads = bodies(WARMUP + n)
    common.step(f"{backend}: {n} POST /v1/projects")
    latencies, seconds, rows = await through_api(
        await make_url("api"), data_dir, payloads, WARMUP, concurrency
    )
    ours = common.Figure(backend, "POST /v1/projects (API, worker on)", latencies, seconds)
    common.step(f"{backend}: {n} bare INSERTs")
    latencies, seconds = await bare_inserts(await make_url("bare"), rows, WARMUP, concurrency)
    bare = common.Figure(backend, "bare INSERT (SQLAlchemy Core)", latencies, seconds)
    ours.bare = bare
    return [ours, bare]


async def run(args: argparse.Namespace) -> int:
    n = args.requests
    if n < 1 or args.concurrency < 1:
        raise SystemExit("--requests and --concurrency must be at least 1")
    extra = ["sqlite: temporary files (WAL, synchronous=NORMAL, BEGIN IMMEDIATE: shared.db)"]
    if args.postgres:
        pg = await common.postgres_facts(args.postgres)
        extra.append(f"postgres: {common.hide_password(args.postgres)}, {pg}")
    extra.append(
        f"requests: N = {n} (after {WARMUP} warm-up requests), concurrency {args.concurrency}, "
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
                figures.extend(await one_backend(backend, make_url, tmp_dir, n, args.concurrency))

    if not await common.attempt(
        PROG, args.timeout, measure, lambda: common.drop_databases(PROG, args.postgres, databases)
    ):
        return 1

    print()
    print(common.figures_table("req/s", figures))
    print(
        "\nours/bare = our requests/s divided by the bare INSERTs' on the same database. "
        "Latencies per request (ours) or per transaction (bare)."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    options = common.parser(__doc__)
    options.add_argument("--requests", type=int, default=1000, help="N (default 1000)")
    common.add_optional_postgres(options)
    options.add_argument(
        "--concurrency", type=int, default=1, help="requests in flight (default 1)"
    )
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
