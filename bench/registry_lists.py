"""The registry's project list at a province's size: `GET /v1/projects` filtered, its first page
and a deep page (by offset and by cursor), at 1,000 projects and at N, on PostgreSQL.

In one run, per size (1,000, then N; default 200,000, `--projects 1000000` for a province's
library): a fresh database migrated to 0001, N synthetic projects loaded by one INSERT … SELECT
FROM generate_series (deterministic: `load_projects`), the rest of the migrations (so the list's
indexes are built in bulk, as upgrading a full registry would), VACUUM ANALYZE; then the registry
app (`build_app(SERVICE, settings)`, httpx's ASGITransport, a commander token) answers each case
`--requests` times one after another, after a few warm-up requests. It prints p50 and p99
(nearest rank) per case and size, and p99 at N over p99 at 1,000 against the issue's target (2×).

    .venv/bin/python bench/registry_lists.py [--projects 200000] [--requests 100] \
        [--postgres postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection  # noqa: E402

from bench import common  # noqa: E402
from services.registry.domain.enums import Level  # noqa: E402
from services.registry.main import SERVICE  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.config import ServiceSettings  # noqa: E402
from shared.http.app import build_app  # noqa: E402
from shared.http.conventions import encode_cursor  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

PROG = "registry_lists"
WARMUP = 20
SMALL = 1000
INDUSTRIES = (
    "新材料",
    "高端装备",
    "化工",
    "纺织",
    "食品",
    "物流",
    "文旅",
    "新能源",
    "医养",
    "数字经济",
)
# stages in proportion: planning 10%, reserve 20%, started 40%, completed 20%, withdrawn 10%
STAGES = ("planning", "reserve", "reserve", "started", "started", "started", "started")
STAGES += ("completed", "completed", "withdrawn")
RARE_TAG = "数字经济"  # one project in a thousand
COMMON_TAG = "新旧动能转换"  # one in four


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def load_sql(first: int, last: int) -> str:
    """Projects first..last (1-based), each a function of its number: the bench counties in turn,
    one in ten on the key list (the levels in turn), a third preparation, stages in proportion,
    a unique code, tags as above, created a minute apart per pair (so the id breaks ties)."""
    levels = tuple(level.value for level in Level)
    return f"""
    INSERT INTO projects (id, name, county, level, track, stage, code, total_investment, tags,
                          content, version, created_at, updated_at, created_by)
    SELECT md5('kuaiche-' || i)::uuid::text,
           '滨州市' || ({_array(INDUSTRIES)})[1 + i % 10] || '项目' || i || '号 年产'
               || (i % 90 + 1) || '万吨配套设施建设',
           ({_array(common.COUNTIES)})[1 + i % {len(common.COUNTIES)}],
           CASE WHEN i % 10 = 0 THEN ({_array(levels)})[1 + (i / 10) % {len(levels)}] END,
           CASE WHEN i % 3 = 0 THEN 'preparation' ELSE 'implementation' END,
           ({_array(STAGES)})[1 + (i / 7) % 10],
           '2104-' || ({_array(common.COUNTIES)})[1 + i % {len(common.COUNTIES)}] || '-04-01-'
               || lpad(i::text, 7, '0'),
           1000 + (i::bigint * 7919) % 2000000 + 0.5,
           (CASE WHEN i % 1000 = 0 THEN '["{RARE_TAG}", "{COMMON_TAG}"]'
                 WHEN i % 4 = 0 THEN '["{COMMON_TAG}"]' ELSE '[]' END)::json,
           '新建生产车间、仓库及配套设施，购置生产设备。',
           1,
           timestamptz '2020-01-01 00:00:00+00' + (i / 2) * interval '1 minute',
           timestamptz '2020-01-01 00:00:00+00' + (i / 2) * interval '1 minute',
           'commander:bench'
    FROM generate_series({first}, {last}) AS i
    """


async def load_projects(conn: AsyncConnection, count: int, chunk: int = 200_000) -> None:
    """`count` projects by bulk INSERT (chunks of `chunk`, one statement each)."""
    for first in range(1, count + 1, chunk):
        await conn.execute(text(load_sql(first, min(count, first + chunk - 1))))


async def vacuum_analyze(url: str) -> None:
    """Fresh statistics and visibility map, as autovacuum would leave them (VACUUM runs outside
    a transaction, hence a plain asyncpg connection)."""
    conn = await asyncpg.connect(common.server_url(url))
    try:
        await conn.execute("VACUUM ANALYZE projects")
    finally:
        await conn.close()


async def prepared_database(url: str, count: int) -> float:
    """Migrate, load `count` projects, build the list's indexes, analyse; the seconds it took."""
    from shared.db import make_engine

    started = time.perf_counter()
    await upgrade(SERVICE, url, "0001")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await load_projects(conn, count)
    finally:
        await engine.dispose()
    await upgrade(SERVICE, url)
    await vacuum_analyze(url)
    return time.perf_counter() - started


