"""The fault suite's own distributed stack: a private PostgreSQL cluster and Kafka broker on free
ports with their own state directories (scripts/postgres.sh, scripts/kafka.sh), and every
service as separate `kuaiche serve NAME` / `kuaiche worker NAME` processes, each of which a
fault can `kill -9` and start again. Never the shared servers of the other tests.

A fault is a function of the stack (tests/faults/faults.py); a new one (PostgreSQL stopped and
restarted, a restore drill) needs only `Stack.postgres` and the processes below."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "factors", "issues", "scoring", "notifications")
# Two API replicas where the workload writes; the rest one each. Every service's worker runs
# once; the rebalance fault adds a second replica for a while.
API_REPLICAS = {"registry": 2, "factors": 2, "issues": 2, "scoring": 1, "notifications": 1}
SECRET = "fault-suite-secret-" + "k" * 40
START_TIMEOUT = 120.0


def free_port(pair: bool = False) -> int:
    """A free 127.0.0.1 port (and, with `pair`, the next one free too: Kafka's controller)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [sys.executable, "-m", "kuaiche.cli"]
        if self.kind == "api":
            args += ["serve", self.service, "--port", str(self.port)]
        else:
            args += ["worker", self.service]
        with self.log.open("ab") as out:
            out.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            self.popen = subprocess.Popen(
                args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
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
    def create(cls) -> Stack:
        root = Path(tempfile.mkdtemp(prefix="kuaiche-faults-"))
        root.chmod(0o755)  # PostgreSQL runs as its own OS user when we are root
        logs = root / "logs"
        logs.mkdir()
        return cls(
            root,
            Postgres(free_port(), root / "postgres", logs / "postgres.sh.log"),
            Broker(free_port(pair=True), root / "kafka", logs / "kafka.sh.log"),
        )

    # ----------------------------------------------------------------- environment
    def service_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KUAICHE_") or k == "KUAICHE_REGIONS_FILE"
        }
        env.update(
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            KUAICHE_DATABASE_URL=self.database_url("{service}"),
            KUAICHE_KAFKA_BOOTSTRAP=self.broker.bootstrap,
            KUAICHE_JWT_SECRET=SECRET,
            KUAICHE_DATA_DIR=str(self.root / "data"),
            KUAICHE_RELAY_INTERVAL="0.2",
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
        env = self.service_env()
        migrate = subprocess.run(
            [sys.executable, "-m", "kuaiche.cli", "migrate"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"kuaiche migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        for service in SERVICES:
            self.add(service, "worker")
            for _ in range(API_REPLICAS[service]):
                self.add(service, "api")
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            process.wait_ready()

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
