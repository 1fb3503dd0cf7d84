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
                     event with its inbox row and one counter UPDATE, in another fresh database.

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
import logging
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from aiokafka.client import AIOKafkaClient  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from bench.common import (  # noqa: E402
    create_database,
    drop_database,
    hide_password,
    machine_lines,
    postgres_facts,
    rate,
    table,
)
from shared.bus.kafka import KafkaBus  # noqa: E402
from shared.db import make_engine, make_session_factory  # noqa: E402
from shared.events.catalogue.registry import SOURCE, ProjectRegistered  # noqa: E402
from shared.events.envelope import CONTENT_TYPE, CloudEvent  # noqa: E402
from shared.events.topics import dead_letter_topic  # noqa: E402
from shared.inbox import InboxConsumer, Outcome, inbox_table  # noqa: E402
from shared.outbox import OutboxRelay, outbox_table, write_event  # noqa: E402

DEFAULT_POSTGRES = "postgresql://kuaiche:kuaiche@127.0.0.1:54320/postgres"
DEFAULT_KAFKA = "127.0.0.1:9092"
FETCH_BATCH = 100  # KafkaConsumer.fetch's default max_messages

# The same shapes as tests/contract/backbone.py: outbox, inbox and a table a handler changes.
metadata = MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
counters = Table(
    "counters",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Integer, nullable=False),
)

COUNTIES = ["371602", "371603", "371621", "371622", "371623", "371625", "371681", "371691"]
LEVELS = [None, "county_key", "city_key", "provincial_preferred"]