def cases(count: int) -> list[tuple[str, dict[str, Any]]]:
    """(label, query) per case; the deep pages start at 90% of what their filter matches."""
    per_county = count // len(common.COUNTIES)
    deep, deep_county = count * 9 // 10, per_county * 9 // 10
    county = common.COUNTIES[0]
    return [
        ("first page, no filter", {}),
        ("first page, county", {"county": county}),
        ("first page, key=true", {"key": "true"}),
        ("first page, level", {"level": Level.CITY_KEY.value}),
        ("first page, stage", {"stage": "withdrawn"}),
        ("first page, county+stage", {"county": county, "stage": "started"}),
        ("first page, tag (0.1%)", {"tag": RARE_TAG}),
        ("first page, q (name, 10%)", {"q": "数字经济项目"}),
        ("first page, q (a code)", {"q": f"{count // 2:07d}"}),
        ("deep page, offset", {"offset": deep}),
        ("deep page, cursor", {"_cursor": deep}),
        ("deep county page, offset", {"county": county, "offset": deep_county}),
        ("deep county page, cursor", {"county": county, "_cursor": deep_county}),
    ]


async def cursor_at(url: str, position: int, county: str | None) -> str:
    """The cursor of the `position`-th project (0-based) of the list, as `next` would give it."""
    conn = await asyncpg.connect(common.server_url(url))
    try:
        where = "WHERE county = $2" if county else ""
        args: list[Any] = [position - 1] + ([county] if county else [])
        row = await conn.fetchrow(
            f"SELECT created_at, id FROM projects {where} ORDER BY created_at, id "
            "OFFSET $1 LIMIT 1",
            *args,
        )
    finally:
        await conn.close()
    return encode_cursor(row["created_at"], row["id"])


@dataclass
class Library:
    """A loaded database and the registry app serving it."""

    count: int
    url: str
    client: httpx.AsyncClient
    headers: dict[str, str]
    seconds: float  # to load, index and analyse


