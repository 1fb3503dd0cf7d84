"""`make bench`: issue 13's paths, each against its bare counterpart measured in the same run, on
the PostgreSQL and Kafka of scripts/postgres.sh and scripts/kafka.sh, printed as ONE table.

Rows (each short by default; flags below make them bigger):

  1 inbox     `InboxConsumer` applying N registration events from a Kafka topic (a trivial
              handler: inbox row + one counter UPDATE) vs a bare aiokafka consumer of the same
              topic (bench/relay_throughput.py's two consumers). Target ours/bare >= 0.3.
  2 rebuild   scoring's `readmodel.rebuild` from its three upstream topics on Kafka (the
              history of bench/scoring_readmodel.py, published to fresh topics; folded in memory
              and written in bulk) vs a raw aiokafka consume of the same topics, both from the
              group join to the last message (the rebuild's wall time: epoch opened, replayed,
              switched, the old one deleted). Target >= 0.5 and >= 10,000 events/s.
  3 write     `POST /v1/projects`, then `POST /v1/projects/{id}/reports` (the registry app, worker
              on) vs a bare FastAPI endpoint doing the same INSERT on the same database, both under
              uvicorn (same config), real HTTP over loopback with httpx, requests alternating.
              Target ours/bare >= 0.5.
  4 latency   registry + scoring on PostgreSQL + Kafka, in this process with their workers (as
              tests/conftest.py start_service, on this run's own topics): `POST /v1/projects`
              at R/s for S seconds; latency from the 201 (after the registry's commit) to the
              commit of scoring's read-model transaction holding the project; vs Kafka's own
              produce -> consume at the same rate for the same time. Target p99 <= 50 ms and
              <= 10x Kafka's.
  5 lists     `GET /v1/projects` county+stage first page and the county's deep page by cursor,
              p99 at N projects vs at 1,000 (bench/registry_lists.py's loader and cases).
              Target <= 2x.
  6 reads     `GET /v1/rankings` and `GET /v1/scorecards/{county}` on scoring's read model
              (bench/scoring_readmodel.py's history, applied, its standings completed as the
              worker's job does) vs a bare SELECT of the rows they read: the period's kept
              standings in the current epoch (the county's row for the scorecard), p50,
              interleaved. Target <= 2x.
  7 demo      `kuaiche up --demo` in a subprocess (temporary data dir, free ports) until the
              gateway serves the console and the CLI says it is up. Target <= 15 s.

Exits non-zero when a measurement fails or a count does not match; a missed target is not a
failure (the `met` column says it).

    .venv/bin/python bench/all.py [--only 1,3] [--postgres URL] [--kafka HOST:PORT] [sizes...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench import common  # noqa: E402
from bench import registry_api as rapi  # noqa: E402
from bench import registry_lists as rlists  # noqa: E402
from bench import relay_throughput as relay  # noqa: E402
from bench import scoring_readmodel as sread  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.bus.kafka import FETCH_MAX_WAIT_MS  # noqa: E402
from shared.config import ServiceSettings  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.events.topics import dead_letter_topic  # noqa: E402
from shared.http.app import build_app  # noqa: E402
from shared.inbox import REPLAY_WRITERS  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

PROG = "bench"
DEFAULT_POSTGRES = "postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres"
DEFAULT_KAFKA = "127.0.0.1:9092"
ALL = (1, 2, 3, 4, 5, 6, 7)
IN_FLIGHT = 8  # row 4: registrations in flight at most
# rows 1 and 2: the bare consumers take a fraction of a second, so one stall of this busy machine
# would swing them: each runs this many times (a new group each) and the median counts
BARE_RUNS = 3
HISTORY_CHUNK = 20_000  # row 2: projects of history built and produced at a time


@dataclasses.dataclass
class Row:
    path: str
    ours: str = ""
    bare: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""
    note: str = ""
    failed: bool = False


def yes(ok: bool) -> str:
    return "yes" if ok else "no"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Resources:
    """What a row created (databases, topics), removed after it whatever happened."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.databases: list[str] = []
        self.topics: list[str] = []
        self.engines: list[AsyncEngine] = []

    async def database(self, prefix: str) -> str:
        name, url = await common.create_database(self.args.postgres, prefix)
        self.databases.append(name)
        return url

    async def topics_of(self, *names: str) -> None:
        """Create `names` and their dead-letter topics (3 partitions), wait for their leaders."""
        topics = [t for n in names for t in (n, dead_letter_topic(n))]
        await relay.create_topics(self.args.kafka, topics)
        self.topics.extend(topics)
        await relay.wait_for_leaders(self.args.kafka, topics)

    async def clean_up(self) -> bool:
        for engine in self.engines:
            with contextlib.suppress(Exception):
                await engine.dispose()
        ok = await common.drop_databases(PROG, self.args.postgres, self.databases)
        if self.topics:
            try:
                await asyncio.wait_for(relay.delete_topics(self.args.kafka, self.topics), 30)
            except Exception as exc:
                ok = False
                common.error(PROG, f"could not delete topics {self.topics}: {exc!r}")
        return ok


