"""Webhook delivery latency on real PostgreSQL and Kafka: an event committed upstream until the
webhook receiver has it, against a bare HTTP POST of the same request to the same receiver.

At a steady rate (default 50 events/s), N events a row (default 1000), in one run:

  ours, relay woken   an issues unit of work commits a `kuaiche.issue.assigned.v1` event (t0:
                      right after the commit); the issues relay, woken by the commit as in
                      `kuaiche up`, publishes it to Kafka; the notifications consumer applies it;
                      its dispatcher POSTs the webhook (t1: the receiver has read the request);
  ours, relay polling the same, the relay not woken but polling every `relay_interval` (0.5 s),
                      as in compose, where the API commits and a separate worker relays;
  bare                the same requests POSTed with httpx straight to the receiver, same rate.

All but the receiver (uvicorn in a subprocess; both read CLOCK_MONOTONIC) runs on this process's
event loop. For ours it prints where the time goes, from what the services stamp (outbox
`published_at`, inbox `processed_at`, the attempt's `attempted_at` less `latency_ms`). Every event
must reach the receiver exactly once, or it exits non-zero. See bench/README.md.

    .venv/bin/python bench/notifications_delivery.py [--events 1000] [--rate 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import math
import secrets
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench import common  # noqa: E402
from bench.relay_throughput import delete_topics, wait_for_leaders  # noqa: E402
from services.issues.main import SERVICE as ISSUES  # noqa: E402
from services.notifications import main as notifications_main  # noqa: E402
from services.notifications import service as notifications_service  # noqa: E402
from services.notifications.channels import webhook  # noqa: E402
from services.notifications.config import Context  # noqa: E402
from services.notifications.main import SERVICE as NOTIFICATIONS  # noqa: E402
from services.notifications.models import Delivery, DeliveryAttempt, ProjectView  # noqa: E402
from services.notifications.schemas import SubscriptionCreate  # noqa: E402
from shared.auth import Principal, Role  # noqa: E402
from shared.bus.kafka import KafkaBus  # noqa: E402
from shared.config import ServiceSettings  # noqa: E402
from shared.events.catalogue.issues import IssueAssigned  # noqa: E402
from shared.events.topics import ISSUES as ISSUES_TOPIC  # noqa: E402
from shared.events.topics import dead_letter_topic  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.runtime import Runtime, open_runtime  # noqa: E402

PROG = "notifications_delivery"
DEFAULT_POSTGRES = "postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres"
DEFAULT_KAFKA = "127.0.0.1:9092"
RECEIVER_FLAG = "--serve-receiver"  # this script, run as the receiver's subprocess
OURS_PATH, BARE_PATH = "/hooks/kuaiche", "/hooks/bare"
WARM_UP = 20  # events (and bare POSTs) before the clocks, not counted
PROJECTS = 50  # projects the notifications projection knows before the run
DELIVERY_WAIT = 120.0  # seconds after the last event sent before a missing one counts as lost
GRACE = 1.0  # seconds of listening after the last arrival, for a duplicate
STAGES = (  # by the outbox's published_at, the inbox's processed_at, the attempt's start
    "commit -> published (relay)",
    "published -> consumer starts the event",
    "consumer -> dispatcher POSTs (apply, poll)",
    "POST -> received",
)


# ---------------------------------------------------------------- the receiver (subprocess)
def serve_receiver() -> None:
    """Answer every POST with 200; print `path webhook-id monotonic wall` the moment its whole
    body is read. The first line printed is `port <n>`."""
    import uvicorn

    async def app(scope: dict, receive: Callable, send: Callable) -> None:  # bare ASGI
        more = scope["type"] == "http"
        while more:
            more = (await receive()).get("more_body", False)
        mono, wall = time.monotonic(), time.time()
        hook_id = dict(scope["headers"]).get(b"webhook-id", b"-").decode()
        sys.stdout.write(f"{scope['path']} {hook_id} {mono:.6f} {wall:.6f}\n")
        sys.stdout.flush()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    # proto=IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted connections (with proto 0 a
    # kept-alive answer waits for a delayed ACK: tests/support/fake_robots.py)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class Receiver:
    """The receiver's subprocess and what it reported: (path, webhook-id) → arrivals, each
    (monotonic, wall) seconds."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        self.base_url = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, RECEIVER_FLAG, stdout=asyncio.subprocess.PIPE
        )
        assert self._proc.stdout is not None
        first = await asyncio.wait_for(self._proc.stdout.readline(), 60)
        if not first.startswith(b"port "):
            raise RuntimeError(f"the receiver did not start: {first!r}")
        self.base_url = f"http://127.0.0.1:{int(first.split()[1])}"
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            path, hook_id, mono, wall = line.decode().split()
            self.arrivals[(path, hook_id)].append((float(mono), float(wall)))
            self._changed.set()

    async def wait_for(self, path: str, ids: list[str], check: Callable[[], None]) -> None:
        """Until every id has arrived on `path`, or DELIVERY_WAIT seconds passed (what is missing
        is reported later); `check()` raises if the pipeline broke."""
        deadline = time.monotonic() + DELIVERY_WAIT
        while any((path, i) not in self.arrivals for i in ids):
            check()
            if time.monotonic() > deadline:
                common.error(PROG, f"{path}: not every request arrived within {DELIVERY_WAIT} s")
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        if self._reader is not None:  # it ends at the closed stdout's end
            await asyncio.wait_for(self._reader, 10)


