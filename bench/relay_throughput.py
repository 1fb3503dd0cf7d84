"""Outbox relay and inbox consumer throughput on real PostgreSQL and Kafka, against the bare stack.

One run measures, for N events of the registry's real shape (`kuaiche.project.registered.v1`
CloudEvents, one project each, key = project id):

  (a) bare producer  aiokafka, enable_idempotence=True, acks=all (and linger_ms=5, like
                     KafkaBus) sending the N messages to a fresh topic, awaiting every ack;
  (b) outbox write   N transactions of one event each (`shared.outbox.write_event`, like N API
                     calls, one after the other) into a fresh database's outbox table;
      outbox relay   `OutboxRelay.publish_pending()` (KafkaBus) until the outbox is drained;
  (c) bare consumer  aiokafka consumer reading the N messages of the relay's topic, batches of
                     up to 100, offsets committed after each batch;
      inbox consumer `InboxConsumer.process_batch` over `KafkaConsumer.fetch` (what
                     `InboxConsumer.run` does) with a trivial handler: one transaction per
                     fetched batch (its inbox rows in one INSERT ... ON CONFLICT DO NOTHING
                     RETURNING, then one counter UPDATE per event), in another fresh database.

Consumers are timed from their first non-empty fetch (the group join is left out) to the Nth
message committed. Producers are started, and the new topics have their partition leaders, before
the clock starts. Everything it creates (two databases, three topics) has a unique name and is
removed at the end.

    .venv/bin/python bench/relay_throughput.py [--events 5000] [--postgres URL] [--kafka HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from aiokafka.client import AIOKafkaClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from bench import common  # noqa: E402
from shared.bus.kafka import FETCH_MAX_WAIT_MS, KafkaBus  # noqa: E402
from shared.db import make_engine, make_session_factory  # noqa: E402
from shared.events.catalogue.registry import SOURCE, ProjectRegistered  # noqa: E402
from shared.events.envelope import CONTENT_TYPE, CloudEvent  # noqa: E402
from shared.events.topics import dead_letter_topic  # noqa: E402
from shared.inbox import Handler, InboxConsumer, Outcome  # noqa: E402
from shared.outbox import OutboxRelay, write_event  # noqa: E402

# The backbone's own test schema: the outbox, the inbox and a table of counters a handler bumps.
from tests.contract.backbone import (  # noqa: E402
    bump,
    counter,
    counters,
    create_schema,
    inbox,
    outbox,
)

PROG = "relay_throughput"
DEFAULT_POSTGRES = "postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres"
DEFAULT_KAFKA = "127.0.0.1:9092"
FETCH_BATCH = 100  # KafkaConsumer.fetch's default max_messages


def registered_events(n: int) -> list[CloudEvent]:
    """N registration events as the registry emits them (see services/registry/service.py)."""
    events = []
    for i in range(n):
        pid = str(uuid.uuid4())
        fields = common.project_fields(i)
        payload = ProjectRegistered(
            project_id=pid,
            stage="planning",
            planned_start=None,
            planned_completion=None,
            actual_start=None,
            actual_completion=None,
            version=1,
            **fields,
        )
        events.append(
            CloudEvent(
                source=SOURCE,
                type=ProjectRegistered.TYPE,
                subject=pid,
                data=payload.model_dump(mode="json"),
                county=fields["county"],
                actor="commander:bench",
                sequence=1,
                partitionkey=pid,
            )
        )
    return events


@dataclass
class Figure:
    label: str
    count: int
    seconds: float
    bare: Figure | None = None

    @property
    def per_second(self) -> float:
        return common.rate(self.count, self.seconds)


# ---------------------------------------------------------------- (a) bare producer
async def bare_produce(bootstrap: str, topic: str, events: list[CloudEvent]) -> float:
    messages = [
        (
            e.partitionkey.encode(),
            e.to_json(),
            [("content-type", CONTENT_TYPE.encode()), ("ce_type", e.type.encode())],
        )
        for e in events
    ]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="kuaiche-bench-bare",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in messages
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


# ---------------------------------------------------------------- (b) outbox write + relay
async def outbox_write(engine: AsyncEngine, topic: str, events: list[CloudEvent]) -> float:
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    for event in events:
        async with sessions() as session, session.begin():
            await write_event(session, outbox, topic, event)
    return time.perf_counter() - started


async def outbox_relay(engine: AsyncEngine, bootstrap: str, expected: int) -> float:
    sessions = make_session_factory(engine)
    bus = KafkaBus(bootstrap, client_id="kuaiche-bench-relay")
    await bus.start()
    try:
        relay = OutboxRelay(f"bench-{uuid.uuid4().hex[:8]}", sessions, bus, outbox)
        published = 0
        started = time.perf_counter()
        while batch := await relay.publish_pending():
            published += batch
        seconds = time.perf_counter() - started
        left = await relay.pending()
    finally:
        await bus.stop()
    if published != expected or left:
        raise RuntimeError(f"relay published {published} of {expected}; {left} left unpublished")
    return seconds


# ---------------------------------------------------------------- (c) consumers
async def bare_consume(bootstrap: str, topic: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        client_id="kuaiche-bench-bare-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # as the bus's consumers
    )
    await consumer.start()
    try:
        seen = 0
        started: float | None = None
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=FETCH_BATCH)
            if not batches:
                continue
            if started is None:
                started = time.perf_counter()
            seen += sum(len(records) for records in batches.values())
            await consumer.commit()
        assert started is not None
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    if seen != expected:
        raise RuntimeError(f"bare consumer read {seen} messages, expected {expected}")
    return seconds


async def bump_events(session: AsyncSession, event: CloudEvent, payload: object) -> None:
    """A handler with a statement of its own per event: one counter UPDATE (row 1's note)."""
    await bump(session, "events")


async def no_op(session: AsyncSession, event: CloudEvent, payload: object) -> None:
    """A handler that does nothing: the inbox's own cost (row 1's note)."""


async def count_events(session: AsyncSession, event: CloudEvent, payload: object) -> None:
    """Counts the event in its transaction; `write_counts` writes the count once before the
    transaction commits, the way scoring's live handlers gather a batch's rows and write them
    together (`SessionRows`)."""
    session.info["events"] = session.info.get("events", 0) + 1


async def write_counts(session: AsyncSession) -> None:
    counted = session.info.pop("events", 0)
    if counted:
        await bump(session, "events", counted)


class _FirstFetch:
    """A consumer noting when its first non-empty fetch returned (where the clock starts)."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.at: float | None = None

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        messages = await self.consumer.fetch(*args, **kwargs)
        if messages and self.at is None:
            self.at = time.perf_counter()
        return messages

    def __getattr__(self, name: str) -> Any:
        return getattr(self.consumer, name)


async def inbox_consume(
    engine: AsyncEngine,
    bootstrap: str,
    topic: str,
    expected: int,
    handler: Handler = count_events,
) -> float:
    """The worker's loop (`InboxConsumer.run`: a batch per transaction, its offsets committed
    while the next batch is applied) from its first non-empty fetch to the last event applied.
    `handler` is `count_events` (its count written once per transaction), `bump_events` (an
    UPDATE per event) or `no_op`."""
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(counters.insert().values(name="events", value=0))
    bus = KafkaBus(bootstrap, client_id="kuaiche-bench-inbox")
    outcomes: Counter[Outcome] = Counter()
    stop = asyncio.Event()
    finished: list[float] = []

    def tally(outcome: Outcome, count: int) -> None:
        outcomes[outcome] += count
        if outcomes.total() >= expected and not finished:
            finished.append(time.perf_counter())
            stop.set()

    name = f"bench-inbox-{uuid.uuid4().hex[:8]}"
    consumer = InboxConsumer(
        name,
        bus,
        sessions,
        inbox,
        [topic],
        {ProjectRegistered.TYPE: handler},
        retry_backoff=0,
        on_outcome=tally,
        after_batch=write_counts if handler is count_events else None,
    )
    reader = _FirstFetch(bus.consumer(name, [topic]))
    await consumer.run(stop, reader)
    assert reader.at is not None and finished
    seconds = finished[0] - reader.at
    async with sessions() as session:
        applied = await counter(session, "events")
        rows = await session.scalar(select(func.count()).select_from(inbox))
    counted = 0 if handler is no_op else expected
    if outcomes[Outcome.APPLIED] != expected or applied != counted or rows != expected:
        raise RuntimeError(
            f"inbox consumer: outcomes {dict(outcomes)}, counter {applied}, inbox rows {rows}; "
            f"expected {expected} applied, counter {counted}"
        )
    return seconds


# ---------------------------------------------------------------- run
async def create_topics(bootstrap: str, topics: list[str]) -> None:
    bus = KafkaBus(bootstrap, client_id="kuaiche-bench-admin")
    await bus.ensure_topics(topics)  # 3 partitions, like every kuaiche topic


async def wait_for_leaders(bootstrap: str, topics: list[str], timeout: float = 30) -> None:
    """Until every partition of `topics` has a leader: a topic just created may not have one
    yet, and a producer's first send would wait for the election inside the clock."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id="kuaiche-bench-admin")
    await client.bootstrap()
    try:
        for topic in topics:
            client.add_topic(topic)
        deadline = time.monotonic() + timeout
        while True:
            await client.force_metadata_update()
            cluster = client.cluster
            ready = all(
                (partitions := cluster.partitions_for_topic(t))
                and all(
                    (cluster.leader_for_partition(TopicPartition(t, p)) or -1) >= 0
                    for p in partitions
                )
                for t in topics
            )
            if ready:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics {topics} have no leader after {timeout} s")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="kuaiche-bench-admin")
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