@contextlib.asynccontextmanager
async def serving(url: str, data_dir: Path, count: int) -> AsyncIterator[Library]:
    """Load `count` projects into the database at `url`, then serve it."""
    common.step(f"{count:,} projects: load, index, analyse")
    seconds = await prepared_database(url, count)
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
    app = build_app(SERVICE, settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Library(count, url, client, headers, seconds)
    finally:
        await lifespan.__aexit__(None, None, None)


async def _params(library: Library, query: dict[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in query.items() if not k.startswith("_")}
    if "_cursor" in query:
        params["cursor"] = await cursor_at(library.url, query["_cursor"], query.get("county"))
    return params


async def _page(library: Library, params: dict[str, Any]) -> list[str]:
    r = await library.client.get("/v1/projects", params=params, headers=library.headers)
    if r.status_code != 200:
        raise RuntimeError(f"GET /v1/projects {params}: {r.status_code} {r.text[:300]}")
    return [p["id"] for p in r.json()["items"]]


async def measure_cases(
    small: Library, big: Library, requests: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Per case, the latencies at both sizes, their requests alternating (small, big, small, …)
    so that the machine's load at any moment weighs on both alike. Each answer must be the page
    the first request got."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for (label, small_query), (_, big_query) in zip(
        cases(small.count), cases(big.count), strict=True
    ):
        common.step(label)
        both = [(small, await _params(small, small_query)), (big, await _params(big, big_query))]
        expected = [await _page(library, params) for library, params in both]
        for _ in range(WARMUP - 1):
            for library, params in both:
                await _page(library, params)
        latencies: tuple[list[float], list[float]] = ([], [])
        for _ in range(requests):
            for i, (library, params) in enumerate(both):
                started = time.perf_counter()
                ids = await _page(library, params)
                latencies[i].append(time.perf_counter() - started)
                if ids != expected[i]:
                    raise RuntimeError(f"{label}: the same page changed between requests")
        out[label] = latencies
    return out


def _ms(latencies: list[float], p: float) -> float:
    return common.Figure("", "", latencies, 1).percentile(p)


async def run(args: argparse.Namespace) -> int:
    if args.projects < SMALL or args.requests < 1:
        raise SystemExit(f"--projects must be at least {SMALL}, --requests at least 1")
    pg = await common.postgres_facts(args.postgres)
    print(
        "\n".join(
            common.machine_lines(
                ["fastapi", "httpx", "SQLAlchemy", "asyncpg"],
                f"postgres: {common.hide_password(args.postgres)}, {pg}",
                f"projects: {SMALL:,} and {args.projects:,}; {args.requests} requests per case "
                f"after {WARMUP} warm-up, one at a time, the two sizes' requests alternating; "
                "limit 50 (the default)",
            )
        ),
        flush=True,
    )
    databases: list[str] = []
    results: dict[str, tuple[list[float], list[float]]] = {}
    seconds: list[float] = []

    async def measure() -> None:
        with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
            async with contextlib.AsyncExitStack() as stack:
                libraries = []
                for count in (SMALL, args.projects):
                    name, url = await common.create_database(args.postgres, "kbench_lists")
                    databases.append(name)
                    data_dir = Path(tmp) / str(count)
                    data_dir.mkdir()
                    libraries.append(await stack.enter_async_context(serving(url, data_dir, count)))
                seconds.extend(library.seconds for library in libraries)
                results.update(await measure_cases(*libraries, args.requests))

    if not await common.attempt(
        PROG, args.timeout, measure, lambda: common.drop_databases(PROG, args.postgres, databases)
    ):
        return 1
    n = f"{args.projects:,}"
    rows = []
    for label, (small, big) in results.items():
        ratio = _ms(big, 99) / _ms(small, 99)
        rows.append(
            [
                label,
                f"{_ms(small, 50):.2f}",
                f"{_ms(small, 99):.2f}",
                f"{_ms(big, 50):.2f}",
                f"{_ms(big, 99):.2f}",
                f"{ratio:.2f}×",
                "≤ 2×" if "offset" not in label else "(offset: for comparison)",
            ]
        )
    headers = ["GET /v1/projects", "p50 @1,000", "p99 @1,000", f"p50 @{n}", f"p99 @{n}"]
    print()
    print(common.table([*headers, "p99 ratio", "target"], rows))
    print(
        f"\nms per request through the app. Loading, indexing and analysing: "
        f"{seconds[0]:.1f} s at 1,000, {seconds[1]:.1f} s at {n}."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    options = common.parser(__doc__)
    options.add_argument("--projects", type=int, default=200_000, help="N (default 200000)")
    options.add_argument("--requests", type=int, default=100, help="per case (default 100)")
    options.add_argument(
        "--postgres",
        default="postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres",
        help="server URL of a role that may CREATE DATABASE (default: the local stack's)",
    )
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
