"""What the benchmarks share: the machine line, fresh PostgreSQL databases, a figures table.

Not a benchmark itself. The scripts put the repository root on sys.path and import this as
`bench.common`, so they run as `.venv/bin/python bench/<name>.py` from anywhere.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import uuid
from collections.abc import Sequence
from importlib import metadata


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