def settings_for(
    service: str, url: str, data_dir: Path, secret: str, kafka: str | None = None
) -> ServiceSettings:
    data_dir.mkdir(parents=True, exist_ok=True)
    return ServiceSettings(
        service=service,
        port=0,
        database_url=url,
        kafka_bootstrap=kafka,
        jwt_secret=SecretStr(secret),
        data_dir=data_dir,
    )


def pct(latencies: list[float], p: float) -> float:
    """Nearest rank, ms."""
    return common.Figure("", "", latencies, 1).percentile(p)


# ================================================================ 1 inbox consumer
async def row_inbox(args: argparse.Namespace, res: Resources) -> list[Row]:
    n = args.inbox_events
    topic = f"kuaiche.bench.{uuid.uuid4().hex[:10]}.inbox"
    await res.topics_of(topic)
    url = await res.database("kbench_inbox")
    engine = make_engine(url)
    res.engines.append(engine)
    await relay.create_schema(engine)
    common.step(f"1 inbox: producing {n} events")
    await relay.bare_produce(args.kafka, topic, relay.registered_events(n))
    common.step(f"1 inbox: bare consumer ({BARE_RUNS} runs, new group each, the median)")
    bare = n / statistics.median(
        [await relay.bare_consume(args.kafka, topic, n) for _ in range(BARE_RUNS)]
    )
    common.step("1 inbox: inbox consumer")
    ours = n / await relay.inbox_consume(engine, args.kafka, topic, n)
    ratio = ours / bare
    # the note: the same on a fresh database with a handler writing a statement per event (its
    # UPDATE's round trip per event) and with one that does nothing (the inbox's own cost)
    common.step("1 inbox: inbox consumer, an UPDATE per event (the note)")
    each = make_engine(await res.database("kbench_inbox"))
    res.engines.append(each)
    await relay.create_schema(each)
    per_event = n / await relay.inbox_consume(each, args.kafka, topic, n, relay.bump_events)
    common.step("1 inbox: inbox consumer, a handler that does nothing (the note)")
    idle = make_engine(await res.database("kbench_inbox"))
    res.engines.append(idle)
    await relay.create_schema(idle)
    no_op = n / await relay.inbox_consume(idle, args.kafka, topic, n, relay.no_op)
    return [
        Row(
            f"inbox consumer applying events (N={n})",
            f"{ours:,.0f} ev/s",
            f"{bare:,.0f} ev/s",
            f"{ratio:.2f}×",
            "≥ 0.3×",
            yes(ratio >= 0.3),
            note=(
                f"UPDATE per event {per_event:,.0f} ev/s ({per_event / bare:.2f}×); "
                f"no-op {no_op:,.0f} ev/s ({no_op / bare:.2f}×)"
            ),
        )
    ]


# ================================================================ 2 scoring rebuild
async def raw_consume(bootstrap: str, topics: list[str], expected: int) -> float:
    """A new group reading `topics` from the beginning to `expected` messages, committing after
    each fetch; seconds from start() (the group join included, as in a rebuild) to the last."""
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        client_id="kuaiche-bench-raw",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # as the bus's consumers
    )
    await consumer.start()
    try:
        seen = 0
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            if batches:
                seen += sum(len(records) for records in batches.values())
                await consumer.commit()
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    if seen != expected:
        raise RuntimeError(f"raw consume read {seen} messages, expected {expected}")
    return seconds


# A rebuild holds at most this many connections at once: at the fold's end, the last fetches'
# inbox inserts (`REPLAY_WRITERS`) beside the read model's COPYs and the standings' fill.
REBUILD_CONNECTIONS = REPLAY_WRITERS + 2


async def warm_pool(runtime: Any, connections: int) -> None:
    """Have the runtime's pool open `connections` connections (checked out at once)."""
    async with contextlib.AsyncExitStack() as held:
        for _ in range(connections):
            connection = await held.enter_async_context(runtime.engine.connect())
            await connection.execute(text("SELECT 1"))