# ---------------------------------------------------------------- rows and figures
def percentile(values: list[float], p: float) -> float:  # nearest rank
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class Row:
    label: str
    path: str
    sent: dict[str, tuple[float, float]] = field(default_factory=dict)  # id → t0 (mono, wall)
    latencies: list[float] = field(default_factory=list)  # seconds, t1 - t0
    stages: dict[str, list[float]] = field(default_factory=dict)  # seconds, per stage
    cpu: float = 0.0  # this process's CPU seconds from the first send to the last arrival
    span: float = 0.0  # wall seconds from the first send to the last arrival

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def check(self, receiver: Receiver) -> list[str]:
        """Each request received once (its latency recorded), or what went wrong."""
        problems, last = [], 0.0
        for msg_id, (mono0, _) in self.sent.items():
            got = receiver.arrivals.get((self.path, msg_id), [])
            if len(got) != 1:
                problems.append(f"{self.path} {msg_id}: received {len(got)} times")
            if got:
                self.latencies.append(got[0][0] - mono0)
                last = max(last, got[0][0])
        self.span = last - min(mono for mono, _ in self.sent.values())
        return problems


async def timed_row(
    row: Row, send: Callable[[Row], Awaitable[None]], receiver: Receiver, check: Callable[[], None]
) -> Row:
    """Send the row's requests and wait for them at the receiver (the CPU used meanwhile)."""
    cpu = time.process_time()
    await send(row)
    await receiver.wait_for(row.path, list(row.sent), check)
    row.cpu = time.process_time() - cpu
    await asyncio.sleep(GRACE)  # for a duplicate
    return row


async def paced(n: int, rate: float, one: Callable[[int], Awaitable[None]]) -> None:
    """`one(i)` for i in range(n), the i-th at start + i/rate (a late one goes at once)."""
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await one(i)


