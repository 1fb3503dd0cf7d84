"""A bounded, seeded workload of writes over HTTP across registry, factors and issues, and its
history: every request with its answer (status and the ids in the body) or no answer.

The random choices come from the seed; which answer each request gets depends on the run (that
is what a fault changes). A write is chosen only on what earlier writes were acknowledged, and
never on an aggregate with a write in flight, so every acknowledged write is one the services'
rules accept whatever order the requests land in.

Before its first write the workload subscribes a local webhook receiver (tests/support/receiver.py,
answering 200 to everything) in notifications to the event types in `WEBHOOK_TYPES`; the checker
compares what reached it with what the events imply. `unsubscribe()` deletes the subscription
once checked, so the next fault's run starts with none of it."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.auth import Role, issue_token
from tests.faults.stack import SECRET, Stack
from tests.support.receiver import WebhookReceiver

COUNTIES = ["371602", "371603", "371621", "371622", "371623", "371625", "371681"]
FACTORS = ("land", "energy", "water")
UNITS = ["市自然资源和规划局", "市发展和改革委员会", "市生态环境局", "市水利局"]
YEAR = 2026
REQUEST_TIMEOUT = 10.0
# At least 2,000 in CI; fewer only while working on the suite itself.
WRITES = int(os.environ.get("KUAICHE_FAULT_WRITES", "2000"))
# What the webhook subscription selects: the problems' loop and the releases the workload makes.
WEBHOOK_TYPES = (
    "kuaiche.issue.reported.v1",
    "kuaiche.issue.assigned.v1",
    "kuaiche.issue.resolved.v1",
    "kuaiche.issue.accepted.v1",
    "kuaiche.issue.closed.v1",
    "kuaiche.factor.released.v1",
)


@dataclass
class Write:
    """One request of the history and what came back."""

    n: int
    kind: str  # project, stage, report, allocation, release, issue, assign, resolve, ...
    service: str
    path: str
    body: dict[str, Any]
    subject: str  # the aggregate written (a project, allocation or problem id; "" on creation)
    tag: str  # a unique text the write carries, to find it in the database
    target: str = ""  # the API process that was sent it
    status: int | None = None  # None: no answer (the connection broke or timed out)
    answer: dict[str, Any] | None = None
    error: str = ""
    sent: float = 0.0
    took: float = 0.0

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unanswered(self) -> bool:
        return self.status is None


@dataclass
class Project:
    id: str
    acknowledged_at: float
    stage: str = "planning"
    months: int = 0  # monthly reports acknowledged, January on


@dataclass
class Problem:
    id: str
    status: str = "reported"
    feedback: bool = False


@dataclass
class Webhooks:
    """The workload's webhook subscription and the receiver it points at."""

    receiver: WebhookReceiver
    subscription: str
    event_types: tuple[str, ...]


@dataclass
class History:
    seed: int
    writes: list[Write] = field(default_factory=list)
    webhooks: Webhooks | None = None

    def acknowledged(self) -> list[Write]:
        return [w for w in self.writes if w.acknowledged]

    def unanswered(self) -> list[Write]:
        return [w for w in self.writes if w.unanswered]

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for w in self.writes:
            key = f"{w.kind}:{w.status}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))


