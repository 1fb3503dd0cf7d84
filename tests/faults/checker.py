"""The checker: once the workload has drained, the history against the databases and the log.

- every write acknowledged with a 2xx is in its service's database exactly once;
- a write that got no answer is there fully (its row and its event) or not at all;
- every outbox event reached Kafka, and no event went to a dead-letter topic;
- every read model equals what a from-scratch rebuild produces: factors', issues' and
  notifications' projections replayed by the service's own handlers into a fresh database,
  scoring's facts and the month's scorecards before and after `readmodel.rebuild`;
- the workload's webhook subscription: no `webhook-id` reached the receiver twice (it answers
  2xx to everything), but for the one case no sender can rule out: a notifications worker
  killed after the receiver's 2xx and before recording it sends the same id again once its
  lease ends. An id received twice counts as that case only if a notifications worker was
  killed between the two receipts and notifications recorded one successful try of it (the
  first went unrecorded); any other repeat fails. Notifications holds exactly one delivery
  for each event of a selected type written after the subscription (in the issues' and
  factors' outboxes), every one of them `delivered`; what reached the receiver is exactly
  those events, each body the event itself.

The counts it checked come back as a `Report`, one line per fault."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kuaiche.services import SERVICES
from shared.config import ServiceSettings
from shared.events.topics import DOMAIN_TOPICS, dead_letter_topic
from shared.migrations import upgrade
from shared.runtime import open_runtime
from tests.faults.stack import COMMANDER, SECRET, Stack
from tests.faults.workload import History
from tests.support.transactions import still_open

DRAIN_TIMEOUT = 180.0
# Deliveries still pending after the drain: the dispatcher's lease (300 s by default) may hold
# one a killed worker had claimed, so wait past it.
DELIVERY_TIMEOUT = 360.0
# The projections a consumer keeps, by service: compared with a rebuild's.
PROJECTIONS = {
    "factors": ["projects"],
    "issues": ["projects"],
    "notifications": ["projects", "problems", "pools"],
}
# Columns that say when a row was applied, not what it holds.
WHEN = ("updated_at", "applied_at", "received_at", "at")

# What each kind of write leaves: the row that holds it, counted by the tag the write carries
# (or, "subject", by the problem it moves: each move happens once per problem).
ROWS: dict[str, tuple[str, ...]] = {
    "project": ("registry", "SELECT count(*) FROM projects WHERE name = $1"),
    "stage": ("registry", "SELECT count(*) FROM stage_changes WHERE reason = $1"),
    "report": ("registry", "SELECT count(*) FROM monthly_reports WHERE progress_note = $1"),
    "allocation": ("factors", "SELECT count(*) FROM allocations WHERE note = $1"),
    "release": (
        "factors",
        "SELECT count(*) FROM outbox WHERE type = 'kuaiche.factor.released.v1'"
        " AND payload::json->'data'->>'reason' = $1",
    ),
    "issue": ("issues", "SELECT count(*) FROM issues WHERE title = $1"),
    "assign": (
        "issues",
        "SELECT count(*) FROM issue_history WHERE action = 'assign' AND issue_id = $1",
        "subject",
    ),
    "resolve": (
        "issues",
        "SELECT count(*) FROM issue_history WHERE action = 'resolve' AND issue_id = $1",
        "subject",
    ),
    "feedback": (
        "issues",
        "SELECT count(*) FROM issue_history WHERE action = 'accept' AND issue_id = $1",
        "subject",
    ),
    "close": (
        "issues",
        "SELECT count(*) FROM issue_history WHERE action = 'close' AND issue_id = $1",
        "subject",
    ),
}


@dataclass
class Report:
    fault: str
    seed: int
    writes: int = 0
    acknowledged: int = 0
    unanswered: int = 0
    unanswered_there: int = 0
    events: int = 0
    kafka_duplicates: int = 0
    rows_compared: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    half: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    dead_letters: int = 0
    differences: list[str] = field(default_factory=list)
    first_event_after_restart: dict[str, float] = field(default_factory=dict)
    drained_in: float = 0.0
    workload_took: float = 0.0
    webhook_events: int = 0  # events of the subscribed types written after the subscription
    webhook_deliveries: int = 0  # the subscription's rows in notifications' deliveries
    webhook_received: int = 0  # requests that reached the receiver (each answered 2xx)
    webhook_twice: list[str] = field(default_factory=list)  # ids received twice, unexplained
    # ids a notifications worker killed before recording the receiver's 2xx sent again
    webhook_resent_after_kill: list[str] = field(default_factory=list)
    webhook_wrong: list[str] = field(default_factory=list)  # every other disagreement

    def line(self) -> str:
        resumed = ", ".join(f"{k} {v:.1f}s" for k, v in self.first_event_after_restart.items())
        return (
            f"fault {self.fault} (seed {self.seed}): {self.writes} writes, "
            f"{self.acknowledged} acknowledged, {self.unanswered} unanswered "
            f"({self.unanswered_there} there), {self.events} events in Kafka "
            f"({self.kafka_duplicates} sent twice), {self.rows_compared} read-model rows compared, "
            f"lost = {len(self.lost)}, doubled = {len(self.doubled)}, half-written = "
            f"{len(self.half)}, unpublished = {len(self.unpublished)}, dead letters = "
            f"{self.dead_letters}, read-model differences = {len(self.differences)}"
            + f"; webhooks: {self.webhook_events} events, {self.webhook_deliveries} deliveries, "
            f"{self.webhook_received} received, received twice = {len(self.webhook_twice)} "
            f"(+ {len(self.webhook_resent_after_kill)} sent again after a kill -9 before the 2xx "
            "was recorded), "
            f"wrong = {len(self.webhook_wrong)}"
            + f"; workload {self.workload_took:.0f}s, drained in {self.drained_in:.0f}s"
            + (f"; first event after restart: {resumed}" if resumed else "")
        )

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.doubled
            or self.half
            or self.unpublished
            or self.dead_letters
            or self.differences
            or self.webhook_twice
            or self.webhook_wrong
        )


class Checker:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def connect(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.stack.postgres.url(f"kuaiche_{service}"))

    # ----------------------------------------------------------------- draining
    async def drain(self) -> None:
        """Until every outbox row is published, no transaction is open on a domain topic (one
        a killed relay left hides what follows it from every read_committed reader until the
        broker aborts it), and every consumer group has read its topics to their end."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while True:
            pending = await self.unpublished()
            if not pending:
                open_ = await still_open(
                    self.stack.broker.bootstrap, await self.partitions(list(DOMAIN_TOPICS))
                )
                pending = [f"{tp.topic}[{tp.partition}]: a transaction open" for tp in open_]
            lag = await self.lag() if not pending else {"(outbox)": len(pending)}
            if not pending and not any(lag.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not drained within {DRAIN_TIMEOUT}s: lag {lag}")
            await asyncio.sleep(1.0)

    async def unpublished(self) -> list[str]:
        found = []
        for service in SERVICES:
            conn = await self.connect(service)
            try:
                rows = await conn.fetch("SELECT event_id FROM outbox WHERE published_at IS NULL")
            finally:
                await conn.close()
            found += [f"{service}:{r['event_id']}" for r in rows]
        return found

    async def lag(self) -> dict[str, int]:
        """Per consumer group, how many of its partitions' last events it has not committed
        past. (Not the end offset: a transactional producer's commit marker takes an offset
        after each transaction's last event, which no consumer ever commits past.)"""
        last = await self.last_events()
        conn = await self.connect("scoring")
        try:
            epoch = await conn.fetchval("SELECT number FROM epochs WHERE state = 'current'")
        finally:
            await conn.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.stack.broker.bootstrap)
        await admin.start()
        try:
            lags: dict[str, int] = {}
            for group, _ in await admin.list_consumer_groups():
                # the rebuilds' own, and the groups of scoring's retired epochs: nobody reads on
                retired = (
                    group.startswith("scoring-read-model-e")
                    and group != f"scoring-read-model-e{epoch}"
                )
                if group.startswith("faults-") or retired:
                    continue
                committed = await admin.list_consumer_group_offsets(group)
                lags[group] = sum(
                    1 for tp, meta in committed.items() if tp in last and meta.offset <= last[tp]
                )
            return lags
        finally:
            await admin.close()

    async def partitions(self, topics: list[str]) -> list[TopicPartition]:
        """The topics' partitions (none for a topic nobody made)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.stack.broker.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics(topics)
        finally:
            await admin.close()
        return [
            TopicPartition(t["topic"], p["partition"])
            for t in described
            if t["error_code"] == 0
            for p in t["partitions"]
        ]

    async def read(self, partitions: list[TopicPartition], tail: int | None = None) -> list[Any]:
        """The committed records of `partitions` from their beginning (or their last `tail`
        offsets) to their end as it is now."""
        if not partitions:
            return []
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.stack.broker.bootstrap,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await reader.start()
        try:
            reader.assign(partitions)
            ends = await reader.end_offsets(partitions)
            for tp in partitions:
                reader.seek(tp, 0 if tail is None else max(0, ends[tp] - tail))
            records: list[Any] = []
            empty = 0
            while empty < 5 and await _behind(reader, ends):
                batch = await reader.getmany(*partitions, timeout_ms=1000)
                empty = 0 if any(batch.values()) else empty + 1
                for found in batch.values():
                    records += found
            return records
        finally:
            await reader.stop()

    async def last_events(self) -> dict[TopicPartition, int]:
        """The offset of each domain partition's last event."""
        last: dict[TopicPartition, int] = {}
        for r in await self.read(await self.partitions(list(DOMAIN_TOPICS)), tail=64):
            tp = TopicPartition(r.topic, r.partition)
            last[tp] = max(last.get(tp, -1), r.offset)
        return last

    async def read_topic(self, topic: str) -> list[dict[str, Any]]:
        """Every event on the topic, from its beginning to its end as it is now."""
        records = await self.read(await self.partitions([topic]))
        return [json.loads(r.value) for r in records if r.value is not None]

    # ----------------------------------------------------------------- the checks
    async def check(self, history: History, fault: str) -> Report:
        report = Report(fault, history.seed, writes=len(history.writes))
        started = time.monotonic()
        await self.drain()
        report.drained_in = time.monotonic() - started
        await self.check_writes(history, report)
        await self.check_outboxes(report)
        await self.check_projections(report)
        await self.check_scoring(report)
        await self.check_webhooks(history, report)
        return report

    async def check_writes(self, history: History, report: Report) -> None:
        conns = {s: await self.connect(s) for s in ("registry", "factors", "issues")}
        try:
            for write in history.writes:
                if not (write.acknowledged or write.unanswered):
                    continue
                service, query = ROWS[write.kind][:2]
                by = write.subject if len(ROWS[write.kind]) > 2 else write.tag
                count = await conns[service].fetchval(query, by)
                found = f"{write.kind} #{write.n} {write.path} ({write.status}): {count} rows"
                if write.acknowledged:
                    report.acknowledged += 1
                    if count == 0:
                        report.lost.append(found)
                    elif count > 1:
                        report.doubled.append(found)
                else:
                    report.unanswered += 1
                    report.unanswered_there += count == 1
                    if count > 1:
                        report.doubled.append(found)
        finally:
            for conn in conns.values():
                await conn.close()

    async def check_outboxes(self, report: Report) -> None:
        """Every event of every outbox is on its topic; none went to a dead-letter topic. (A
        row with its event is "fully there": every change writes its event in its own
        transaction, so an event missing here is a half-written change.)"""
        on_kafka: dict[str, Counter[str]] = {}
        for topic in DOMAIN_TOPICS:
            on_kafka[topic] = Counter(m["id"] for m in await self.read_topic(topic))
            report.dead_letters += len(await self.read_topic(dead_letter_topic(topic)))
            report.kafka_duplicates += sum(n - 1 for n in on_kafka[topic].values())
        for service in SERVICES:
            conn = await self.connect(service)
            try:
                rows = await conn.fetch("SELECT event_id, topic, published_at FROM outbox")
            finally:
                await conn.close()
            for row in rows:
                report.events += 1
                if row["event_id"] not in on_kafka.get(row["topic"], Counter()):
                    report.unpublished.append(f"{service}:{row['event_id']}")

    async def check_projections(self, report: Report) -> None:
        """Each consumer's projection against the same handlers replayed from the topics'
        beginning into a fresh database."""
        for service, tables in PROJECTIONS.items():
            definition = dataclasses.replace(
                SERVICES[service], consumer=f"faults-rebuild-{uuid.uuid4().hex[:8]}"
            )
            database = f"rebuild_{service}_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(self.stack.postgres.url("postgres"))
            try:
                await admin.execute(f'CREATE DATABASE "{database}" OWNER kuaiche')
            finally:
                await admin.close()
            url = self.stack.database_url(service).replace(f"kuaiche_{service}", database)
            await upgrade(definition, url)
            settings = ServiceSettings(
                service=service,
                port=0,
                database_url=url,
                kafka_bootstrap=self.stack.broker.bootstrap,
                jwt_secret=SECRET,
                data_dir=self.stack.root / "data",
            )
            runtime = await open_runtime(definition, settings)
            try:
                await runtime.catch_up()
            finally:
                await runtime.close()
            live = await self.connect(service)
            rebuilt = await asyncpg.connect(self.stack.postgres.url(database))
            try:
                for table in tables:
                    a, b = await _dump(live, table), await _dump(rebuilt, table)
                    report.rows_compared += len(a)
                    if a != b:
                        report.differences.append(_diff(f"{service}.{table}", a, b))
            finally:
                await live.close()
                await rebuilt.close()

    async def check_scoring(self, report: Report) -> None:
        """Scoring's facts and the month's scorecards, as the worker applied them, against a
        rebuild of a fresh epoch from the topics' beginning (which then takes over)."""
        from services.scoring import readmodel
        from services.scoring.models import READ_MODEL, Standing

        definition = SERVICES["scoring"]
        api = self.stack.apis("scoring")[0]
        conn = await self.connect("scoring")
        try:
            before_epoch = await conn.fetchval("SELECT number FROM epochs WHERE state = 'current'")
            # A busy consumer leaves its periods' standings out of date for the worker's
            # standings job, which computes them once the burst is over: wait for it
            if not await _standings_settled(conn, before_epoch):
                report.differences.append(
                    f"scoring.standings: still out of date {STANDINGS_SETTLE_SECONDS:.0f} s after"
                    " the drain (the worker's standings job did not complete them)"
                )
            tables = [m.__tablename__ for m in (*READ_MODEL, Standing)]  # type: ignore[attr-defined]
            before = {t: await _dump(conn, t, epoch=before_epoch) for t in tables}
            cards_before = await _scorecards(api.url)
            settings = ServiceSettings(
                service="scoring",
                port=0,
                database_url=self.stack.database_url("scoring"),
                kafka_bootstrap=self.stack.broker.bootstrap,
                jwt_secret=SECRET,
                data_dir=self.stack.root / "data",
            )
            runtime = await open_runtime(definition, settings)
            try:
                epoch = await readmodel.rebuild(runtime, "faults")
            finally:
                await runtime.close()
            after = {t: await _dump(conn, t, epoch=epoch.number) for t in tables}
            cards_after = await _scorecards(api.url)
        finally:
            await conn.close()
        for table in tables:
            report.rows_compared += len(before[table])
            if before[table] != after[table]:
                report.differences.append(_diff(f"scoring.{table}", before[table], after[table]))
        report.rows_compared += len(cards_before)
        if cards_before != cards_after:
            report.differences.append("scoring: the month's scorecards differ after the rebuild")

    async def check_webhooks(self, history: History, report: Report) -> None:
        """What the workload's subscription received against what its events imply (see the
        module docstring)."""
        hooks = history.webhooks
        if hooks is None:
            return
        conn = await self.connect("notifications")
        try:
            deadline = time.monotonic() + DELIVERY_TIMEOUT
            query = "SELECT count(*) FROM deliveries WHERE target = $1 AND status = 'pending'"
            while await conn.fetchval(query, hooks.subscription):
                if time.monotonic() > deadline:
                    break  # reported below as deliveries not delivered
                await asyncio.sleep(1.0)
            since = await conn.fetchval(
                "SELECT created_at FROM subscriptions WHERE id = $1", hooks.subscription
            )
            deliveries = await conn.fetch(
                "SELECT message_id, event_type, status, body, generation FROM deliveries"
                " WHERE target = $1",
                hooks.subscription,
            )
            recorded_ok = dict(
                await conn.fetch(
                    "SELECT d.message_id, count(*) FROM delivery_attempts a"
                    " JOIN deliveries d ON d.id = a.delivery_id"
                    " WHERE d.target = $1 AND a.ok GROUP BY d.message_id",
                    hooks.subscription,
                )
            )
        finally:
            await conn.close()
        events: dict[str, Any] = {}
        for service in ("issues", "factors"):
            conn = await self.connect(service)
            try:
                rows = await conn.fetch(
                    "SELECT event_id, payload FROM outbox WHERE type = ANY($1::text[])"
                    " AND created_at >= $2",
                    list(hooks.event_types),
                    since,
                )
            finally:
                await conn.close()
            events.update((r["event_id"], json.loads(r["payload"])) for r in rows)
        received = hooks.receiver.requests
        by_id = Counter(r.webhook_id for r in received)
        report.webhook_events = len(events)
        report.webhook_deliveries = len(deliveries)
        report.webhook_received = len(received)
        kills = [
            at
            for p in self.stack.processes.values()
            if (p.service, p.kind) == ("notifications", "worker")
            for at in p.killed_at
        ]
        for webhook_id in sorted(i for i, n in by_id.items() if n > 1):
            times = [r.received_at for r in received if r.webhook_id == webhook_id]
            if sent_again_after_a_kill(times, recorded_ok.get(webhook_id, 0), kills):
                report.webhook_resent_after_kill.append(webhook_id)
            else:
                report.webhook_twice.append(webhook_id)
        wrong = report.webhook_wrong
        rows_of = Counter(d["message_id"] for d in deliveries)
        wrong += [f"{i}: {n} deliveries" for i, n in rows_of.items() if n > 1]
        wrong += [f"{i}: an event without a delivery" for i in events if i not in rows_of]
        for d in deliveries:
            what = f"{d['message_id']} ({d['event_type']}, {d['status']})"
            if d["message_id"] not in events:
                wrong.append(f"{what}: a delivery for no event the workload wrote")
            elif json.loads(d["body"]) != events[d["message_id"]]:
                wrong.append(f"{what}: the delivery's body is not the event")
            if d["status"] != "delivered":
                wrong.append(f"{what}: not delivered")
            elif d["message_id"] not in by_id:
                wrong.append(f"{what}: marked delivered, never received")
        for r in received:
            if r.webhook_id not in events:
                wrong.append(f"{r.webhook_id}: received, no event the workload wrote")
            elif r.json() != events[r.webhook_id]:
                wrong.append(f"{r.webhook_id}: the body received is not the event")