async def run(args: argparse.Namespace) -> int:
    n = args.events
    if n < 1:
        raise SystemExit("--events must be at least 1")
    tag = uuid.uuid4().hex[:10]
    bare_topic = f"kuaiche.bench.{tag}.bare"
    ours_topic = f"kuaiche.bench.{tag}.outbox"
    topics = [bare_topic, ours_topic, dead_letter_topic(ours_topic)]
    created_topics: list[str] = []
    databases: list[str] = []
    engines: list[AsyncEngine] = []
    figures: list[Figure] = []
    events = registered_events(n)
    sizes = [len(e.to_json()) for e in events]

    pg = await common.postgres_facts(args.postgres)
    print(
        "\n".join(
            common.machine_lines(
                ["aiokafka", "SQLAlchemy", "asyncpg"],
                f"postgres: {common.hide_password(args.postgres)}, {pg}",
                f"kafka: {args.kafka}, topics of 3 partitions, replication 1",
                f"events: N = {n} x {ProjectRegistered.TYPE}, "
                f"value {min(sizes)}-{max(sizes)} bytes (mean {sum(sizes) / n:.0f}), key 36 bytes",
            )
        ),
        flush=True,
    )

    async def measure() -> None:
        await create_topics(args.kafka, topics)
        created_topics.extend(topics)
        await wait_for_leaders(args.kafka, topics)
        producer_db, producer_url = await common.create_database(args.postgres, "kbench_outbox")
        databases.append(producer_db)
        consumer_db, consumer_url = await common.create_database(args.postgres, "kbench_inbox")
        databases.append(consumer_db)
        for url in (producer_url, consumer_url):
            engine = make_engine(url)
            engines.append(engine)
            await create_schema(engine)
        producer_engine, consumer_engine = engines

        common.step("(a) bare producer")
        bare = Figure("bare producer (aiokafka, idempotent, acks=all)", n, 0)
        bare.seconds = await bare_produce(args.kafka, bare_topic, events)
        figures.append(bare)

        common.step("(b) outbox write")
        write = Figure("outbox write (PostgreSQL, 1 event per transaction)", n, 0)
        write.seconds = await outbox_write(producer_engine, ours_topic, events)
        figures.append(write)
        common.step("(b) outbox relay")
        relay = Figure("outbox relay (publish_pending until drained)", n, 0, bare)
        relay.seconds = await outbox_relay(producer_engine, args.kafka, n)
        figures.append(relay)
        figures.append(
            Figure("outbox write + relay, end to end", n, write.seconds + relay.seconds, bare)
        )

        common.step("(c) bare consumer")
        bare_in = Figure("bare consumer (aiokafka getmany + commit)", n, 0)
        bare_in.seconds = await bare_consume(args.kafka, ours_topic, n)
        figures.append(bare_in)
        common.step("(c) inbox consumer")
        ours_in = Figure("inbox consumer (1 transaction per batch)", n, 0, bare_in)
        ours_in.seconds = await inbox_consume(consumer_engine, args.kafka, ours_topic, n)
        figures.append(ours_in)

    if not await common.attempt(
        PROG,
        args.timeout,
        measure,
        lambda: cleanup(args, engines, databases, created_topics),
    ):
        return 1
    print()
    print(
        common.table(
            ["path", "N", "seconds", "events/s", "ours/bare"],
            [
                [
                    f.label,
                    str(f.count),
                    f"{f.seconds:.3f}",
                    f"{f.per_second:,.0f}",
                    common.ours_over_bare(f.per_second, f.bare.per_second if f.bare else None),
                ]
                for f in figures
            ],
        )
    )
    print(
        "\nours/bare = our events/s divided by the bare stack's (relay and end to end: the bare"
        " producer; inbox: the bare consumer)."
    )
    return 0


async def cleanup(
    args: argparse.Namespace, engines: list[AsyncEngine], databases: list[str], topics: list[str]
) -> bool:
    for engine in engines:
        with contextlib.suppress(Exception):
            await engine.dispose()
    ok = await common.drop_databases(PROG, args.postgres, databases)
    if not topics:
        return ok
    try:
        await asyncio.wait_for(delete_topics(args.kafka, topics), 30)
    except Exception as exc:
        ok = False
        common.error(PROG, f"could not delete topics {topics}: {exc!r}")
    return ok


def main(argv: list[str] | None = None) -> int:
    options = common.parser(__doc__)
    options.add_argument("--events", type=int, default=5000, help="N (default 5000)")
    options.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="server URL of a role that may CREATE DATABASE (default %(default)s)",
    )
    options.add_argument("--kafka", default=DEFAULT_KAFKA, help="bootstrap (default %(default)s)")
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
