"""What the benchmarks share: the machine line, fresh PostgreSQL databases, the projects they
register, a figures table, and the frame of a run (arguments, time limit, errors, clean-up).

Not a benchmark itself. The scripts put the repository root on sys.path and import this
(`from bench import common`), so they run as `.venv/bin/python bench/<name>.py` from anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import platform
import re
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

COUNTIES = ("371602", "371603", "371621", "371622", "371623", "371625", "371681", "371691")
LEVELS = (None, "county_key", "city_key", "provincial_preferred")


def project_fields(i: int) -> dict[str, Any]:
    """The i-th benchmark project's fields, as the API takes them and the registry's events carry
    them: a unique name and national project code, the counties, levels and tracks in turn."""
    county = COUNTIES[i % len(COUNTIES)]
    return {
        "name": f"滨州市重点项目{i:05d}号 年产{i % 90 + 1}万吨新材料及配套设施建设项目",
        "county": county,
        "level": LEVELS[i % len(LEVELS)],
        "track": "implementation" if i % 3 else "preparation",
        "code": f"2104-{county}-04-01-{i:06d}",
        "total_investment": f"{1000 + (i * 7919) % 2_000_000}.5",
        "leader": "市委常委、副市长",
        "responsible_unit": "市发展和改革委员会",
        "industry": "新材料",
        "tags": ["新旧动能转换", "双招双引"],
    }


def server_url(url: str) -> str:
    """A plain libpq URL (asyncpg.connect wants no SQLAlchemy driver suffix)."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def database_url(server: str, name: str) -> str:
    """The SQLAlchemy (asyncpg) URL of database `name` on the server of `server`."""
    base = server_url(server).split("?", 1)[0].rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