class Workload:
    """`total` writes at about `rate` per second, at most `concurrency` in flight; `fault` is
    started (in a thread: it blocks on processes) when the share `at` of them has been sent."""

    def __init__(
        self,
        stack: Stack,
        seed: int,
        total: int = WRITES,
        rate: float = 50.0,
        concurrency: int = 8,
        receiver: WebhookReceiver | None = None,
    ) -> None:
        self.stack = stack
        self.receiver = receiver
        self.rng = random.Random(seed)
        self.run = f"{seed}-{int(time.time()) % 100000}"
        self.total = total
        self.rate = rate
        self.concurrency = concurrency
        self.history = History(seed)
        self.headers = {
            "Authorization": "Bearer " + issue_token(SECRET, role=Role.COMMANDER, subject="faults")
        }
        self.projects: dict[str, Project] = {}
        self.pools: list[str] = []
        self.allocations: list[str] = []
        self.problems: dict[str, Problem] = {}
        self.busy: set[str] = set()
        self._turn = 0

    # ----------------------------------------------------------------- driving
    async def drive(self, fault: Callable[[], Any] | None = None, at: float = 0.5) -> History:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, headers=self.headers) as client:
            self.client = client
            await self._pools()
            if self.receiver is not None:
                await self._subscribe(self.receiver)
            gate = asyncio.Semaphore(self.concurrency)
            pending: set[asyncio.Task[None]] = set()
            injected: asyncio.Future[Any] | None = None
            start = time.monotonic()
            for n in range(self.total):
                if n == int(self.total * at) and fault is not None:
                    injected = asyncio.ensure_future(asyncio.to_thread(fault))
                await asyncio.sleep(max(0.0, start + n / self.rate - time.monotonic()))
                await gate.acquire()
                write, on_ack = self._next(n)
                task = asyncio.create_task(self._send(write, on_ack, gate))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
            if injected is not None:
                await injected
        return self.history

    async def _send(
        self, write: Write, on_ack: Callable[[dict[str, Any]], None], gate: Any
    ) -> None:
        try:
            apis = [p for p in self.stack.apis(write.service) if p.alive()] or self.stack.apis(
                write.service
            )
            api = apis[write.n % len(apis)]
            write.target = api.name
            write.sent = time.monotonic()
            try:
                r = await self.client.post(api.url + write.path, json=write.body)
                write.status = r.status_code
                if r.headers.get("content-type", "").endswith("json"):
                    write.answer = r.json()
            except httpx.HTTPError as exc:
                write.error = f"{type(exc).__name__}: {exc}"
            write.took = time.monotonic() - write.sent
            if write.acknowledged:
                on_ack(write.answer or {})
        finally:
            self.busy.discard(write.subject)
            gate.release()

    async def _pools(self) -> None:
        """Large yearly quotas for each factor, so allocations are not refused for want of
        quota (the faults are what this suite tests, not the ledger's arithmetic); made by the
        first run of the session, found by the next (one pool per factor, year and scope)."""
        api = self.stack.apis("factors")[0]
        r = await self.client.get(api.url + "/v1/pools", params={"year": YEAR, "limit": 100})
        assert r.status_code == 200, r.text
        have = {p["factor"]: p["id"] for p in r.json()["items"] if p["scope"] == "city"}
        for factor in FACTORS:
            if factor not in have:
                r = await self.client.post(
                    api.url + "/v1/pools",
                    json={"factor": factor, "year": YEAR, "scope": "city", "amount": "100000000"},
                )
                assert r.status_code == 201, r.text
                have[factor] = r.json()["id"]
            self.pools.append(have[factor])

    async def _subscribe(self, receiver: WebhookReceiver) -> None:
        """The receiver subscribed to `WEBHOOK_TYPES` (the fault suite's services run in
        development, where a loopback URL is allowed)."""
        api = self.stack.apis("notifications")[0]
        r = await self.client.post(
            api.url + "/v1/subscriptions",
            json={
                "url": receiver.url(f"/hooks/{self.run}"),
                "description": f"fault suite {self.run}",
                "event_types": list(WEBHOOK_TYPES),
            },
        )
        assert r.status_code == 201, r.text
        self.history.webhooks = Webhooks(receiver, r.json()["id"], WEBHOOK_TYPES)

    async def unsubscribe(self) -> None:
        """The subscription deleted (what was still to go is dropped)."""
        hooks = self.history.webhooks
        if hooks is None:
            return
        api = self.stack.apis("notifications")[0]
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, headers=self.headers) as client:
            r = await client.delete(f"{api.url}/v1/subscriptions/{hooks.subscription}")
        assert r.status_code in (204, 404), r.text

    # ----------------------------------------------------------------- choosing
    def _write(
        self, n: int, kind: str, service: str, path: str, body: dict[str, Any], subject: str = ""
    ) -> Write:
        write = Write(n, kind, service, path, body, subject, tag=f"faults-{self.run}-{n}")
        self.history.writes.append(write)
        if subject:
            self.busy.add(subject)
        return write

    def _next(self, n: int) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        rng = self.rng
        settled = time.monotonic() - 3.0  # what factors and issues have most likely heard of
        free = [p for p in self.projects.values() if p.id not in self.busy]
        live = [p for p in free if p.stage not in ("withdrawn", "completed")]
        known = [p for p in live if p.acknowledged_at < settled]
        roll = rng.random()
        if roll < 0.18 or len(live) < 5:
            return self._register(n)
        if roll < 0.28:
            return self._stage(n, rng.choice(live))
        if roll < 0.48:
            candidates = [p for p in live if p.months < 11]
            if candidates:
                return self._report(n, rng.choice(candidates))
        if roll < 0.62 and known:
            return self._allocate(n, rng.choice(known))
        if roll < 0.68:
            free_allocations = [a for a in self.allocations if a not in self.busy]
            if free_allocations:
                return self._release(n, rng.choice(free_allocations))
        if roll < 0.80 and known:
            return self._problem(n, rng.choice(known))
        open_problems = [
            q for q in self.problems.values() if q.id not in self.busy and q.status != "closed"
        ]
        if open_problems:
            return self._move_problem(n, rng.choice(open_problems))
        return self._register(n)

    def _register(self, n: int) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        body = {
            "name": "",
            "county": self.rng.choice(COUNTIES),
            "track": self.rng.choice(["implementation"] * 4 + ["preparation"]),
            "total_investment": str(self.rng.randrange(1000, 200000)),
        }
        write = self._write(n, "project", "registry", "/v1/projects", body)
        body["name"] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            self.projects[answer["id"]] = Project(answer["id"], time.monotonic())

        return write, ack

    def _stage(self, n: int, p: Project) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        roll = self.rng.random()
        if p.stage == "planning" and roll < 0.15:
            to = "reserve"
        elif p.stage in ("planning", "reserve") and roll < 0.85:
            to = "started"
        elif p.stage == "started" and roll < 0.8:
            to = "completed"
        else:
            to = "withdrawn"
        body: dict[str, Any] = {"stage": to, "date": f"{YEAR}-{3 + n % 8:02d}-1{n % 9}"}
        write = self._write(n, "stage", "registry", f"/v1/projects/{p.id}/stage", body, p.id)
        body["reason"] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            p.stage = to

        return write, ack

    def _report(self, n: int, p: Project) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        month = p.months + 1
        body = {
            "period": f"{YEAR}-{month:02d}",
            "ytd_investment": str(100 * month),
            "month_investment": "100",
            "progress_note": "",
        }
        write = self._write(n, "report", "registry", f"/v1/projects/{p.id}/reports", body, p.id)
        body["progress_note"] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            p.months = month

        return write, ack

    def _allocate(self, n: int, p: Project) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        body = {
            "pool_id": self.rng.choice(self.pools),
            "project_id": p.id,
            "amount": str(self.rng.randrange(1, 50)),
            "note": "",
        }
        write = self._write(n, "allocation", "factors", "/v1/allocations", body, p.id)
        body["note"] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            self.allocations.append(answer["id"])

        return write, ack

    def _release(self, n: int, allocation: str) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        body = {"reason": ""}
        write = self._write(
            n, "release", "factors", f"/v1/allocations/{allocation}/release", body, allocation
        )
        body["reason"] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            self.allocations.remove(allocation)

        return write, ack

    def _problem(self, n: int, p: Project) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        body = {
            "project_id": p.id,
            "category": self.rng.choice(["land", "energy", "funds", "approvals"]),
            "title": "",
            "description": "故障测试：要素缺口",
            "source": self.rng.choice(["enterprise", "task_force", "county"]),
        }
        write = self._write(n, "issue", "issues", "/v1/issues", body, p.id)
        body["title"] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            self.problems[answer["id"]] = Problem(answer["id"])

        return write, ack

    def _move_problem(self, n: int, q: Problem) -> tuple[Write, Callable[[dict[str, Any]], None]]:
        path = f"/v1/issues/{q.id}/"
        body: dict[str, Any]
        if q.status == "reported":
            kind, body, after = "assign", {"unit": self.rng.choice(UNITS)}, "assigned"
        elif q.status == "assigned":
            kind, body, after = "resolve", {"resolution": ""}, "resolved"
        elif not q.feedback:
            kind, body, after = "feedback", {"accepted": True, "comment": ""}, "resolved"
        else:
            kind, body, after = "close", {"verdict": "agreed", "note": ""}, "closed"
        write = self._write(n, kind, "issues", path + kind, body, q.id)
        for text in ("resolution", "comment", "note"):
            if text in body:
                body[text] = write.tag

        def ack(answer: dict[str, Any]) -> None:
            q.status = after
            q.feedback = q.feedback or kind == "feedback"

        return write, ack


# Fixed payloads of the database drills (test_database_outage.py, test_restore_drill.py): started
# projects in March 2020, so that their problems count on that month's scorecards.
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


def register_projects(stack: Stack, count: int) -> list[str]:
    """`count` new_project()s registered, each acknowledged; their ids."""
    ids = []
    with stack.client("registry") as registry:
        for i in range(count):
            r = registry.post("/v1/projects", json=new_project(i))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids
