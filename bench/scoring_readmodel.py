"""Scoring's read model: applying the upstream log, answering the live ranking, and rebuilding,
against the bare inbox and the bare load of the facts.

A deterministic upstream history of about the Binzhou demo's size (P projects over the ten
divisions of shared/regions/binzhou.json, each registered with a 2020 plan, monthly reports
January to April and, for most, a start; about P/5 problems reported, assigned, resolved and
closed, some overdue; about P/4 factor allocations, some released; a few credit grants) is built
as the registry, issues and factors services emit it: catalogue payloads in CloudEvents, with
each aggregate's `sequence` and key = the project id. It is published onto an in-process bus
(`shared.bus.inprocess.InProcessBus`) on the three upstream topics before any clock starts. Then,
per database (the embedded SQLite default; PostgreSQL too with --postgres), each in a fresh
database migrated with `shared.migrations.upgrade(services.scoring.main.SERVICE, url)`:

  apply, ours        `readmodel.consumer(runtime, FEED, 1).catch_up(idle)` on a runtime from
        `shared.runtime.open_runtime`: per event one transaction with the inbox check, the inbox
        row and the handler's read-model row; timed to the last event applied.
  apply, bare inbox  the same messages through an `InboxConsumer` with scoring's inbox table and
        topics but a no-op handler for every event type: the inbox mechanics alone.
  rankings, ours     (after "apply, ours", on its database) N `GET /v1/rankings?year=2020&month=4`
        with a commander token, one at a time, through httpx's ASGITransport into
        `build_app(SERVICE, settings, bus=bus, with_worker=False)`: load the current epoch's
        facts, assess April 2020 and score it by the scheme in effect.
  rankings, bare load  N times just `services.scoring.queries.load_facts(session)` (the current
        epoch's rows of the six read-model tables), in a session of the app's engine: what is
        left of a ranking without the assessment, the scoring and HTTP. The two rows run
        interleaved (a request, then a load), so the machine's other work weighs on both alike.
  rebuild            `readmodel.rebuild(runtime, "bench")`: replay the log into epoch 2 (folded in
        memory, written in bulk), switch to it, delete epoch 1; wall time.

After applying, the read model must hold exactly what was generated (projects, plans, reports,
problems, allocations, grants, and the projects started) and the inbox one row per event; every
ranking must list the ten divisions and be the same each time; after the rebuild the same counts
must hold in epoch 2 alone and the ranking must be the one before it. Otherwise the script exits
non-zero. A few warm-up requests (and loads) precede the clock. Databases are fresh (temporary
SQLite files, or CREATE DATABASE with unique names) and removed after, even on failure.

    .venv/bin/python bench/scoring_readmodel.py [--projects 1200] [--requests 50]
        [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pydantic import BaseModel, SecretStr  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench import common  # noqa: E402
from services.scoring import readmodel  # noqa: E402
from services.scoring.main import SERVICE  # noqa: E402
from services.scoring.models import READ_MODEL, ProjectView, inbox  # noqa: E402
from services.scoring.queries import load_facts  # noqa: E402
from services.scoring.readmodel import Feed  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.bus.base import OutgoingMessage  # noqa: E402
from shared.bus.inprocess import InProcessBus  # noqa: E402
from shared.config import ServiceSettings  # noqa: E402
from shared.events.catalogue import factors as fac  # noqa: E402
from shared.events.catalogue import issues as iss  # noqa: E402
from shared.events.catalogue import registry as reg  # noqa: E402
from shared.events.envelope import CONTENT_TYPE, CloudEvent  # noqa: E402
from shared.events.topics import FACTORS, ISSUES, REGISTRY  # noqa: E402
from shared.http.app import build_app  # noqa: E402
from shared.inbox import InboxConsumer, Outcome  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.regions import load_region_table  # noqa: E402
from shared.runtime import Runtime, open_runtime  # noqa: E402

FEED = Feed.of(SERVICE)
PROG = "scoring_readmodel"
SEED = 2020
WARMUP = 5
IDLE = 0.2  # catch_up's wait for more on the in-process bus (what readmodel.catch_up uses)
PUBLISH_BATCH = 100  # like relay batches; InProcessBus.publish is quadratic in a batch's size
RANKING = "/v1/rankings?year=2020&month=4"
AS_OF = dt.date(2020, 4, 30)  # no business date is later
LAST_START = dt.date(2020, 4, 28)
ACTOR = "commander:bench"

D = dt.date
LEVELS: dict[str | None, int] = {  # about the demo library's key list, out of 1,191
    None: 758,
    reg.Level.COUNTY_KEY: 352,
    reg.Level.CITY_KEY: 52,
    reg.Level.PROVINCIAL_MAJOR_CONSTRUCTION: 10,
    reg.Level.PROVINCIAL_PREFERRED: 6,
    reg.Level.CITY_INFRASTRUCTURE: 6,
    reg.Level.INVESTMENT_ATTRACTION: 4,
    reg.Level.PROVINCIAL_MAJOR_PREPARATION: 3,
}
DIVISION_WEIGHTS = (14, 8, 10, 8, 9, 13, 16, 10, 7, 5)  # larger divisions hold more projects
PROBLEMS = {  # category: title
    "land": "用地指标不足",
    "energy": "能耗指标不足",
    "funds": "项目资金缺口较大",
    "approvals": "审批手续办理缓慢",
    "utilities": "水电气暖配套未到位",
    "demolition": "征迁进度滞后",
    "construction": "施工组织协调困难",
}
FACTOR_UNITS = {"land": ("mu", 5, 300), "energy": ("tce", 500, 20_000), "water": ("10k_m3", 1, 60)}


# ---------------------------------------------------------------- the upstream history
@dataclass
class History:
    """The upstream messages in publishing order, and how many rows each read-model table
    must end up with."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    by_topic: Counter[str] = field(default_factory=Counter)
    rows: dict[str, int] = field(default_factory=dict)
    started: int = 0  # projects in construction