async def row_rebuild(args: argparse.Namespace, res: Resources) -> list[Row]:
    from services.scoring import readmodel
    from services.scoring.main import SERVICE
    from shared.heap import freeze_startup
    from shared.runtime import open_runtime

    tag = uuid.uuid4().hex[:10]
    renamed = {t: f"kuaiche.bench.{tag}.{t.removeprefix('kuaiche.')}" for t in SERVICE.subscribes}
    await res.topics_of(*renamed.values())
    common.step(
        f"2 rebuild: producing the history of {args.scoring_projects} projects onto "
        f"{len(renamed)} topics, {HISTORY_CHUNK} projects at a time"
    )
    # what the epoch must hold in the end: the chunks' counts added up
    history = sread.History()
    rows: Counter[str] = Counter()
    producer = AIOKafkaProducer(
        bootstrap_servers=args.kafka, enable_idempotence=True, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        for part in sread.history_chunks(args.scoring_projects, HISTORY_CHUNK):
            futures = [
                await producer.send(
                    renamed[m.topic], value=m.value, key=m.key.encode(), headers=list(m.headers)
                )
                for m in part.messages
            ]
            await asyncio.gather(*futures)
            rows.update(part.rows)
            history.started += part.started
            history.by_topic.update(part.by_topic)
    finally:
        await producer.stop()
    history.rows = dict(rows)
    n = sum(history.by_topic.values())
    feed = readmodel.Feed(
        {renamed[t]: f for t, f in SERVICE.subscribes.items()}, group=f"bench-scoring-{tag}"
    )
    url = await res.database("kbench_rebuild")
    await upgrade(SERVICE, url)
    with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
        settings = settings_for(
            "scoring", url, Path(tmp), secrets.token_urlsafe(48), kafka=args.kafka
        )
        runtime = await open_runtime(SERVICE, settings)
        try:
            # The rebuild runs in the API's process (POST /v1/admin/rebuild), whose pool holds
            # open connections by the time a commander asks: open the ones it uses first.
            await warm_pool(runtime, REBUILD_CONNECTIONS)
            freeze_startup()  # as `kuaiche serve` does once started (row 4 too)
            common.step(
                f"2 rebuild: raw aiokafka consume of the same topics and readmodel.rebuild, "
                f"alternating ({BARE_RUNS} runs each, the medians)"
            )
            bare_runs, our_runs = [], []
            for _ in range(BARE_RUNS):
                bare_runs.append(await raw_consume(args.kafka, list(renamed.values()), n))
                started = time.perf_counter()
                epoch = await readmodel.rebuild(runtime, "bench", feed=feed)
                our_runs.append(time.perf_counter() - started)
                if epoch.events != n:
                    raise RuntimeError(f"rebuild read {epoch.events} messages, expected {n}")
                # what the worker does once it follows the new epoch: off the clock, as there
                await readmodel.delete_retired(runtime.session_factory, feed, epoch.number)
                await sread.check_read_model(runtime, history, epoch.number, "rebuild")
            bare_s, ours_s = statistics.median(bare_runs), statistics.median(our_runs)
        finally:
            await runtime.close()
    ours, bare = n / ours_s, n / bare_s
    ratio = ours / bare
    return [
        Row(
            f"scoring rebuild from the topics (N={n})",
            f"{ours:,.0f} ev/s",
            f"{bare:,.0f} ev/s",
            f"{ratio:.2f}×",
            "≥ 0.5× and ≥ 10,000 ev/s",
            yes(ratio >= 0.5 and ours >= 10_000),
            "runs "
            + " / ".join(f"{1000 * o:.0f}" for o in our_runs)
            + " vs "
            + " / ".join(f"{1000 * b:.0f}" for b in bare_runs)
            + " ms",
        )
    ]


# ================================================================ 3 POST under uvicorn
@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any) -> Any:
    """`app` under uvicorn on a free loopback port (lifespan on, access log off, warnings only:
    the same config for ours and bare); yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def bare_registry_app(engine: AsyncEngine) -> Any:
    """The leanest FastAPI app writing the same rows: one INSERT per request, no auth, no
    validation beyond JSON, no stage history, no outbox."""
    from fastapi import FastAPI

    from services.registry.models import MonthlyReport, Project

    projects, reports = Project.__table__, MonthlyReport.__table__
    app = FastAPI()

    def day(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    @app.post("/projects", status_code=201)
    async def create(body: dict[str, Any]) -> dict[str, str]:
        now = dt.datetime.now(dt.UTC)
        pid = str(uuid.uuid4())
        location = body.get("location") or {}
        row = {
            "id": pid,
            "name": body["name"],
            "county": body["county"],
            "level": body.get("level"),
            "track": body["track"],
            "stage": body.get("stage", "planning"),
            "code": body.get("code"),
            "total_investment": Decimal(body["total_investment"]),
            "planned_start": day(body.get("planned_start")),
            "planned_completion": day(body.get("planned_completion")),
            "owner": body.get("owner"),
            "leader": body.get("leader"),
            "service_officer": body.get("service_officer"),
            "responsible_unit": body.get("responsible_unit"),
            "industry": body.get("industry"),
            "tags": body.get("tags", []),
            "content": body.get("content"),
            "lng": Decimal(location["lng"]) if "lng" in location else None,
            "lat": Decimal(location["lat"]) if "lat" in location else None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by": "commander:bench",
        }
        async with engine.begin() as conn:
            await conn.execute(insert(projects).values(**row))
        return {"id": pid}

    @app.post("/projects/{project_id}/reports", status_code=201)
    async def report(project_id: str, body: dict[str, Any]) -> dict[str, str]:
        year, month = (int(x) for x in body["period"].split("-"))
        async with engine.begin() as conn:
            await conn.execute(
                insert(reports).values(
                    project_id=project_id,
                    year=year,
                    month=month,
                    ytd_investment=Decimal(body["ytd_investment"]),
                    month_investment=Decimal(body["month_investment"]),
                    started=bool(body.get("started", False)),
                    progress_note=body.get("progress_note"),
                    correction_note=body.get("correction_note"),
                    submitted_by="commander:bench",
                    submitted_at=dt.datetime.now(dt.UTC),
                )
            )
        return {"project_id": project_id}

    return app


async def row_write(args: argparse.Namespace, res: Resources) -> list[Row]:
    from services.registry.main import SERVICE
    from services.registry.models import MonthlyReport, Project

    n, warm = args.requests, rapi.WARMUP
    url = await res.database("kbench_write")
    await upgrade(SERVICE, url)
    secret = secrets.token_urlsafe(48)
    headers = {"Authorization": f"Bearer {issue_token(secret, role=Role.COMMANDER)}"}
    payloads = rapi.bodies(2 * (warm + n))
    ours_bodies, bare_bodies = payloads[: warm + n], payloads[warm + n :]
    report = {"period": "2020-05", "ytd_investment": "1200.5", "month_investment": "300.25"}
    bare_engine = make_engine(url)  # the same database, an engine like the app's
    res.engines.append(bare_engine)
    with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
        ours_app = build_app(
            SERVICE, settings_for("registry", url, Path(tmp), secret), with_worker=True
        )
        async with (
            uvicorn_serving(ours_app) as ours_url,
            uvicorn_serving(bare_registry_app(bare_engine)) as bare_url,
            httpx.AsyncClient(base_url=ours_url, headers=headers) as ours_client,
            httpx.AsyncClient(base_url=bare_url) as bare_client,
        ):
            ids: dict[str, list[str]] = {"ours": [], "bare": []}

            async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
                r = await client.post(path, json=body)
                if r.status_code != 201:
                    raise RuntimeError(f"POST {client.base_url}{path}: {r.status_code} {r.text}")
                return str(r.json().get("id") or r.json().get("project_id"))

            latencies: dict[str, list[float]] = {}
            for what in ("projects", "reports"):
                common.step(f"3 write: {n} x POST {what}, ours and bare alternating")
                lat: dict[str, list[float]] = {"ours": [], "bare": []}
                for i in range(warm + n):
                    for side, client, prefix, body_list in (
                        ("ours", ours_client, "/v1", ours_bodies),
                        ("bare", bare_client, "", bare_bodies),
                    ):
                        if what == "projects":
                            path, body = f"{prefix}/projects", body_list[i]
                        else:
                            path, body = f"{prefix}/projects/{ids[side][i]}/reports", report
                        started = time.perf_counter()
                        got = await post(client, path, body)
                        took = time.perf_counter() - started
                        if what == "projects":
                            ids[side].append(got)
                        if i >= warm:
                            lat[side].append(took)
                latencies[f"ours {what}"], latencies[f"bare {what}"] = lat["ours"], lat["bare"]
        async with bare_engine.connect() as conn:
            projects = await conn.scalar(select(func.count()).select_from(Project.__table__))
            reports = await conn.scalar(select(func.count()).select_from(MonthlyReport.__table__))
    if projects != 2 * (warm + n) or reports != 2 * (warm + n):
        raise RuntimeError(f"{projects} projects and {reports} reports; expected {2 * (warm + n)}")
    rows = []
    for what, label in (("projects", "POST /v1/projects"), ("reports", "POST …/reports (monthly)")):
        ours = len(latencies[f"ours {what}"]) / sum(latencies[f"ours {what}"])
        bare = len(latencies[f"bare {what}"]) / sum(latencies[f"bare {what}"])
        rows.append(
            Row(
                f"{label}, uvicorn (N={n})",
                f"{ours:,.0f} req/s",
                f"{bare:,.0f} req/s",
                f"{ours / bare:.2f}×",
                "≥ 0.5×",
                yes(ours / bare >= 0.5),
                note=f"p50 {pct(latencies[f'ours {what}'], 50):.1f} vs "
                f"{pct(latencies[f'bare {what}'], 50):.1f} ms",
            )
        )
    return rows


# ================================================================ 4 commit -> scoring applied
async def kafka_latency(
    bootstrap: str, topic: str, rate_per_s: float, seconds: float, size: int
) -> list[float]:
    """Kafka's own produce -> consume: messages sent at `rate_per_s` (idempotent, acks=all,
    linger 5 ms, like KafkaBus) read by a consumer of a new group; latency from send() to the
    message in the consumer's hands."""
    count = int(rate_per_s * seconds)
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-lat-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # as the bus's consumers
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await consumer.start()
    await producer.start()
    try:
        # until the consumer has its partitions (a message sent before is read late)
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)

        async def read(until: int) -> None:
            while len(got) < until:
                batches = await consumer.getmany(timeout_ms=200)
                now = time.perf_counter()
                for records in batches.values():
                    for r in records:
                        got.setdefault(r.key.decode(), now)
                if batches:
                    await consumer.commit()

        pad = b"x" * size
        # 20 warm-up messages, read before the clock (a new topic's first fetches may stall)
        for i in range(20):
            await producer.send(topic, value=pad, key=f"warm{i:04d}".encode())
        await asyncio.wait_for(read(20), 60)
        got.clear()
        reader = asyncio.create_task(read(count))
        start = time.perf_counter()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate_per_s - time.perf_counter()))
            key = f"{i:08d}"
            sent[key] = time.perf_counter()
            await producer.send(topic, value=pad, key=key.encode())
        await asyncio.wait_for(reader, 60)
    finally:
        await producer.stop()
        await consumer.stop()
    if len(got) != count:
        raise RuntimeError(f"kafka latency: {len(got)} of {count} messages read")
    return [got[k] - sent[k] for k in sent]


