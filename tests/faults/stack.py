"""The fault suite's own distributed stack: a private PostgreSQL cluster and Kafka broker on free
ports with their own state directories (scripts/postgres.sh, scripts/kafka.sh), and every
service as separate `kuaiche serve NAME` / `kuaiche worker NAME` processes, each of which a
fault can `kill -9` and start again. Never the shared servers of the other tests.

A fault is a function of the stack (tests/faults/faults.py). The database faults (PostgreSQL
stopped under the services, the restore drill) take a stack of their own, one API each
(conftest.py's `own_stack`), and use `Stack.postgres`, `stop_services`/`start_services` and the
SQL and readiness helpers below."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.auth import Role, issue_token
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "factors", "issues", "scoring", "notifications")
# Two API replicas where the workload writes; the rest one each. Every service's worker runs
# once; the rebalance fault adds a second replica for a while.
API_REPLICAS = {"registry": 2, "factors": 2, "issues": 2, "scoring": 1, "notifications": 1}
ONE_EACH = dict.fromkeys(SERVICES, 1)
SECRET = "fault-suite-secret-" + "k" * 40
COMMANDER = {"Authorization": f"Bearer {issue_token(SECRET, role=Role.COMMANDER)}"}
START_TIMEOUT = 120.0


def _run(script: str, action: str, env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run(
            [str(ROOT / "scripts" / script), action],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            timeout=300,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{script} {action} failed; see {log}:\n{log.read_text()[-3000:]}")


@dataclass
class Postgres:
    port: int
    state: Path
    log: Path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUAICHE_PG_PORT": str(self.port),
            "KUAICHE_PG_STATE_DIR": str(self.state),
        }

    def start(self) -> None:
        _run("postgres.sh", "start", self.env(), self.log)

    def stop(self) -> None:
        _run("postgres.sh", "stop", self.env(), self.log)

    def url(self, database: str) -> str:
        return f"postgresql://kuaiche:kuaiche@127.0.0.1:{self.port}/{database}"


@dataclass
class Broker:
    port: int
    state: Path
    log: Path

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

    def share_jars(self) -> None:
        """The broker's jars from the checkout's default state dir (fetched once by Maven
        there), so a private broker does not download them again."""
        mine = self.state / "lib"
        for candidate in (
            Path(os.environ.get("KUAICHE_FAULTS_KAFKA_LIB", "/nonexistent")),
            ROOT / ".local" / "kafka" / "lib",
        ):
            if (candidate / ".complete").exists() and not mine.exists():
                self.state.mkdir(parents=True, exist_ok=True)
                mine.symlink_to(candidate.resolve())
                return

    def start(self) -> None:
        self.share_jars()
        _run("kafka.sh", "start", self.env(), self.log)

    def stop(self) -> None:
        _run("kafka.sh", "stop", self.env(), self.log)

    def kill9(self) -> None:
        pid = int((self.state / "kafka.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.waitpid(pid, 0)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return False


@dataclass
class Process:
    """One `kuaiche serve NAME` or `kuaiche worker NAME` process."""

    name: str  # registry-api-1, factors-worker-1 ...
    service: str
    kind: str  # "api" or "worker"
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    killed_at: list[float] = field(default_factory=list)  # time.time() of each kill -9

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [sys.executable, "-m", "kuaiche.cli"]
        if self.kind == "api":
            args += ["serve", self.service, "--port", str(self.port)]
        else:
            args += ["worker", self.service]
        # a worker restarted under its name rejoins its groups as the member it was (static
        # membership): it resumes without waiting out the killed process's session
        env = {**self.env, "KUAICHE_INSTANCE_ID": self.name} if self.kind == "worker" else self.env
        with self.log.open("ab") as out:
            out.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            self.popen = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.started_at = time.monotonic()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}); see {self.log}")
            if self.kind == "api":
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{self.url}/livez", timeout=2).status_code == 200:
                        return
            elif b"worker running" in self.log.read_bytes().rsplit(b"===== start", 1)[-1]:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout}s; see {self.log}")

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.killed_at.append(time.time())
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()


@dataclass
class Stack:
    root: Path
    postgres: Postgres
    broker: Broker
    replicas: dict[str, int] = field(default_factory=lambda: dict(API_REPLICAS))
    processes: dict[str, Process] = field(default_factory=dict)

    @staticmethod
    def missing_tools() -> str:
        """What the scripts need and this machine lacks ("" when nothing)."""
        missing = []
        if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")) and not shutil.which(
            "pg_ctl"
        ):
            missing.append("PostgreSQL's server binaries")
        if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
            missing.append("Java 17+")
        return " and ".join(missing)

    @classmethod
    def create(cls, replicas: dict[str, int] = API_REPLICAS) -> Stack:
        root = Path(tempfile.mkdtemp(prefix="kuaiche-faults-"))
        root.chmod(0o755)  # PostgreSQL runs as its own OS user when we are root
        logs = root / "logs"
        logs.mkdir()
        return cls(
            root,
            Postgres(free_port(), root / "postgres", logs / "postgres.sh.log"),
            Broker(free_port(pair=True), root / "kafka", logs / "kafka.sh.log"),
            dict(replicas),
        )

    # ----------------------------------------------------------------- environment
    def service_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KUAICHE_") or k in ("KUAICHE_REGIONS_FILE", "KUAICHE_PG_BINDIR")
        }
        env.update(
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            KUAICHE_DATABASE_URL=self.database_url("{service}"),
            KUAICHE_KAFKA_BOOTSTRAP=self.broker.bootstrap,
            KUAICHE_JWT_SECRET=SECRET,
            KUAICHE_DATA_DIR=str(self.root / "data"),
            KUAICHE_RELAY_INTERVAL="0.2",
            # a dispatcher killed mid-delivery leaves its rows leased: 15 s, not 300, before
            # another takes them over (the checker waits for every delivery to settle)
            KUAICHE_NOTIFICATIONS_LEASE_SECONDS="15",
            KUAICHE_NOTIFICATIONS_HTTP_TIMEOUT="5",
        )
        return env

    def database_url(self, service: str) -> str:
        return (
            f"postgresql+asyncpg://kuaiche:kuaiche@127.0.0.1:{self.postgres.port}/kuaiche_{service}"
        )

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.postgres.start()
        self.broker.start()
        self.kuaiche("migrate")
        for service in SERVICES:
            self.add(service, "worker")
            for _ in range(self.replicas[service]):
                self.add(service, "api")
        self.start_services()

    def start_services(self) -> None:
        """Every process started (again, on the same ports) and waited for."""
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            process.wait_ready()

    def stop_services(self) -> None:
        """Every process stopped (SIGTERM), the servers left running."""
        for process in self.processes.values():
            process.stop()

    def kuaiche(self, *args: str) -> str:
        """Run a `kuaiche` command against the stack to its end; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "kuaiche.cli", *args],
            env=self.service_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kuaiche {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def add(self, service: str, kind: str) -> Process:
        """A new replica (not started): `registry-api-3`, `factors-worker-2`..."""
        n = 1 + sum(1 for p in self.processes.values() if (p.service, p.kind) == (service, kind))
        name = f"{service}-{kind}-{n}"
        process = Process(
            name,
            service,
            kind,
            self.service_env(),
            self.root / "logs" / f"{name}.log",
            port=free_port() if kind == "api" else None,
        )
        self.processes[name] = process
        return process

    def remove(self, name: str) -> None:
        self.processes.pop(name).stop()

    def apis(self, service: str) -> list[Process]:
        return [p for p in self.processes.values() if (p.service, p.kind) == (service, "api")]

    def workers(self) -> list[Process]:
        return [p for p in self.processes.values() if p.kind == "worker"]

    def restart(self, name: str) -> Process:
        """kill -9, then start the same process again (same port, same consumer group)."""
        process = self.processes[name]
        process.kill9()
        process.start()
        process.wait_ready()
        return process

    def assert_alive(self) -> None:
        dead = {
            n: p.popen.returncode for n, p in self.processes.items() if not p.alive() and p.popen
        }
        assert not dead, f"processes exited: {dead} (logs in {self.root / 'logs'})"

    # ----------------------------------------------------------------- talking to it
    def client(self, service: str, timeout: float = 30.0) -> httpx.Client:
        """A commander's client of the service's first API replica."""
        return httpx.Client(base_url=self.apis(service)[0].url, headers=COMMANDER, timeout=timeout)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until every API replica's /readyz answers 200 (its database and broker reachable)."""
        deadline = time.monotonic() + timeout
        waiting = [p for p in self.processes.values() if p.kind == "api"]
        while waiting:
            waiting = [p for p in waiting if not _ready(p)]
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"not ready within {timeout}s: {[p.name for p in waiting]}")
            time.sleep(0.5)

    async def sql(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.postgres.url(f"kuaiche_{service}"), timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def settled(self, timeout: float = 90.0) -> None:
        """Until every outbox row of every service is published."""
        deadline = time.monotonic() + timeout
        query = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        while True:
            pending = {s: (await self.sql(s, query))[0][0] for s in SERVICES}
            if not any(pending.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"outbox rows still unpublished after {timeout}s: {pending}")
            await asyncio.sleep(0.5)

    async def wait_count(self, service: str, query: str, at_least: int) -> None:
        """Until `query` (a count) on `service`'s database reaches `at_least`."""
        deadline = time.monotonic() + 90
        while (count := (await self.sql(service, query))[0][0]) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"{service}: {query} = {count}, expected >= {at_least}")
            await asyncio.sleep(0.3)

    def close(self) -> None:
        """Everything stopped and removed, whatever state a failed test left it in. The logs
        are kept when KUAICHE_FAULTS_KEEP is set."""
        for process in self.processes.values():
            with contextlib.suppress(Exception):
                process.stop()
        for server in (self.broker, self.postgres):
            with contextlib.suppress(Exception):
                server.stop()
        if os.environ.get("KUAICHE_FAULTS_KEEP"):
            print(f"fault suite state kept in {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def _ready(process: Process) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{process.url}/readyz", timeout=10).status_code == 200
    return False