@dataclass
class _Event:
    on: dt.date
    sequence: int
    topic: str
    event: CloudEvent


class _Builder:
    """Builds the aggregates' events as their producers emit them (the approach of
    tests/support/upstream.py), deterministic from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[_Event] = []

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(self, first: dt.date, last: dt.date) -> dt.date:
        return first + dt.timedelta(days=self.rng.randint(0, (last - first).days))

    def emit(
        self,
        topic: str,
        source: str,
        payload: BaseModel,
        *,
        on: dt.date,
        subject: str,
        county: str,
        sequence: int,
        key: str,
    ) -> None:
        event = CloudEvent(
            id=self.uuid(),
            source=source,
            type=payload.TYPE,  # type: ignore[attr-defined]
            subject=subject,
            time=dt.datetime.combine(on, dt.time(2), tzinfo=dt.UTC),  # 10:00 in Shanghai
            data=payload.model_dump(mode="json"),
            county=county,
            actor=ACTOR,
            sequence=sequence,
            partitionkey=key,
        )
        self.events.append(_Event(on, sequence, topic, event))

    # ---- kuaiche.registry: registered, a 2020 plan, reports Jan-Apr, for most a start
    def project(self, i: int, county: str) -> str:
        rng = self.rng
        pid = self.uuid()
        level = rng.choices(list(LEVELS), weights=list(LEVELS.values()))[0]
        track = reg.Track.IMPLEMENTATION if rng.random() < 0.88 else reg.Track.PREPARATION
        if rng.random() < 0.2:
            planned_start = self.day(D(2019, 6, 1), D(2019, 12, 1))
        else:
            planned_start = self.day(D(2020, 1, 1), D(2020, 6, 1))
        # most implementation projects start within weeks of their plan (none after April)
        start_on = max(planned_start + dt.timedelta(rng.randint(-10, 45)), D(2020, 1, 2))
        started = (
            track == reg.Track.IMPLEMENTATION and rng.random() < 0.95 and start_on <= LAST_START
        )
        actual_start = start_on if started else None
        annual = Decimal(rng.randrange(2_000, 200_000, 100))
        pace = Decimal(rng.randint(55, 140)) / 100  # of the time schedule, once started
        snapshot: dict[str, Any] = {
            "project_id": pid,
            "name": f"滨州市重点项目{i:05d}号 年产{i % 90 + 1}万吨新材料及配套设施建设项目",
            "county": county,
            "level": level,
            "track": track,
            "stage": reg.Stage.RESERVE,
            "code": f"2019-{county}-04-01-{i:06d}",
            "total_investment": annual * rng.randint(1, 4),
            "planned_start": planned_start,
            "planned_completion": D(2022, 12, 31),
            "actual_start": None,
            "actual_completion": None,
            "leader": "市委常委、副市长",
            "responsible_unit": "市发展和改革委员会",
            "industry": "新材料",
            "tags": ["新旧动能转换"],
        }
        self.emit(
            REGISTRY,
            reg.SOURCE,
            reg.ProjectRegistered(**snapshot, version=1),
            on=self.day(D(2019, 11, 1), D(2019, 12, 31)),
            subject=pid,
            county=county,
            sequence=1,
            key=pid,
        )
        # Then the year's moves, in date order (all in 2020: after the registration).
        steps: list[tuple[dt.date, BaseModel]] = [
            (
                D(2020, 1, 8),
                reg.PlanSet(
                    project_id=pid, year=2020, annual_investment=annual, monthly_targets={}
                ),
            )
        ]
        for month in range(1, 5):
            on = D(2020, month, 25)
            going = actual_start is not None and actual_start <= on
            ytd = (annual * month * pace / 12).quantize(Decimal(1)) if going else Decimal(0)
            steps.append(
                (
                    on,
                    reg.ReportSubmitted(
                        project_id=pid,
                        period=f"2020-{month:02d}",
                        year=2020,
                        month=month,
                        ytd_investment=ytd,
                        month_investment=Decimal(0),
                        started=going,
                        progress_note=None,
                        correction_note=None,
                    ),
                )
            )
        if actual_start is not None:
            steps.append(
                (
                    actual_start,
                    reg.ProjectStageChanged(
                        project_id=pid,
                        from_stage=reg.Stage.RESERVE,
                        to_stage=reg.Stage.STARTED,
                        date=actual_start,
                        reason=None,
                        track=track,
                        level=level,
                        planned_start=planned_start,
                        actual_start=actual_start,
                        actual_completion=None,
                    ),
                )
            )
        steps.sort(key=lambda s: s[0])  # stable: a start on a report's day comes after it
        for version, (on, payload) in enumerate(steps, start=2):
            self.emit(
                REGISTRY,
                reg.SOURCE,
                payload,
                on=on,
                subject=pid,
                county=county,
                sequence=version,
                key=pid,
            )
        return pid

    # ---- kuaiche.issues: reported, assigned, resolved, closed; some overdue
    def problem(self, pid: str, county: str) -> None:
        rng = self.rng
        qid = self.uuid()
        reported_on = self.day(D(2020, 1, 6), D(2020, 4, 24))
        category = rng.choice(list(PROBLEMS))
        state: dict[str, Any] = {
            "issue_id": qid,
            "project_id": pid,
            "county": county,
            "status": "reported",
            "category": category,
            "complexity": "general",
            "unit": None,
            "deadline": None,
            "reported_on": reported_on,
            "version": 0,
        }

        def move(model: type[iss.IssueEvent], on: dt.date, **extra: Any) -> bool:
            if on > AS_OF:
                return False
            state["version"] += 1
            self.emit(
                ISSUES,
                iss.SOURCE,
                model(**state, **extra),
                on=on,
                subject=qid,
                county=county,
                sequence=state["version"],
                key=pid,
            )
            return True

        title = PROBLEMS[category]
        move(iss.IssueReported, reported_on, title=title, source="enterprise", round_id=None)
        fate = rng.random()
        if fate < 0.08:  # awaiting assignment
            return
        assigned_on = reported_on + dt.timedelta(rng.randint(1, 2))
        state.update(status="assigned", unit="市自然资源和规划局")
        state["deadline"] = deadline = assigned_on + dt.timedelta(7)
        if not move(
            iss.IssueAssigned,
            assigned_on,
            co_units=[],
            working_days=5,
            plan_due=None,
            assigned_on=assigned_on,
        ):
            return
        if fate < 0.18:  # overdue: flagged the day after its deadline; some still open
            flagged = deadline + dt.timedelta(1)
            if not move(
                iss.IssueOverdue,
                flagged,
                flagged_at=dt.datetime.combine(flagged, dt.time(1), tzinfo=dt.UTC),
                flagged_on=flagged,
            ):
                return
            if fate < 0.12:
                return
            resolved_on, on_time = flagged + dt.timedelta(rng.randint(2, 10)), False
        else:
            resolved_on, on_time = assigned_on + dt.timedelta(rng.randint(1, 7)), True
        state["status"] = "resolved"
        if not move(iss.IssueResolved, resolved_on, resolved_on=resolved_on, on_time=on_time):
            return
        if rng.random() < 0.8:
            state["status"] = "closed"
            closed_on = resolved_on + dt.timedelta(rng.randint(1, 5))
            move(
                iss.IssueClosed,
                closed_on,
                verdict="agreed",
                closed_on=closed_on,
                note=None,
                resolved_on=resolved_on,
                on_time=on_time,
            )

    # ---- kuaiche.factors: allocations (some released), credit grants
    def allocation(self, pid: str, county: str, level: str | None) -> None:
        rng = self.rng
        aid = self.uuid()
        factor = rng.choice(list(FACTOR_UNITS))
        unit, low, high = FACTOR_UNITS[factor]
        year = 2020 if rng.random() < 0.85 else 2019
        amount = Decimal(rng.randint(low, high))
        fields: dict[str, Any] = {
            "allocation_id": aid,
            "pool_id": f"pool-{factor}-{year}",
            "project_id": pid,
            "county": county,
            "factor": factor,
            "pollutant": None,
            "year": year,
            "amount": amount,
            "charged": amount,
            "unit": unit,
        }
        allocated_on = self.day(D(2020, 1, 10), D(2020, 4, 20))
        self.emit(
            FACTORS,
            fac.SOURCE,
            fac.FactorAllocated(
                **fields,
                level=level,
                scope="city",
                ratio=None,
                source_id=None,
                advance=year < 2020,
                allocated_on=allocated_on,
                use_by=None,
            ),
            on=allocated_on,
            subject=aid,
            county=county,
            sequence=1,
            key=pid,
        )
        released_on = allocated_on + dt.timedelta(rng.randint(10, 40))
        if rng.random() < 0.12 and released_on <= AS_OF:
            self.emit(
                FACTORS,
                fac.SOURCE,
                fac.FactorReleased(
                    **fields,
                    advance=year < 2020,
                    cause="manual",
                    reason="收回",
                    released_on=released_on,
                ),
                on=released_on,
                subject=aid,
                county=county,
                sequence=2,
                key=pid,
            )

    def grant(self, pid: str, county: str) -> None:
        amount = Decimal(self.rng.randrange(1_000, 50_000, 500))
        on = self.day(D(2020, 2, 1), D(2020, 4, 25))
        self.emit(
            FACTORS,
            fac.SOURCE,
            fac.CreditGranted(
                demand_id=f"d-{pid}",
                grant_id=self.uuid(),
                project_id=pid,
                county=county,
                year=2020,
                bank="中国银行滨州分行",
                amount=amount,
                granted_total=amount,
                granted_on=on,
            ),
            on=on,
            subject=f"d-{pid}",
            county=county,
            sequence=1,
            key=pid,
        )


def build_history(projects: int) -> History:
    """The whole history of `projects` projects, in memory (one chunk of `history_chunks`)."""
    (history,) = history_chunks(projects)
    return history


def history_chunks(projects: int, chunk: int | None = None) -> Iterator[History]:
    """The history of `projects` projects, `chunk` projects at a time (all at once by default),
    so that a province-sized one (1,000,000 projects, about 7.6 million events) never sits in
    memory whole. Each chunk holds its projects and their problems, allocations and grants, in
    business-date order within the chunk; every aggregate's events stay in sequence on its key,
    which is all a consumer relies on. Deterministic: the same arguments give the same messages,
    and with one chunk they are those this script has always measured."""
    divisions = load_region_table().codes
    if len(divisions) != 10:
        raise RuntimeError(f"expected the ten divisions of Binzhou, found {len(divisions)}")
    b = _Builder(SEED)
    chunk = chunk or projects
    for first in range(0, projects, chunk):
        size = min(chunk, projects - first)
        b.events = []
        counties = b.rng.choices(divisions, weights=DIVISION_WEIGHTS, k=size)
        pids = [b.project(first + i, county) for i, county in enumerate(counties)]
        yield _rest_of_history(b, size, pids, counties)


def _rest_of_history(b: _Builder, projects: int, pids: list[str], counties: list[str]) -> History:
    levels = {
        e.event.data["project_id"]: e.event.data["level"]
        for e in b.events
        if e.event.type == reg.ProjectRegistered.TYPE
    }
    problems, allocations, grants = projects // 5, projects // 4, max(1, projects // 27)
    for _ in range(problems):
        i = b.rng.randrange(projects)
        b.problem(pids[i], counties[i])
    for i in b.rng.sample(range(projects), allocations):
        b.allocation(pids[i], counties[i], levels[pids[i]])
    for i in b.rng.sample(range(projects), grants):
        b.grant(pids[i], counties[i])

    # In business-date order, as the spring happened; one aggregate's events stay in sequence.
    b.events.sort(key=lambda e: (e.on, e.sequence))
    history = History(
        rows={
            "projects": projects,
            "plans": projects,
            "reports": 4 * projects,
            "problems": problems,
            "allocations": allocations,
            "credit_grants": grants,
        }
    )
    history.started = sum(e.event.type == reg.ProjectStageChanged.TYPE for e in b.events)
    for e in b.events:
        history.messages.append(
            OutgoingMessage(
                e.topic,
                e.event.partitionkey,
                e.event.to_json(),
                # what the outbox relay puts on every message
                (("content-type", CONTENT_TYPE.encode()), ("ce_type", e.event.type.encode())),
            )
        )
        history.by_topic[e.topic] += 1
    return history


async def published(history: History) -> InProcessBus:
    """A fresh bus with the whole history on it (each database gets its own: the read model's
    consumer group names are fixed per epoch)."""
    bus = InProcessBus()
    await bus.start()
    await bus.ensure_topics(FEED.topics)
    for start in range(0, len(history.messages), PUBLISH_BATCH):
        await bus.publish(history.messages[start : start + PUBLISH_BATCH])
    return bus


# ---------------------------------------------------------------- checks
async def read_model_rows(session: AsyncSession, epoch: int | None) -> dict[str, int]:
    """Rows per read-model table, of one epoch (or of all)."""
    out = {}
    for model in READ_MODEL:
        query = select(func.count()).select_from(model)
        if epoch is not None:
            query = query.where(model.epoch == epoch)
        out[model.__tablename__] = await session.scalar(query) or 0  # type: ignore[attr-defined]
    return out


async def check_read_model(runtime: Runtime, history: History, epoch: int, what: str) -> None:
    """The epoch holds exactly what was generated, and no other epoch holds anything."""
    async with runtime.session_factory() as session:
        current = await readmodel.current_epoch(session)
        rows = await read_model_rows(session, epoch)
        everywhere = await read_model_rows(session, None)
        started = await session.scalar(
            select(func.count()).where(ProjectView.epoch == epoch, ProjectView.stage == "started")
        )
    if current != epoch or rows != history.rows or everywhere != history.rows:
        raise RuntimeError(
            f"{what}: current epoch {current} (expected {epoch}), its rows {rows}, rows of all "
            f"epochs {everywhere}; expected {history.rows}"
        )
    if started != history.started:
        raise RuntimeError(f"{what}: {started} projects started; expected {history.started}")


async def check_inbox(runtime: Runtime, consumer: str, expected: int, what: str) -> None:
    async with runtime.session_factory() as session:
        rows = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)
        )
    if rows != expected:
        raise RuntimeError(f"{what}: {rows} inbox rows of {consumer}; expected {expected}")


@dataclass
class Tally:
    """Outcomes of an inbox consumer, and when the last one came."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)
    last: float = 0.0

    def __call__(self, outcome: Outcome, count: int) -> None:
        self.outcomes[outcome] += count
        self.last = time.perf_counter()

    def check(self, read: int, expected: int, what: str) -> None:
        if read != expected or self.outcomes[Outcome.APPLIED] != expected:
            raise RuntimeError(
                f"{what}: read {read} messages, outcomes {dict(self.outcomes)}; "
                f"expected {expected} applied"
            )