def sent_again_after_a_kill(received_at: list[float], recorded_ok: int, kills: list[float]) -> bool:
    """Whether a webhook-id the receiver got more than once is the repeat no sender can rule out:
    received twice, a notifications worker killed (kill -9) between the two, and notifications
    recording one successful try (the first one's 2xx never reached its database)."""
    first, *rest = sorted(received_at)
    return len(rest) == 1 and recorded_ok == 1 and any(first <= k <= rest[0] for k in kills)


# The standings job runs every 15 s (KUAICHE_SCORING_STANDINGS_CHECK_INTERVAL) once a burst ends.
STANDINGS_SETTLE_SECONDS = 90.0


async def _standings_settled(conn: asyncpg.Connection, epoch: int) -> bool:
    from services.scoring.standings import OUT_OF_DATE

    deadline = time.monotonic() + STANDINGS_SETTLE_SECONDS
    while time.monotonic() < deadline:
        left = await conn.fetchval(
            "SELECT count(*) FROM standings WHERE epoch = $1 AND basis = $2", epoch, OUT_OF_DATE
        )
        if not left:
            return True
        await asyncio.sleep(1.0)
    return False


# Each fault's line, for the run's summary (tests/faults/conftest.py prints them at the end, so
# they show without `-s`).
LINES: list[str] = []


