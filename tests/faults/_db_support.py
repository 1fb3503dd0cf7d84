"""What the database faults (the outage, the restore drill) run on: a private PostgreSQL cluster
and Kafka broker on free ports with their own state directories (scripts/postgres.sh,
scripts/kafka.sh), every service as `kuaiche serve NAME` and `kuaiche worker NAME` processes,
and direct SQL on the private cluster for the checks. Never the shared servers of the other
tests: these faults stop the database and drop its databases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.auth import Role, issue_token

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "factors", "issues", "scoring", "notifications")
SECRET = "db-faults-secret-" + "d" * 40
COMMANDER = {"Authorization": f"Bearer {issue_token(SECRET, role=Role.COMMANDER)}"}
START_TIMEOUT = 120.0


def free_port(pair: bool = False) -> int:
    """A free 127.0.0.1 port (with `pair`, the next one is free too: Kafka's controller)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port + 1))
            return port
    raise RuntimeError("no free port")


def _script(name: str, action: str, env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run(
            [str(ROOT / "scripts" / name), action],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            timeout=300,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{name} {action} failed:\n{log.read_text()[-3000:]}")


@dataclass
class PrivatePostgres:
    state: Path
    port: int = field(default_factory=free_port)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUAICHE_PG_PORT": str(self.port),
            "KUAICHE_PG_STATE_DIR": str(self.state),
        }

    def start(self) -> None:
        _script("postgres.sh", "start", self.env(), self.state.parent / "postgres-script.log")

    def stop(self) -> None:
        _script("postgres.sh", "stop", self.env(), self.state.parent / "postgres-script.log")

    def reset(self) -> None:
        _script("postgres.sh", "reset", self.env(), self.state.parent / "postgres-script.log")

    def dsn(self, database: str) -> str:
        return f"postgresql://kuaiche:kuaiche@127.0.0.1:{self.port}/{database}"

    def bin(self, tool: str) -> str:
        """A PostgreSQL client tool of the server's own version (pg_dump must not be older)."""
        newest = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=_version)
        return str(newest[-1]) if newest else tool


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in path.parts[-3].split(".") if p.isdigit())


@dataclass
class PrivateKafka:
    state: Path
    port: int = field(default_factory=lambda: free_port(pair=True))

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUAICHE_KAFKA_PORT": str(self.port),
            "KUAICHE_KAFKA_STATE_DIR": str(self.state),
            "KUAICHE_KAFKA_HEAP": "384m",
        }

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        # The broker's jars, fetched once by Maven into the checkout's default state dir
        # (or KUAICHE_FAULTS_KAFKA_LIB), so that a private broker does not fetch them again.
        mine = self.state / "lib"
        for lib in (
            Path(os.environ.get("KUAICHE_FAULTS_KAFKA_LIB", "/nonexistent")),
            ROOT / ".local" / "kafka" / "lib",
        ):
            if (lib / ".complete").exists() and not mine.exists():
                self.state.mkdir(parents=True, exist_ok=True)
                mine.symlink_to(lib.resolve())
        _script("kafka.sh", "start", self.env(), self.state.parent / "kafka-script.log")

    def stop(self) -> None:
        _script("kafka.sh", "stop", self.env(), self.state.parent / "kafka-script.log")


@dataclass
class Suite:
    """The five services as processes (an API and a worker each) on a private stack."""

    postgres: PrivatePostgres
    kafka: PrivateKafka
    logs: Path
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KUAICHE_") or k.startswith("KUAICHE_PG_BINDIR")
        }
        env.update(
            PYTHONPATH=str(ROOT),
            KUAICHE_DATABASE_URL=(
                f"postgresql+asyncpg://kuaiche:kuaiche@127.0.0.1:{self.postgres.port}"
                "/kuaiche_{service}"
            ),
            KUAICHE_KAFKA_BOOTSTRAP=self.kafka.bootstrap,
            KUAICHE_JWT_SECRET=SECRET,
            KUAICHE_DATA_DIR=str(self.logs / "data"),
            KUAICHE_RELAY_INTERVAL="0.2",
        )
        for service, port in self.ports.items():
            env[f"KUAICHE_{service.upper()}_PORT"] = str(port)
        return env

    def kuaiche(self, *args: str) -> str:
        """Run a `kuaiche` command to its end; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "kuaiche.cli", *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kuaiche {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self) -> None:
        for service in SERVICES:
            for kind in ("serve", "worker"):
                name = f"{service}-{kind}"
                with self.log(name).open("ab") as out:
                    self.processes[name] = subprocess.Popen(
                        [sys.executable, "-m", "kuaiche.cli", kind, service],
                        env=self.env(),
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
        deadline = time.monotonic() + START_TIMEOUT
        for service in SERVICES:
            while not self._ready(service):
                self.assert_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} not ready; see {self.log(service + '-serve')}")
                time.sleep(0.3)

    def _ready(self, service: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url(service)}/readyz", timeout=10).status_code == 200
        return False

    def assert_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        assert not dead, f"processes exited: {dead} (logs in {self.logs})"

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def client(self, service: str, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url(service), headers=COMMANDER, timeout=timeout)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(SERVICES)
        while waiting:
            waiting = [s for s in waiting if not self._ready(s)]
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"not ready again within {timeout}s: {waiting}")
            time.sleep(0.5)

    async def sql(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.postgres.dsn(f"kuaiche_{service}"), timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def settled(self, timeout: float = 90.0) -> None:
        """Wait until every outbox row of every service is published and every consumer has
        applied what was published: the projections stop changing and no row is pending."""
        deadline = time.monotonic() + timeout
        while True:
            pending = {
                s: (await self.sql(s, "SELECT count(*) FROM outbox WHERE published_at IS NULL"))[0][
                    0
                ]
                for s in SERVICES
            }
            if not any(pending.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"outbox rows still unpublished after {timeout}s: {pending}")
            await asyncio.sleep(0.5)

    async def wait_count(self, service: str, query: str, at_least: int) -> None:
        """Wait until `query` (a count) on `service`'s database reaches `at_least`."""
        deadline = time.monotonic() + 90
        while (count := (await self.sql(service, query))[0][0]) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"{service}: {query} = {count}, expected >= {at_least}")
            await asyncio.sleep(0.3)


@contextlib.contextmanager
def private_suite(base: Path) -> Iterator[Suite]:
    """A private PostgreSQL and Kafka, migrated, the five services running; all stopped and
    removed after."""
    base.mkdir(parents=True, exist_ok=True)
    # Unix socket paths are short: the state dir lives under /tmp, reachable by `postgres`.
    state = Path(f"/tmp/kuaiche-dbf-{uuid.uuid4().hex[:8]}")
    state.mkdir(mode=0o755)
    postgres = PrivatePostgres(state / "postgres")
    kafka = PrivateKafka(state / "kafka")
    suite = Suite(postgres, kafka, base)
    try:
        postgres.start()
        kafka.start()
        suite.kuaiche("migrate")
        suite.start()
        yield suite
    finally:
        suite.stop()
        with contextlib.suppress(Exception):
            kafka.stop()
        with contextlib.suppress(Exception):
            postgres.reset()
        shutil.rmtree(state, ignore_errors=True)


def new_project(index: int) -> dict[str, Any]:
    return {
        "name": f"故障演练项目 {index}",
        "county": ("371602", "371603", "371625", "371681")[index % 4],
        "track": "implementation",
        "stage": "started",
        "actual_start": f"2020-03-{1 + index % 28:02d}",
        "total_investment": f"{1000 + index}",
    }


def new_issue(project_id: str, index: int) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "category": ("land", "energy", "funds")[index % 3],
        "title": f"要素缺口 {index}",
        "description": "故障演练",
        "source": "task_force",
    }


class Traffic:
    """Requests sent one after another from a thread while a fault happens: a project
    registered, a problem reported on `project`, a read of each other service. Keeps every
    answer's status, the ids of what was acknowledged (201), and every request that got no
    answer within `timeout` or whose service was gone."""

    def __init__(self, suite: Suite, project: str, timeout: float) -> None:
        self.suite = suite
        self.project = project
        self.timeout = timeout
        self.statuses: list[tuple[str, str, int]] = []
        self.created: dict[str, list[str]] = {"registry": [], "issues": []}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout * 2)

    def _run(self) -> None:
        calls: list[tuple[str, str, str, Any]] = [
            ("registry", "POST", "/v1/projects", lambda i: new_project(1000 + i)),
            ("issues", "POST", "/v1/issues", lambda i: new_issue(self.project, 1000 + i)),
            ("factors", "GET", "/v1/pools", None),
            ("scoring", "GET", "/v1/scorecards?year=2020&month=3", None),
            ("notifications", "GET", "/v1/recipients", None),
        ]
        clients = {s: self.suite.client(s, timeout=self.timeout) for s in SERVICES}
        try:
            i = 0
            while not self._stop.is_set():
                service, method, path, body = calls[i % len(calls)]
                i += 1
                try:
                    r = clients[service].request(method, path, json=body(i) if body else None)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{service} {method} {path}: {exc!r}")
                    continue
                self.statuses.append((service, method, r.status_code))
                if r.status_code == 201:
                    self.created[service].append(r.json()["id"])
        finally:
            for client in clients.values():
                client.close()