# ---------------------------------------------------------------- the rows
@dataclass
class Throughput:
    backend: str
    path: str
    count: int
    seconds: float
    bare: Throughput | None = None

    @property
    def per_second(self) -> float:
        return common.rate(self.count, self.seconds)


async def apply_ours(backend: str, runtime: Runtime, history: History) -> Throughput:
    n = len(history.messages)
    consumer = readmodel.consumer(runtime, FEED, 1)
    tally = Tally()
    metrics = consumer.on_outcome
    assert metrics is not None

    def count(outcome: Outcome, n: int) -> None:
        metrics(outcome, n)  # the runtime's counter, as in the worker
        tally(outcome, n)

    consumer.on_outcome = count
    common.step(f"{backend}: apply, ours: {n} events into epoch 1")
    started = time.perf_counter()
    read = await consumer.catch_up(IDLE)
    seconds = tally.last - started  # to the last event applied: catch_up's idle wait left out
    tally.check(read, n, "apply, ours")
    await check_read_model(runtime, history, 1, "apply, ours")
    await check_inbox(runtime, consumer.name, n, "apply, ours")
    return Throughput(backend, "apply, ours", n, seconds)


async def nothing(session: AsyncSession, event: CloudEvent, payload: Any) -> None:
    return None


async def apply_bare(backend: str, runtime: Runtime, history: History) -> Throughput:
    n = len(history.messages)
    tally = Tally()
    consumer = InboxConsumer(
        "bench-bare-inbox",
        runtime.bus,
        runtime.session_factory,
        inbox,
        FEED.topics,
        {event_type: nothing for event_type in FEED.handlers(1)},
        max_attempts=runtime.settings.consumer_max_attempts,
        on_outcome=tally,
    )
    common.step(f"{backend}: apply, bare inbox: {n} events, no-op handlers")
    started = time.perf_counter()
    read = await consumer.catch_up(IDLE)
    seconds = tally.last - started
    tally.check(read, n, "apply, bare inbox")
    await check_inbox(runtime, consumer.name, n, "apply, bare inbox")
    async with runtime.session_factory() as session:
        rows = await read_model_rows(session, None)
    if any(rows.values()):
        raise RuntimeError(f"apply, bare inbox: the no-op handlers wrote read-model rows {rows}")
    return Throughput(backend, "apply, bare inbox", n, seconds)