async def row_latency(args: argparse.Namespace, res: Resources) -> list[Row]:
    from services.registry.main import SERVICE as REGISTRY
    from services.scoring import readmodel
    from services.scoring.main import SERVICE as SCORING
    from shared.heap import freeze_startup

    run = uuid.uuid4().hex[:10]
    topic = {name: f"kuaiche.bench.{run}.{name}" for name in ("registry", "scoring", "kafka")}
    await res.topics_of(*topic.values())
    count = int(args.latency_rate * args.latency_seconds)

    common.step(f"4 latency: Kafka produce -> consume, {count} at {args.latency_rate}/s")
    size = len(relay.registered_events(1)[0].to_json())
    kafka = await kafka_latency(
        args.kafka, topic["kafka"], args.latency_rate, args.latency_seconds, size
    )

    def on_own_topics(definition: Any) -> Any:
        return dataclasses.replace(
            definition,
            topic=topic[definition.name],
            subscribes={
                topic[upstream.removeprefix("kuaiche.")]: factory
                for upstream, factory in definition.subscribes.items()
                if upstream.removeprefix("kuaiche.") in topic
            },
            consumer=definition.consumer and f"{definition.consumer}-{run}",
        )

    applied: dict[str, float] = {}

    def mark(ids: list[str]) -> None:
        now = time.perf_counter()
        for pid in ids:
            applied.setdefault(pid, now)

    def watched(factory: Any) -> Any:
        """Handlers that note the project of each event; when their transaction commits, the
        time is that project's 'applied'."""

        def make(epoch: int) -> dict[str, Any]:
            def wrap(handler: Any) -> Any:
                async def wrapped(session: Any, event: Any, payload: Any) -> None:
                    await handler(session, event, payload)
                    ids = session.info.get("bench_ids")
                    if ids is None:
                        ids = session.info["bench_ids"] = []
                        sa_event.listen(
                            session.sync_session,
                            "after_commit",
                            lambda _s, ids=ids: mark(ids),
                            once=True,
                        )
                    ids.append(event.subject)

                return wrapped

            return {t: wrap(h) for t, h in factory(epoch).items()}

        return make

    scoring_def = on_own_topics(SCORING)
    scoring_def = dataclasses.replace(
        scoring_def, subscribes={t: watched(f) for t, f in scoring_def.subscribes.items()}
    )
    feed = readmodel.Feed.of(scoring_def, group=f"bench-scoring-{run}")
    scoring_def = dataclasses.replace(
        scoring_def, jobs=lambda rt: {"read-model": partial(readmodel.follow, rt, feed, 1.0)}
    )
    secret = secrets.token_urlsafe(48)
    headers = {"Authorization": f"Bearer {issue_token(secret, role=Role.COMMANDER)}"}
    committed: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            apps = {}
            for definition in (on_own_topics(REGISTRY), scoring_def):
                url = await res.database(f"kbench_lat_{definition.name}")
                await upgrade(definition, url)
                settings = settings_for(
                    definition.name, url, Path(tmp) / definition.name, secret, kafka=args.kafka
                )
                app = build_app(definition, settings, with_worker=True)
                await stack.enter_async_context(app.router.lifespan_context(app))
                apps[definition.name] = app
            freeze_startup()  # as `kuaiche serve` and `kuaiche worker` do once started
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=apps["registry"]),
                    base_url="http://registry",
                    headers=headers,
                )
            )
            bodies = rapi.bodies(count + 20)

            async def register(i: int, timed: bool) -> None:
                r = await client.post("/v1/projects", json=bodies[i])
                if r.status_code != 201:
                    raise RuntimeError(f"POST /v1/projects: {r.status_code} {r.text[:300]}")
                if timed:
                    committed[r.json()["id"]] = time.perf_counter()

            common.step("4 latency: warm-up (20 registrations, until scoring has them)")
            for i in range(20):
                await register(count + i, False)
            deadline = time.monotonic() + 60
            while len(applied) < 20:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"scoring applied {len(applied)} of 20 warm-up projects")
                await asyncio.sleep(0.1)
            common.step(f"4 latency: {count} registrations at {args.latency_rate}/s")
            # At most IN_FLIGHT requests at once: when the process cannot keep the rate, the
            # schedule slips (the writes/s reached is printed) instead of the pool running dry.
            tasks = []
            slots = asyncio.Semaphore(IN_FLIGHT)

            async def paced(i: int) -> None:
                try:
                    await register(i, True)
                finally:
                    slots.release()

            start = time.perf_counter()
            for i in range(count):
                await asyncio.sleep(max(0.0, start + i / args.latency_rate - time.perf_counter()))
                await slots.acquire()
                tasks.append(asyncio.create_task(paced(i)))
                if tasks[-1].done() or any(t.done() and t.exception() for t in tasks[-IN_FLIGHT:]):
                    break  # a request failed: gather below raises it
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            written_s = time.perf_counter() - start
            deadline = time.monotonic() + 120
            while not all(pid in applied for pid in committed):
                if time.monotonic() > deadline:
                    missing = sum(pid not in applied for pid in committed)
                    raise RuntimeError(f"scoring never applied {missing} of {count} projects")
                await asyncio.sleep(0.05)
    ours = [applied[pid] - at for pid, at in committed.items()]
    p99, k99 = pct(ours, 99), pct(kafka, 99)
    return [
        Row(
            f"commit → scoring applied, p99 (N={count}, {count / written_s:.0f} writes/s)",
            f"{p99:,.1f} ms",
            f"{k99:,.1f} ms",
            f"{p99 / k99:.1f}×",
            "≤ 50 ms and ≤ 10×",
            yes(p99 <= 50 and p99 <= 10 * k99),
            note=f"p50 {pct(ours, 50):.1f} vs {pct(kafka, 50):.1f} ms",
        )
    ]