# ---------------------------------------------------------------- ours
@dataclass
class Pipeline:
    issues: Runtime
    notifications: Runtime
    subscription: str
    secret: str  # the subscription's `whsec_…`, for the bare requests' headers
    projects: list[str]

    def assigned(self, i: int) -> IssueAssigned:
        """A problem assigned 交办 to a department, as services/issues emits it."""
        today = dt.date(2026, 11, 2)
        return IssueAssigned(
            issue_id=str(uuid.uuid4()),
            project_id=self.projects[i % len(self.projects)],
            county=common.project_fields(i % len(self.projects))["county"],
            status="assigned",
            category="land",
            complexity="general",
            unit="市自然资源和规划局",
            deadline=today + dt.timedelta(days=7),
            reported_on=today - dt.timedelta(days=1),
            version=2,
            co_units=[],
            working_days=5,
            plan_due=None,
            assigned_on=today,
        )

    async def commit_events(self, row: Row, n: int, rate: float) -> None:
        """N units of work on the issues database, one event each, at `rate`."""

        async def one(i: int) -> None:
            payload = self.assigned(i)
            uow = self.issues.uow()  # its after_commit wakes the relay if relay_in_process
            async with uow:
                event = await uow.emit(
                    payload,
                    subject=payload.issue_id,
                    county=payload.county,
                    actor="commander:bench",
                    sequence=payload.version,
                    key=payload.project_id,
                )
            row.sent[event.id] = (time.monotonic(), time.time())

        await paced(n, rate, one)

    async def explain(self, row: Row, receiver: Receiver) -> list[str]:
        """Each event's delivery one successful attempt, or what went wrong; and the row's
        stages (after `row.check`)."""
        outbox, inbox = self.issues.definition.outbox, self.notifications.definition.inbox
        async with self.issues.session_factory() as session:
            published = {
                r.event_id: r.published_at.timestamp()
                for r in await session.execute(select(outbox.c.event_id, outbox.c.published_at))
            }
        async with self.notifications.session_factory() as session:
            applied = {
                r.event_id: r.processed_at.timestamp()
                for r in await session.execute(
                    select(inbox.c.event_id, inbox.c.processed_at).where(
                        inbox.c.consumer == self.notifications.consumers[0].name
                    )
                )
            }
            tries: dict[str, list] = defaultdict(list)  # one row per delivery and attempt
            for t in await session.execute(
                select(Delivery.message_id, Delivery.status, DeliveryAttempt)
                .outerjoin(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
                .where(Delivery.target == self.subscription)
            ):
                tries[t.message_id].append(t)

        problems: list[str] = []
        row.stages = {s: [] for s in STAGES}
        for event_id, (_, wall0) in row.sent.items():
            made = tries[event_id]
            if len(made) != 1 or made[0].status != "delivered" or not made[0].DeliveryAttempt.ok:
                problems.append(f"{event_id}: {len(made)} deliveries or attempts, {made}")
                continue
            got = receiver.arrivals.get((row.path, event_id))
            if not got:
                continue
            received, attempt = got[0][1], made[0].DeliveryAttempt
            post = attempt.attempted_at.timestamp() - attempt.latency_ms / 1000
            on_kafka, consumed = published[event_id], applied[event_id]
            spans = (on_kafka - wall0, consumed - on_kafka, post - consumed, received - post)
            for stage, seconds in zip(STAGES, spans, strict=True):
                row.stages[stage].append(seconds)
        return problems


# ---------------------------------------------------------------- bare
async def bare_rows(
    pipeline: Pipeline, receiver: Receiver, sources: list[Row], rate: float
) -> list[Row]:
    """For each of `sources`, a row of the same requests (its deliveries' bodies, Standard
    Webhooks headers signed before the clock) POSTed with httpx straight to the receiver at
    `rate`, each POST in a task of its own as the dispatcher's are."""
    async with pipeline.notifications.session_factory() as session:
        query = select(Delivery.message_id, Delivery.body)
        bodies = {
            r.message_id: r.body.encode()
            for r in await session.execute(query.where(Delivery.target == pipeline.subscription))
        }
    config, url = pipeline.notifications.config, receiver.base_url + BARE_PATH
    tasks: list[asyncio.Task[None]] = []

    async def post(row: Row, msg_id: str, headers: dict[str, str]) -> None:
        row.sent[msg_id] = (time.monotonic(), time.time())
        response = await client.post(url, content=bodies[msg_id], headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"bare POST {msg_id}: {response.status_code}")

    async def send(row: Row, ids: list[str]) -> None:
        signed = [webhook.headers(i, int(time.time()), bodies[i], [pipeline.secret]) for i in ids]
        await paced(len(ids), rate, lambda k: post_soon(row, ids[k], signed[k]))
        await asyncio.gather(*tasks)

    async def post_soon(row: Row, msg_id: str, headers: dict[str, str]) -> None:
        tasks.append(asyncio.create_task(post(row, msg_id, headers)))

    rows = []
    async with httpx.AsyncClient(
        follow_redirects=False,
        timeout=config.http_timeout,
        limits=httpx.Limits(max_connections=config.dispatch_concurrency),
        trust_env=False,
    ) as client:
        for source in sources:
            row = Row(f"bare httpx POST ({source.label})", BARE_PATH)
            sending = functools.partial(send, ids=list(source.sent))
            rows.append(await timed_row(row, sending, receiver, lambda: None))
    return rows


# ---------------------------------------------------------------- run
async def start_pipeline(
    args: argparse.Namespace,
    topic: str,
    bus: KafkaBus,
    receiver: Receiver,
    runtimes: list[Runtime],
    databases: list[str],
) -> Pipeline:
    """The issues service publishing to `topic` and following nothing; the notifications service
    following `topic` with the handlers it has for issues' topic, in a consumer group of its own,
    its projection knowing PROJECTS projects, and one webhook subscription to the receiver. Each
    on a fresh database, with the settings `kuaiche worker` resolves when nothing is set
    (relay_interval 0.5 s; development, so loopback webhook URLs are allowed)."""
    issues = dataclasses.replace(
        ISSUES, topic=topic, subscribes={}, consumer=None, jobs=lambda rt: {}
    )
    notifications = dataclasses.replace(
        NOTIFICATIONS,
        subscribes={topic: NOTIFICATIONS.subscribes[ISSUES_TOPIC]},
        consumer=f"kbench-notifications-{topic.split('.')[2]}",
    )
    for definition in (issues, notifications):
        name, url = await common.create_database(args.postgres, f"kbench_{definition.name}")
        databases.append(name)
        await upgrade(definition, url)
        settings = ServiceSettings(
            service=definition.name,
            port=8000,
            database_url=url,
            kafka_bootstrap=args.kafka,
            jwt_secret=SecretStr(secrets.token_urlsafe(48)),
            data_dir=Path(tempfile.gettempdir()),  # nothing is written there
        )
        runtimes.append(await open_runtime(definition, settings, bus))
    rt_issues, rt_notifications = runtimes
    projects = [str(uuid.uuid4()) for _ in range(PROJECTS)]
    async with rt_notifications.session_factory() as session, session.begin():
        for i, project_id in enumerate(projects):
            known = {k: common.project_fields(i)[k] for k in ("name", "county", "leader")}
            session.add(ProjectView(id=project_id, version=1, **known))
    subscription = await notifications_service.create_subscription(
        rt_notifications.uow(),
        Context.of(rt_notifications),
        Principal(subject="bench", role=Role.COMMANDER),
        SubscriptionCreate(
            url=receiver.base_url + OURS_PATH, description="bench", event_types=[IssueAssigned.TYPE]
        ),
    )
    return Pipeline(rt_issues, rt_notifications, subscription.id, subscription.secret, projects)


async def run(args: argparse.Namespace) -> int:
    n, rate = args.events, args.rate
    if n < 1 or rate <= 0:
        raise SystemExit("--events must be at least 1 and --rate above 0")
    topic = f"kuaiche.bench.{uuid.uuid4().hex[:10]}.issues"
    topics = [topic, dead_letter_topic(topic)]
    created_topics: list[str] = []
    databases: list[str] = []
    bus = KafkaBus(args.kafka, client_id="kuaiche-bench-notifications")
    receiver = Receiver()
    stop = asyncio.Event()
    workers: list[asyncio.Task[None]] = []
    rows: list[Row] = []
    runtimes: list[Runtime] = []

    pg = await common.postgres_facts(args.postgres)
    print(
        "\n".join(
            common.machine_lines(
                ["aiokafka", "SQLAlchemy", "asyncpg", "httpx", "uvicorn", "h11"],
                f"postgres: {common.hide_password(args.postgres)}, {pg}",
                f"kafka: {args.kafka}, topics of 3 partitions, replication 1",
            )
        ),
        flush=True,
    )

    def check_workers() -> None:
        for task in workers:
            if task.done():
                raise RuntimeError(f"{task.get_name()} stopped: {task.exception()!r}")

    async def measure() -> None:
        await bus.ensure_topics(topics)
        created_topics.extend(topics)
        await wait_for_leaders(args.kafka, topics)
        await receiver.start()
        pipeline = await start_pipeline(args, topic, bus, receiver, runtimes, databases)
        config = pipeline.notifications.config
        print(
            f"intervals: relay {pipeline.issues.relay.interval} s (KUAICHE_RELAY_INTERVAL) unless"
            " woken by a commit in its process; consumer fetch long-poll 0.5 s (returns on data);"
            f" dispatcher {config.dispatch_interval} s when idle"
            f" (KUAICHE_NOTIFICATIONS_DISPATCH_INTERVAL; batch {config.dispatch_batch},"
            f" concurrency {config.dispatch_concurrency})\n"
            f"events: N = {n} x {IssueAssigned.TYPE} a row at {rate:g}/s (after {WARM_UP}"
            f" warm-up), one webhook subscription, {PROJECTS} projects known",
            flush=True,
        )
        # The worker's jobs as `run_worker` starts them (less its supervisor, the reminder scan
        # and the feed trim): the issues relay, the notifications consumer and dispatcher.
        for name, job in (
            ("issues relay", pipeline.issues.relay.run),
            ("notifications consumer", pipeline.notifications.consumers[0].run),
            ("dispatcher", notifications_main.dispatcher(pipeline.notifications)),
        ):
            workers.append(asyncio.ensure_future(job(stop)))
            workers[-1].set_name(name)

        async def ours(label: str, count: int, woken: bool) -> Row:
            pipeline.issues.relay_in_process = woken
            row = Row(label, OURS_PATH)
            return await timed_row(
                row, lambda r: pipeline.commit_events(r, count, rate), receiver, check_workers
            )

        common.step("warm-up (group join, connections)")
        warm = await ours("warm-up", WARM_UP, True)
        common.step("ours, relay woken on commit")
        rows.append(await ours("ours, relay woken on commit", n, True))
        common.step("ours, relay polling")
        rows.append(await ours("ours, relay polling every 0.5 s", n, False))
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), 30)

        common.step("bare httpx POST")
        warm_bare, bare = await bare_rows(pipeline, receiver, [warm, rows[0]], rate)
        bare.label = "bare httpx POST"
        rows.append(bare)

        problems: list[str] = []
        for row in (warm, *rows[:-1]):
            problems += row.check(receiver) + await pipeline.explain(row, receiver)
        problems += warm_bare.check(receiver) + bare.check(receiver)
        sent = {(r.path, i) for r in (warm, warm_bare, *rows) for i in r.sent}
        problems += [f"{p} {i}: never sent" for p, i in sorted(receiver.arrivals.keys() - sent)]
        if problems:
            listed = problems[:20] + ([f"... and {len(problems) - 20} more"] * (len(problems) > 20))
            raise RuntimeError("not delivered exactly once:\n  " + "\n  ".join(listed))

    if not await common.attempt(
        PROG,
        args.timeout,
        measure,
        lambda: cleanup(args, stop, workers, receiver, runtimes, bus, databases, created_topics),
    ):
        return 1
    report(rows)
    return 0