def ranking_of(response: httpx.Response) -> list[dict[str, Any]]:
    if response.status_code != 200:
        raise RuntimeError(f"GET {RANKING}: {response.status_code} {response.text[:500]}")
    items: list[dict[str, Any]] = response.json()["items"]
    if len(items) != 10:
        raise RuntimeError(f"GET {RANKING}: {len(items)} divisions ranked; expected 10")
    return items


async def rankings(
    backend: str,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    history: History,
    n: int,
) -> tuple[common.Figure, common.Figure, list[dict[str, Any]]]:
    first: list[list[dict[str, Any]]] = []

    async def ask(i: int) -> None:
        items = ranking_of(await client.get(RANKING, headers=headers))
        if not first:
            first.append(items)
        elif items != first[0]:
            raise RuntimeError(f"GET {RANKING}: the ranking changed between two requests")

    loaded: dict[str, int] = {}

    async def load(i: int) -> None:
        async with sessions() as session:
            facts = await load_facts(session)
        loaded.update(
            projects=len(facts.projects),
            plans=len(facts.plans),
            reports=len(facts.reports),
            problems=len(facts.problems),
            allocations=len(facts.allocations),
            credit_grants=len(facts.grants),
        )

    for i in range(WARMUP):
        await ask(i)
        await load(i)
    # Interleaved (a request, then a load, N times), so that whatever else the machine does
    # weighs on both alike; each row's seconds is the sum of its N latencies.
    common.step(f"{backend}: rankings: {n} GET {RANKING} and {n} load_facts, interleaved")
    asked: list[float] = []
    loads: list[float] = []
    for i in range(n):
        for one, latencies in ((ask, asked), (load, loads)):
            started = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - started)
    ours = common.Figure(backend, "rankings, ours (GET /v1/rankings)", asked, sum(asked))
    bare = common.Figure(backend, "rankings, bare load (load_facts)", loads, sum(loads))
    if loaded != history.rows:
        raise RuntimeError(f"load_facts gave {loaded}; expected {history.rows}")
    ours.bare = bare
    return ours, bare, first[0]