# ================================================================ 5 project lists
async def row_lists(args: argparse.Namespace, res: Resources) -> list[Row]:
    big_n = 1_000_000 if args.province else args.list_projects
    wanted = {
        "first page, county+stage": "GET /v1/projects county+stage, first page",
        "deep county page, cursor": "GET /v1/projects county, deep page (cursor)",
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            libraries = []
            for count in (rlists.SMALL, big_n):
                common.step(f"5 lists: {count:,} projects")
                url = await res.database("kbench_lists")
                data_dir = Path(tmp) / str(count)
                data_dir.mkdir()
                libraries.append(
                    await stack.enter_async_context(rlists.serving(url, data_dir, count))
                )
            small, big = libraries
            for (label, small_q), (_, big_q) in zip(
                rlists.cases(small.count), rlists.cases(big.count), strict=True
            ):
                if label not in wanted:
                    continue
                common.step(f"5 lists: {label}")
                both = [
                    (small, await rlists._params(small, small_q)),
                    (big, await rlists._params(big, big_q)),
                ]
                expected = [await rlists._page(lib, params) for lib, params in both]
                if not all(expected):
                    raise RuntimeError(f"{label}: an empty page")
                for _ in range(rlists.WARMUP):
                    for lib, params in both:
                        await rlists._page(lib, params)
                lat: tuple[list[float], list[float]] = ([], [])
                for _ in range(args.list_requests):
                    for i, (lib, params) in enumerate(both):
                        started = time.perf_counter()
                        ids = await rlists._page(lib, params)
                        lat[i].append(time.perf_counter() - started)
                        if ids != expected[i]:
                            raise RuntimeError(f"{label}: the same page changed")
                s99, b99 = pct(lat[0], 99), pct(lat[1], 99)
                rows.append(
                    Row(
                        f"{wanted[label]}, p99 at {big_n:,} vs 1,000",
                        f"{b99:.1f} ms",
                        f"{s99:.1f} ms",
                        f"{b99 / s99:.2f}×",
                        "≤ 2×",
                        yes(b99 <= 2 * s99),
                        note=f"p50 {pct(lat[1], 50):.1f} vs {pct(lat[0], 50):.1f} ms",
                    )
                )
    return rows


# ================================================================ 6 rankings, a scorecard
async def row_reads(args: argparse.Namespace, res: Resources) -> list[Row]:
    from sqlalchemy import text

    from services.scoring import readmodel, standings
    from services.scoring.domain.periods import Period
    from services.scoring.main import SERVICE
    from shared.regions import load_region_table
    from shared.runtime import open_runtime

    county = "371602"
    ranking, card = sread.RANKING, f"/v1/scorecards/{county}?year=2020&month=4"
    history = sread.build_history(args.scoring_projects)
    url = await res.database("kbench_reads")
    await upgrade(SERVICE, url)
    bus = await sread.published(history)
    secret = secrets.token_urlsafe(48)
    headers = {"Authorization": f"Bearer {issue_token(secret, role=Role.COMMANDER)}"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
        settings = settings_for("scoring", url, Path(tmp), secret)
        runtime = await open_runtime(SERVICE, settings, bus)
        try:
            common.step(f"6 reads: applying {len(history.messages)} events (in-process bus)")
            await readmodel.consumer(runtime, sread.FEED, 1).catch_up(sread.IDLE)
            await sread.check_read_model(runtime, history, 1, "6 reads")
            # what a backlog's batches left out of date, computed as the worker's job does
            await readmodel.complete_standings(runtime)
            async with runtime.session_factory() as session:
                regions = load_region_table(settings.regions_file)
                kept = await standings.read(
                    session, Period(2020, 4), runtime.config.thresholds, regions
                )
            if kept is None:
                raise RuntimeError("6 reads: April 2020's standings are not kept")
        finally:
            await runtime.close()
        app = build_app(SERVICE, settings, bus=bus, with_worker=False)
        engine = make_engine(url)
        res.engines.append(engine)

        async def bare_select(only: str | None) -> int:
            """The rows the endpoint reads: April 2020's kept standings in the current epoch
            (the county's row with `only`), plain SQL."""
            where = "year = 2020 AND month = 4 AND epoch = "
            where += "(SELECT number FROM epochs WHERE state = 'current')"
            if only:
                where += " AND county = :c"
            async with engine.connect() as conn:
                result = await conn.execute(
                    text(f"SELECT * FROM standings WHERE {where}"), {"c": only}
                )
                return len(result.all())

        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://scoring", headers=headers
            ) as client,
        ):
            for label, path, only in (
                ("GET /v1/rankings (10 divisions)", ranking, None),
                (f"GET /v1/scorecards/{county}", card, county),
            ):
                common.step(f"6 reads: {label} and its bare SELECT, interleaved")
                first = None
                lat: tuple[list[float], list[float]] = ([], [])
                for i in range(sread.WARMUP + args.read_requests):
                    started = time.perf_counter()
                    r = await client.get(path)
                    took = time.perf_counter() - started
                    if r.status_code != 200:
                        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
                    first = first or r.json()
                    if r.json() != first:
                        raise RuntimeError(f"GET {path}: the answer changed between requests")
                    started = time.perf_counter()
                    selected = await bare_select(only)
                    bare_took = time.perf_counter() - started
                    if not selected:
                        raise RuntimeError(f"bare SELECT for {path}: no rows")
                    if i >= sread.WARMUP:
                        lat[0].append(took)
                        lat[1].append(bare_took)
                o50, b50 = pct(lat[0], 50), pct(lat[1], 50)
                rows.append(
                    Row(
                        f"{label}, p50",
                        f"{o50:.1f} ms",
                        f"{b50:.1f} ms",
                        f"{o50 / b50:.2f}×",
                        "≤ 2×",
                        yes(o50 <= 2 * b50),
                        note=f"p99 {pct(lat[0], 99):.1f} vs {pct(lat[1], 99):.1f} ms",
                    )
                )
    return rows