async def _dump(conn: asyncpg.Connection, table: str, epoch: int | None = None) -> list[tuple]:
    columns = [
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
            " AND table_schema = 'public' ORDER BY ordinal_position",
            table,
        )
        if r["column_name"] not in (*WHEN, "epoch") and not r["column_name"].endswith("_at")
    ]
    select = ", ".join(f'"{c}"::text' for c in columns)
    where = f" WHERE epoch = {int(epoch)}" if epoch is not None else ""
    rows = await conn.fetch(f'SELECT {select} FROM "{table}"{where}')
    return sorted(tuple(r) for r in rows)


async def _behind(reader: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    return any([await reader.position(tp) < end for tp, end in ends.items()])


def _diff(what: str, live: list[tuple], rebuilt: list[tuple]) -> str:
    a, b = set(live), set(rebuilt)
    only_live, only_rebuilt = sorted(a - b), sorted(b - a)
    example = ""
    if only_live and only_rebuilt:  # the first pair, where they part
        x, y = only_live[0], only_rebuilt[0]
        at = next((i for i, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), len(x))
        example = f"; first live row {x[:at]!r}… differs at column {at}: {x[at : at + 1]!r} vs {y[at : at + 1]!r}"
    return f"{what}: {len(only_live)} rows only live, {len(only_rebuilt)} only rebuilt{example}"


async def _scorecards(url: str) -> list[Any]:
    today = time.gmtime()
    async with httpx.AsyncClient(timeout=30, headers=COMMANDER) as client:
        r = await client.get(
            f"{url}/v1/scorecards", params={"year": today.tm_year, "month": today.tm_mon}
        )
        assert r.status_code == 200, r.text
        return [r.json()]