async def rebuild(backend: str, runtime: Runtime, history: History) -> Throughput:
    n = len(history.messages)
    common.step(f"{backend}: rebuild: {n} events into epoch 2")
    started = time.perf_counter()
    epoch = await readmodel.rebuild(runtime, "bench")
    seconds = time.perf_counter() - started
    if epoch.number != 2 or epoch.events != n:
        raise RuntimeError(
            f"rebuild: epoch {epoch.number} from {epoch.events} messages; expected 2, {n}"
        )
    await check_read_model(runtime, history, 2, "rebuild")
    await check_inbox(runtime, FEED.consumer_name(2), n, "rebuild")
    await check_inbox(runtime, FEED.consumer_name(1), 0, "rebuild (epoch 1's inbox cleared)")
    return Throughput(backend, "rebuild (wall time)", n, seconds)


async def one_backend(
    backend: str,
    make_url: Callable[[str], Awaitable[str]],
    data_dir: Path,
    history: History,
    requests: int,
) -> tuple[list[Throughput], list[common.Figure]]:
    secret = secrets.token_urlsafe(48)
    headers = {"Authorization": f"Bearer {issue_token(secret, role=Role.COMMANDER)}"}

    def settings(url: str) -> ServiceSettings:
        return ServiceSettings(
            service="scoring",
            port=0,
            database_url=url,
            kafka_bootstrap=None,
            jwt_secret=SecretStr(secret),
            data_dir=data_dir,
        )

    ours_url, bare_url = await make_url("ours"), await make_url("bare")
    await upgrade(SERVICE, ours_url)
    await upgrade(SERVICE, bare_url)
    bus = await published(history)
    async with contextlib.AsyncExitStack() as stack:
        runtime = await open_runtime(SERVICE, settings(ours_url), bus)
        stack.push_async_callback(runtime.close)
        bare_runtime = await open_runtime(SERVICE, settings(bare_url), bus)
        stack.push_async_callback(bare_runtime.close)

        ours_apply = await apply_ours(backend, runtime, history)
        ours_apply.bare = await apply_bare(backend, bare_runtime, history)

        app = build_app(SERVICE, settings(ours_url), bus=bus, with_worker=False)
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://scoring")
        )
        ours_ranking, bare_load, before = await rankings(
            backend, client, headers, app.state.runtime.session_factory, history, requests
        )

        rebuilt = await rebuild(backend, runtime, history)
        if ranking_of(await client.get(RANKING, headers=headers)) != before:
            raise RuntimeError("rebuild: the ranking differs from the one before the rebuild")
    return [ours_apply, ours_apply.bare, rebuilt], [ours_ranking, bare_load]