HEADERS = "path|N|delivered|sent/s|delivered/s|CPU ms/event|p50 ms|p99 ms|max ms|p50 x|p99 x"


def report(rows: list[Row]) -> None:
    bare = rows[-1]

    def cells(r: Row) -> list[str]:
        ratios = ["", ""] if r is bare else [f"{r.ms(p) / bare.ms(p):.0f}" for p in (50, 99)]
        starts = sorted(mono for mono, _ in r.sent.values())
        sent = common.rate(len(starts) - 1, starts[-1] - starts[0])
        delivered, cpu = common.rate(len(r.latencies), r.span), r.cpu / len(r.sent) * 1000
        figures = (sent, delivered, cpu, r.ms(50), r.ms(99), r.ms(100))
        return (
            [r.label, str(len(r.sent)), str(len(r.latencies))]
            + [f"{x:.1f}" for x in figures]
            + ratios
        )

    print()
    print(common.table(HEADERS.split("|"), [cells(r) for r in rows]))
    print(
        "\nlatency: committed upstream (ours) or POST sent (bare) until the receiver has read the"
        "\nrequest. delivered/s: N over first send to last arrival. CPU ms/event: this process's"
        "\nCPU time over that span, per event. p50 x / p99 x: ours divided by bare."
    )
    for r in rows[:-1]:
        print(f"\nwhere the time goes, {r.label} (ms; the p50s do not add up, the means do):")
        stages = [
            [
                stage,
                *(
                    f"{x * 1000:.1f}"
                    for x in (percentile(v, 50), percentile(v, 99), sum(v) / len(v))
                ),
            ]
            for stage, v in r.stages.items()
            if v
        ]
        print(common.table(["stage", "p50", "p99", "mean"], stages))


async def cleanup(
    args: argparse.Namespace,
    stop: asyncio.Event,
    workers: list[asyncio.Task[None]],
    receiver: Receiver,
    runtimes: list[Runtime],
    bus: KafkaBus,
    databases: list[str],
    topics: list[str],
) -> bool:
    stop.set()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    for close in (receiver.stop, *(r.close for r in runtimes), bus.stop):
        with contextlib.suppress(Exception):
            await close()
    ok = await common.drop_databases(PROG, args.postgres, databases)
    if topics:
        try:
            await asyncio.wait_for(delete_topics(args.kafka, topics), 30)
        except Exception as exc:
            ok = False
            common.error(PROG, f"could not delete topics {topics}: {exc!r}")
    return ok


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == [RECEIVER_FLAG]:
        serve_receiver()
        return 0
    options = common.parser(__doc__)
    options.set_defaults(timeout=600)
    options.add_argument("--events", type=int, default=1000, help="N a row (default 1000)")
    options.add_argument("--rate", type=float, default=50, help="events a second (default 50)")
    options.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="server URL of a role that may CREATE DATABASE (default %(default)s)",
    )
    options.add_argument("--kafka", default=DEFAULT_KAFKA, help="bootstrap (default %(default)s)")
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