def hide_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def create_database(server: str, prefix: str) -> tuple[str, str]:
    """CREATE DATABASE with a unique name; returns (name, SQLAlchemy URL)."""
    import asyncpg

    name = unique_name(prefix)
    conn = await asyncpg.connect(server_url(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, database_url(server, name)


async def drop_database(server: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def postgres_facts(server: str) -> str:
    """Version and the durability settings that decide commit cost."""
    import asyncpg

    conn = await asyncpg.connect(server_url(server))
    try:
        version = await conn.fetchval("SHOW server_version")
        fsync = await conn.fetchval("SHOW fsync")
        sync = await conn.fetchval("SHOW synchronous_commit")
    finally:
        await conn.close()
    return f"PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync})"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "? GiB"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _versions(packages: Sequence[str]) -> str:
    out = []
    for name in packages:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} ?")
    return ", ".join(out)


def machine_lines(packages: Sequence[str], *extra: str) -> list[str]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    py = sys.version.split()[0]
    return [
        f"machine: nproc {cpus} ({_cpu_model()}), memory {_memory_gib()}, "
        f"{platform.system()} {platform.release()}, Python {py}",
        f"libraries: {_versions(packages)}",
        *extra,
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, numbers right-aligned (every column but the first)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def ours_over_bare(ours: float, bare: float | None) -> str:
    """The `ours/bare` column: our rate divided by the bare stack's (blank on a bare row)."""
    return f"{ours / bare:.2f}" if bare else ""


def step(what: str) -> None:
    """Progress, on stderr (the figures go to stdout)."""
    print(f"... {what}", file=sys.stderr, flush=True)


def error(prog: str, what: str) -> None:
    print(f"{prog}: {what}", file=sys.stderr)


async def attempt(
    prog: str,
    seconds: float,
    measure: Callable[[], Awaitable[None]],
    clean_up: Callable[[], Awaitable[bool]],
) -> bool:
    """Run `measure()` within `seconds`, then `clean_up()` whatever happened (it removes what the
    run created). True when both went well; what went wrong is said on stderr."""
    measured = False
    try:
        async with asyncio.timeout(seconds):
            await measure()
        measured = True
    except TimeoutError:
        error(prog, f"error: not done within {seconds} s")
    except Exception:
        error(prog, "error:")
        traceback.print_exc()
    finally:
        cleaned = await clean_up()
    return measured and cleaned


async def drop_databases(prog: str, server: str, names: Iterable[str]) -> bool:
    """Drop every database in `names` (30 s a try, five tries each: DROP DATABASE ... WITH (FORCE)
    cannot end an autovacuum worker, another role's, which a database just filled may have for a
    moment); False, said on stderr, if one could not be."""
    ok = True
    for name in names:
        for attempt in range(5):
            try:
                await asyncio.wait_for(drop_database(server, name), 30)
                break
            except Exception as exc:
                if attempt == 4:
                    ok = False
                    error(prog, f"could not drop database {name}: {exc!r}")
                else:
                    await asyncio.sleep(1)
    return ok


def parser(doc: str) -> argparse.ArgumentParser:
    """The argument parser of a benchmark (described by its docstring's first paragraph), with the
    --timeout every benchmark takes."""
    out = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    out.add_argument(
        "--timeout", type=float, default=300, help="give up after this many seconds (300)"
    )
    return out


def add_optional_postgres(options: argparse.ArgumentParser) -> None:
    """--postgres for a benchmark that runs on the embedded SQLite default and, given a server,
    on PostgreSQL too."""
    options.add_argument(
        "--postgres",
        default=None,
        help="server URL of a role that may CREATE DATABASE, e.g. "
        "postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres (default: SQLite only)",
    )


DatabaseMaker = Callable[[str], Awaitable[str]]


def database_makers(
    tmp_dir: Path, postgres: str | None, databases: list[str]
) -> list[tuple[str, DatabaseMaker]]:
    """The backends a run compares on, each a maker of fresh databases by purpose: SQLite files
    under `tmp_dir`, and with `postgres` fresh PostgreSQL databases (their names are appended to
    `databases`, for `drop_databases` after the run)."""

    async def sqlite_url(what: str) -> str:
        return f"sqlite+aiosqlite:///{tmp_dir / f'{what}.sqlite3'}"

    makers: list[tuple[str, DatabaseMaker]] = [("sqlite", sqlite_url)]
    if postgres:

        async def postgres_url(what: str) -> str:
            name, url = await create_database(postgres, f"kbench_{what}")
            databases.append(name)
            return url

        makers.append(("postgres", postgres_url))
    return makers


def main(
    prog: str,
    options: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
    argv: list[str] | None = None,
) -> int:
    """Parse `argv` with `options`, then `run` the benchmark: its exit status, 130 on Ctrl-C, 1 on
    an error."""
    args = options.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    except Exception:
        error(prog, "error:")
        traceback.print_exc()
        return 1


@dataclass
class Figure:
    backend: str
    path: str
    latencies: list[float]
    seconds: float
    bare: Figure | None = None

    @property
    def per_second(self) -> float:
        return rate(len(self.latencies), self.seconds)

    def percentile(self, p: float) -> float:
        """Nearest rank, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


async def timed(
    count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[list[float], float]:
    """Run `one(i)` for i in range(count) on `concurrency` workers; each call's latency and the
    wall time of all."""
    latencies: list[float] = [0.0] * count
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            started = time.perf_counter()
            await one(i)
            latencies[i] = time.perf_counter() - started

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def figures_table(rate_label: str, figures: Sequence[Figure]) -> str:
    """The figures of a latency benchmark: per row N, seconds, rate, p50/p95 and ours/bare."""
    return table(
        ["database / path", "N", "seconds", rate_label, "p50 ms", "p95 ms", "ours/bare"],
        [
            [
                f"{f.backend}: {f.path}",
                str(len(f.latencies)),
                f"{f.seconds:.3f}",
                f"{f.per_second:,.0f}",
                f"{f.percentile(50):.2f}",
                f"{f.percentile(95):.2f}",
                ours_over_bare(f.per_second, f.bare.per_second if f.bare else None),
            ]
            for f in figures
        ],
    )