# ---------------------------------------------------------------- run
def throughput_table(rows: list[Throughput]) -> str:
    return common.table(
        ["database / path", "events", "seconds", "events/s", "ours/bare"],
        [
            [
                f"{r.backend}: {r.path}",
                str(r.count),
                f"{r.seconds:.3f}",
                f"{r.per_second:,.0f}",
                common.ours_over_bare(r.per_second, r.bare.per_second if r.bare else None),
            ]
            for r in rows
        ],
    )


async def run(args: argparse.Namespace) -> int:
    if args.projects < 10 or args.requests < 1:
        raise SystemExit("--projects must be at least 10 and --requests at least 1")
    common.step(f"building the upstream history of {args.projects} projects")
    history = build_history(args.projects)
    n = len(history.messages)
    sizes = [len(m.value) for m in history.messages]
    extra = ["sqlite: temporary files (WAL, synchronous=NORMAL, BEGIN IMMEDIATE: shared.db)"]
    if args.postgres:
        pg = await common.postgres_facts(args.postgres)
        extra.append(f"postgres: {common.hide_password(args.postgres)}, {pg}")
    rows = history.rows
    extra += [
        f"history: {rows['projects']} projects over 10 divisions (2020 plans, reports Jan-Apr), "
        f"{rows['problems']} problems, {rows['allocations']} allocations, "
        f"{rows['credit_grants']} credit grants (seed {SEED})",
        f"events: N = {n} ({', '.join(f'{t} {c}' for t, c in sorted(history.by_topic.items()))}), "
        f"value {min(sizes)}-{max(sizes)} bytes (mean {sum(sizes) / n:.0f}), "
        f"bus: in-process, 3 partitions",
        f"requests: {args.requests} x GET {RANKING} (after {WARMUP} warm-up), one at a time, "
        "each followed by one bare load",
    ]
    print(
        "\n".join(
            common.machine_lines(
                ["fastapi", "httpx", "SQLAlchemy", "aiosqlite", "asyncpg", "pydantic"], *extra
            )
        ),
        flush=True,
    )

    events: list[Throughput] = []
    requests: list[common.Figure] = []
    databases: list[str] = []

    async def measure() -> None:
        with tempfile.TemporaryDirectory(prefix="kuaiche-bench-") as tmp:
            tmp_dir = Path(tmp)

            for backend, make_url in common.database_makers(tmp_dir, args.postgres, databases):
                got_events, got_requests = await one_backend(
                    backend, make_url, tmp_dir, history, args.requests
                )
                events.extend(got_events)
                requests.extend(got_requests)

    if not await common.attempt(
        PROG,
        args.timeout,
        measure,
        lambda: common.drop_databases(PROG, args.postgres or "", databases),
    ):
        return 1

    print()
    print(throughput_table(events))
    print()
    print(common.figures_table("req/s", requests))
    print(
        "\napply: timed to the last event applied; ours/bare = our events/s divided by the bare\n"
        "inbox's (no-op handlers) on the same database. rebuild: the whole call (replay into\n"
        "epoch 2, folded in memory and written in bulk; switch; delete epoch 1). rankings: the\n"
        "latency of one request, one at a time, each followed by one bare load (load_facts\n"
        "alone; loads/s in the req/s column); seconds = the sum of the latencies. p50 ours - p50\n"
        "bare is the assessment, the scoring and HTTP."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    options = common.parser(__doc__)
    options.add_argument(
        "--projects", type=int, default=1200, help="P, projects in the history (default 1200)"
    )
    options.add_argument(
        "--requests", type=int, default=50, help="N, rankings and loads timed (default 50)"
    )
    common.add_optional_postgres(options)
    return common.main(PROG, options, run, argv)


if __name__ == "__main__":
    sys.exit(main())