def registered_events(n: int) -> list[CloudEvent]:
    """N registration events as the registry emits them (see services/registry/service.py)."""
    rnd = random.Random(20201)
    events = []
    for i in range(n):
        pid = str(uuid.uuid4())
        county = COUNTIES[i % len(COUNTIES)]
        payload = ProjectRegistered(
            project_id=pid,
            name=f"滨州市重点项目{i:05d}号 年产{rnd.randint(1, 90)}万吨新材料及配套设施建设项目",
            county=county,
            level=LEVELS[i % len(LEVELS)],
            track="implementation" if i % 3 else "preparation",
            stage="planning",
            code=f"2104-{county}-04-01-{i:06d}",
            total_investment=Decimal(rnd.randint(1_000, 2_000_000)),
            planned_start=None,
            planned_completion=None,
            actual_start=None,
            actual_completion=None,
            leader="市委常委、副市长",
            responsible_unit="市发展和改革委员会",
            industry="新材料",
            tags=["新旧动能转换", "双招双引"],
            version=1,
        )
        events.append(
            CloudEvent(
                source=SOURCE,
                type=ProjectRegistered.TYPE,
                subject=pid,
                data=payload.model_dump(mode="json"),
                county=county,
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
        return rate(self.count, self.seconds)


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
    await session.execute(
        update(counters).where(counters.c.name == "events").values(value=counters.c.value + 1)
    )


async def inbox_consume(engine: AsyncEngine, bootstrap: str, topic: str, expected: int) -> float:
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(counters.insert().values(name="events", value=0))
    bus = KafkaBus(bootstrap, client_id="kuaiche-bench-inbox")
    outcomes: Counter[Outcome] = Counter()
    name = f"bench-inbox-{uuid.uuid4().hex[:8]}"
    consumer = InboxConsumer(
        name,
        bus,
        sessions,
        inbox,
        [topic],
        {ProjectRegistered.TYPE: bump_events},
        retry_backoff=0,
        on_outcome=lambda o: outcomes.update([o]),
    )
    reader = bus.consumer(name, [topic])
    await reader.start()
    try:
        started: float | None = None
        while outcomes.total() < expected:
            messages = await reader.fetch(timeout=0.5, max_messages=FETCH_BATCH)
            if messages and started is None:
                started = time.perf_counter()
            await consumer.process_batch(reader, messages)
        assert started is not None
        seconds = time.perf_counter() - started
    finally:
        await reader.stop()
    async with sessions() as session:
        applied = await session.scalar(select(counters.c.value).where(counters.c.name == "events"))
        rows = await session.scalar(select(func.count()).select_from(inbox))
    if outcomes[Outcome.APPLIED] != expected or applied != expected or rows != expected:
        raise RuntimeError(
            f"inbox consumer: outcomes {dict(outcomes)}, counter {applied}, inbox rows {rows}; "
            f"expected {expected} applied"
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

    pg = await postgres_facts(args.postgres)
    print(
        "\n".join(
            machine_lines(
                ["aiokafka", "SQLAlchemy", "asyncpg"],
                f"postgres: {hide_password(args.postgres)}, {pg}",
                f"kafka: {args.kafka}, topics of 3 partitions, replication 1",
                f"events: N = {n} x {ProjectRegistered.TYPE}, "
                f"value {min(sizes)}-{max(sizes)} bytes (mean {sum(sizes) / n:.0f}), key 36 bytes",
            )
        ),
        flush=True,
    )
    failed = False
    try:
        async with asyncio.timeout(args.timeout):
            await create_topics(args.kafka, topics)
            created_topics += topics
            await wait_for_leaders(args.kafka, topics)
            producer_db, producer_url = await create_database(args.postgres, "kbench_outbox")
            databases.append(producer_db)
            consumer_db, consumer_url = await create_database(args.postgres, "kbench_inbox")
            databases.append(consumer_db)
            for url in (producer_url, consumer_url):
                engine = make_engine(url)
                engines.append(engine)
                async with engine.begin() as conn:
                    await conn.run_sync(metadata.create_all)
            producer_engine, consumer_engine = engines

            step("(a) bare producer")
            bare = Figure("bare producer (aiokafka, idempotent, acks=all)", n, 0)
            bare.seconds = await bare_produce(args.kafka, bare_topic, events)
            figures.append(bare)

            step("(b) outbox write")
            write = Figure("outbox write (PostgreSQL, 1 event per transaction)", n, 0)
            write.seconds = await outbox_write(producer_engine, ours_topic, events)
            figures.append(write)
            step("(b) outbox relay")
            relay = Figure("outbox relay (publish_pending until drained)", n, 0, bare)
            relay.seconds = await outbox_relay(producer_engine, args.kafka, n)
            figures.append(relay)
            figures.append(
                Figure("outbox write + relay, end to end", n, write.seconds + relay.seconds, bare)
            )

            step("(c) bare consumer")
            bare_in = Figure("bare consumer (aiokafka getmany + commit)", n, 0)
            bare_in.seconds = await bare_consume(args.kafka, ours_topic, n)
            figures.append(bare_in)
            step("(c) inbox consumer")
            ours_in = Figure("inbox consumer (1 transaction per event)", n, 0, bare_in)
            ours_in.seconds = await inbox_consume(consumer_engine, args.kafka, ours_topic, n)
            figures.append(ours_in)
    except TimeoutError:
        failed = True
        print(f"relay_throughput: error: not done within {args.timeout} s", file=sys.stderr)
    except Exception:
        failed = True
        print("relay_throughput: error:", file=sys.stderr)
        traceback.print_exc()
    finally:
        if not await cleanup(args, engines, databases, created_topics):
            failed = True

    if failed:
        return 1
    print()
    print(
        table(
            ["path", "N", "seconds", "events/s", "ours/bare"],
            [
                [
                    f.label,
                    str(f.count),
                    f"{f.seconds:.3f}",
                    f"{f.per_second:,.0f}",
                    f"{f.per_second / f.bare.per_second:.2f}" if f.bare else "",
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


def step(what: str) -> None:
    print(f"... {what}", file=sys.stderr, flush=True)


async def cleanup(
    args: argparse.Namespace, engines: list[AsyncEngine], databases: list[str], topics: list[str]
) -> bool:
    ok = True
    for engine in engines:
        with contextlib.suppress(Exception):
            await engine.dispose()
    for name in databases:
        try:
            await asyncio.wait_for(drop_database(args.postgres, name), 30)
        except Exception as exc:
            ok = False
            print(f"relay_throughput: could not drop database {name}: {exc!r}", file=sys.stderr)
    if not topics:
        return ok
    try:
        await asyncio.wait_for(delete_topics(args.kafka, topics), 30)
    except Exception as exc:
        ok = False
        print(f"relay_throughput: could not delete topics {topics}: {exc!r}", file=sys.stderr)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="N (default 5000)")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="server URL of a role that may CREATE DATABASE (default %(default)s)",
    )
    parser.add_argument("--kafka", default=DEFAULT_KAFKA, help="bootstrap (default %(default)s)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="give up after this many seconds (300)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    except Exception:
        print("relay_throughput: error:", file=sys.stderr)
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