# ================================================================ 7 kuaiche up --demo
def launch(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `command` in its own session, its output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
            start_new_session=True,
        )


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def row_demo(args: argparse.Namespace, res: Resources) -> list[Row]:
    from shared.config import SERVICE_PORTS

    kuaiche = ROOT / ".venv" / "bin" / "kuaiche"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KUAICHE_")  # the embedded default: SQLite + in-process bus
    }
    for service in SERVICE_PORTS:
        env[f"KUAICHE_{service.upper()}_PORT"] = str(free_port())
    gateway = free_port()
    env["KUAICHE_GATEWAY_PORT"] = str(gateway)
    with tempfile.TemporaryDirectory(prefix="kuaiche-bench-demo-") as tmp:
        log = Path(tmp) / "up.log"
        common.step("7 demo: kuaiche up --demo")
        started = time.perf_counter()
        proc = launch(
            [str(kuaiche), "up", "--demo", "--data-dir", str(Path(tmp) / "data")], log, env
        )
        try:
            ready = None
            async with httpx.AsyncClient(timeout=2) as client:
                while time.perf_counter() - started < args.demo_timeout:
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"kuaiche up --demo exited {proc.returncode}: "
                            f"{log.read_text(errors='replace')[-800:]}"
                        )
                    if "Ctrl-C stops" in log.read_text(errors="replace"):
                        with contextlib.suppress(httpx.HTTPError):
                            r = await client.get(f"http://127.0.0.1:{gateway}/")
                            if r.status_code == 200 and "<html" in r.text.lower():
                                ready = time.perf_counter() - started
                                break
                    await asyncio.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.to_thread(proc.wait, 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    await asyncio.to_thread(proc.wait, 10)
    if ready is None:
        return [
            Row(
                "kuaiche up --demo, ready",
                f"> {args.demo_timeout:.0f} s",
                "—",
                "—",
                "≤ 15 s",
                "no",
                note="not ready within --demo-timeout",
            )
        ]
    return [Row("kuaiche up --demo, ready", f"{ready:.1f} s", "—", "—", "≤ 15 s", yes(ready <= 15))]


# ================================================================ run
ROWS: dict[int, tuple[str, Callable[[argparse.Namespace, Resources], Awaitable[list[Row]]]]] = {
    1: ("inbox consumer applying events", row_inbox),
    2: ("scoring rebuild from the topics", row_rebuild),
    3: ("POST /v1/projects, a monthly report", row_write),
    4: ("upstream commit → scoring applied", row_latency),
    5: ("GET /v1/projects at N vs 1,000", row_lists),
    6: ("GET /v1/rankings, a scorecard", row_reads),
    7: ("kuaiche up --demo, ready", row_demo),
}


async def run(args: argparse.Namespace) -> int:
    chosen = [int(x) for x in args.only.split(",")] if args.only else list(ALL)
    if any(x not in ROWS for x in chosen):
        raise SystemExit(f"--only takes numbers among {ALL}")
    pg = await common.postgres_facts(args.postgres)
    load = load_average()
    print(
        "\n".join(
            common.machine_lines(
                ["fastapi", "uvicorn", "httpx", "SQLAlchemy", "asyncpg", "aiokafka"],
                f"postgres: {common.hide_password(args.postgres)}, {pg}",
                f"kafka: {args.kafka}, topics of 3 partitions, replication 1",
                f"load average at start: {load}",
            )
        ),
        flush=True,
    )
    rows: list[Row] = []
    failed = False
    began = time.perf_counter()
    for number in chosen:
        label, measure = ROWS[number]
        res = Resources(args)
        got: list[Row] = []

        async def one(measure: Any = measure, res: Resources = res, got: list[Row] = got) -> None:
            got.extend(await measure(args, res))

        started = time.perf_counter()
        if await common.attempt(PROG, args.timeout, one, res.clean_up):
            rows.extend(got)
        else:
            failed = True
            rows.extend(got or [Row(label, "error", failed=True, note="see stderr")])
        common.step(f"row {number} done in {time.perf_counter() - started:.0f} s")
    print()
    print(
        common.table(
            ["path", "ours", "bare", "ratio", "target", "met", "note"],
            [[r.path, r.ours, r.bare, r.ratio, r.target, r.met, r.note] for r in rows],
        )
    )
    print(
        f"\n{sum(r.met == 'yes' for r in rows)} of {len(rows)} targets met; "
        f"whole run {time.perf_counter() - began:.0f} s. ratio = ours / bare (rates: higher is "
        "better; latencies: lower is better). bench/README.md says what each row times."
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    options = common.parser(__doc__)
    options.set_defaults(timeout=600)
    options.add_argument("--only", default="", help="rows to run, e.g. 1,3 (default: all)")
    options.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL (%(default)s)")
    options.add_argument("--kafka", default=DEFAULT_KAFKA, help="bootstrap (%(default)s)")
    options.add_argument("--inbox-events", type=int, default=3000, help="row 1: N (3000)")
    options.add_argument(
        "--scoring-projects", type=int, default=1200, help="rows 2, 6: projects of history (1200)"
    )
    options.add_argument("--requests", type=int, default=300, help="row 3: N per path (300)")
    options.add_argument("--latency-rate", type=float, default=100, help="row 4: writes/s (100)")
    options.add_argument("--latency-seconds", type=float, default=20, help="row 4: seconds (20)")
    options.add_argument(
        "--list-projects", type=int, default=200_000, help="row 5: N projects (200000)"
    )
    options.add_argument("--province", action="store_true", help="row 5 at 1,000,000 projects")
    options.add_argument("--list-requests", type=int, default=100, help="row 5: per case (100)")
    options.add_argument("--read-requests", type=int, default=50, help="row 6: per path (50)")
    options.add_argument(
        "--demo-timeout", type=float, default=240, help="row 7: give up after (240 s)"
    )
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
