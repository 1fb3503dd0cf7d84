"""The other services as scoring hears them: a builder that publishes the registry's, factors'
and issues' events (catalogue payloads in CloudEvents, keyed and sequenced as their producers
do) onto a bus. Scoring's own consumer applies them, so the tests go through the real inbox,
handlers and read model. Every event published is kept in `sent`, in order."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from shared.bus.base import Bus, OutgoingMessage
from shared.events.catalogue import factors as fac
from shared.events.catalogue import issues as iss
from shared.events.catalogue import registry as reg
from shared.events.envelope import CloudEvent
from shared.events.topics import FACTORS, ISSUES, REGISTRY

BINCHENG, ZHANHUA, BOXING, ZOUPING = "371602", "371603", "371625", "371681"


@dataclass
class Project:
    id: str
    county: str
    name: str
    level: str | None
    track: str
    stage: str
    planned_start: dt.date | None
    actual_start: dt.date | None = None
    actual_completion: dt.date | None = None
    version: int = 0


@dataclass
class Problem:
    id: str
    project_id: str
    county: str
    reported_on: dt.date
    category: str = "land"
    status: str = "reported"
    unit: str | None = None
    deadline: dt.date | None = None
    version: int = 0


@dataclass
class Allocation:
    id: str
    project_id: str
    county: str
    factor: str
    year: int
    amount: Decimal
    unit: str
    version: int = 0


@dataclass
class Upstream:
    bus: Bus
    registry_topic: str = REGISTRY
    factors_topic: str = FACTORS
    issues_topic: str = ISSUES
    projects: dict[str, Project] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    sent: list[OutgoingMessage] = field(default_factory=list)

    async def _send(
        self,
        topic: str,
        source: str,
        payload: BaseModel,
        *,
        subject: str,
        county: str,
        sequence: int,
        key: str,
    ) -> CloudEvent:
        event = CloudEvent(
            source=source,
            type=payload.TYPE,  # type: ignore[attr-defined]
            subject=subject,
            data=payload.model_dump(mode="json"),
            county=county,
            actor="commander:test",
            sequence=sequence,
            partitionkey=key,
        )
        message = OutgoingMessage(topic, key, event.to_json())
        await self.bus.publish([message])
        self.sent.append(message)
        return event

    # ---- registry
    async def _project_event(self, p: Project, payload: BaseModel) -> CloudEvent:
        return await self._send(
            self.registry_topic,
            reg.SOURCE,
            payload,
            subject=p.id,
            county=p.county,
            sequence=p.version,
            key=p.id,
        )

    def _snapshot(self, p: Project) -> dict[str, Any]:
        return {
            "project_id": p.id,
            "name": p.name,
            "county": p.county,
            "level": p.level,
            "track": p.track,
            "stage": p.stage,
            "code": None,
            "total_investment": "50000",
            "planned_start": p.planned_start,
            "planned_completion": None,
            "actual_start": p.actual_start,
            "actual_completion": p.actual_completion,
            "leader": None,
            "responsible_unit": None,
            "industry": None,
            "tags": [],
            "version": p.version,
        }

    async def register(
        self,
        county: str = BINCHENG,
        *,
        planned_start: dt.date | None = dt.date(2020, 3, 1),
        track: str = "implementation",
        stage: str = "reserve",
        level: str | None = "city_key",
        actual_start: dt.date | None = None,
        name: str | None = None,
    ) -> str:
        pid = str(uuid.uuid4())
        p = Project(
            pid,
            county,
            name or f"项目-{pid[:6]}",
            level,
            track,
            stage,
            planned_start,
            actual_start=actual_start,
            version=1,
        )
        self.projects[pid] = p
        await self._project_event(p, reg.ProjectRegistered(**self._snapshot(p)))
        return pid

    async def update(self, pid: str, **changes: Any) -> None:
        """A ProjectUpdated snapshot with `changes` applied (name, level, planned_start ...)."""
        p = replace(self.projects[pid], **changes)
        p.version += 1
        self.projects[pid] = p
        await self._project_event(p, reg.ProjectUpdated(**self._snapshot(p), changed=list(changes)))

    async def move(self, pid: str, to_stage: str, on: dt.date) -> None:
        p = self.projects[pid]
        before = p.stage
        p.version += 1
        p.stage = to_stage
        if to_stage == "started":
            p.actual_start = on
        if to_stage == "completed":
            p.actual_completion = on
        await self._project_event(
            p,
            reg.ProjectStageChanged(
                project_id=pid,
                from_stage=before,
                to_stage=to_stage,
                date=on,
                reason=None,
                track=p.track,
                level=p.level,
                planned_start=p.planned_start,
                actual_start=p.actual_start,
                actual_completion=p.actual_completion,
            ),
        )

    async def start(self, pid: str, on: dt.date) -> None:
        await self.move(pid, "started", on)

    async def complete(self, pid: str, on: dt.date) -> None:
        await self.move(pid, "completed", on)

    async def withdraw(self, pid: str, on: dt.date = dt.date(2020, 4, 1)) -> None:
        await self.move(pid, "withdrawn", on)

    async def list_change(self, pid: str, kind: str, to_level: str | None) -> None:
        p = self.projects[pid]
        before = p.level
        p.version += 1
        p.level = to_level
        await self._project_event(
            p,
            reg.ListChanged(
                project_id=pid,
                kind=kind,
                from_level=before,
                to_level=to_level,
                reason="调整",
                effective_date=dt.date(2020, 4, 1),
            ),
        )

    async def plan(self, pid: str, year: int, annual: Decimal | str) -> None:
        p = self.projects[pid]
        p.version += 1
        await self._project_event(
            p,
            reg.PlanSet(
                project_id=pid, year=year, annual_investment=Decimal(annual), monthly_targets={}
            ),
        )

    async def report(self, pid: str, year: int, month: int, ytd: Decimal | str) -> None:
        p = self.projects[pid]
        p.version += 1
        await self._project_event(
            p,
            reg.ReportSubmitted(
                project_id=pid,
                period=f"{year}-{month:02d}",
                year=year,
                month=month,
                ytd_investment=Decimal(ytd),
                month_investment=Decimal(0),
                started=True,
                progress_note=None,
                correction_note=None,
            ),
        )

    # ---- issues
    async def _problem_event(self, q: Problem, model: type[iss.IssueEvent], **extra: Any) -> None:
        q.version += 1
        payload = model(
            issue_id=q.id,
            project_id=q.project_id,
            county=q.county,
            status=q.status,
            category=q.category,
            complexity="general",
            unit=q.unit,
            deadline=q.deadline,
            reported_on=q.reported_on,
            version=q.version,
            **extra,
        )
        await self._send(
            self.issues_topic,
            iss.SOURCE,
            payload,
            subject=q.id,
            county=q.county,
            sequence=q.version,
            key=q.project_id,
        )

    async def report_problem(
        self, pid: str, reported_on: dt.date, *, category: str = "land", title: str = "用地指标不足"
    ) -> str:
        p = self.projects[pid]
        q = Problem(str(uuid.uuid4()), pid, p.county, reported_on, category=category)
        self.problems[q.id] = q
        await self._problem_event(
            q, iss.IssueReported, title=title, source="enterprise", round_id=None
        )
        return q.id

    async def assign(
        self, qid: str, on: dt.date, deadline: dt.date, unit: str = "市自然资源和规划局"
    ) -> None:
        q = self.problems[qid]
        q.status, q.unit, q.deadline = "assigned", unit, deadline
        await self._problem_event(
            q, iss.IssueAssigned, co_units=[], working_days=5, plan_due=None, assigned_on=on
        )

    async def resolve(self, qid: str, on: dt.date, on_time: bool = True) -> None:
        q = self.problems[qid]
        q.status = "resolved"
        await self._problem_event(q, iss.IssueResolved, resolved_on=on, on_time=on_time)

    async def reopen(self, qid: str, new_deadline: dt.date) -> None:
        q = self.problems[qid]
        q.status, q.deadline = "assigned", new_deadline
        await self._problem_event(q, iss.IssueReopened, comment="未解决")

    async def close(
        self, qid: str, on: dt.date, resolved_on: dt.date, on_time: bool = True
    ) -> None:
        q = self.problems[qid]
        q.status = "closed"
        await self._problem_event(
            q,
            iss.IssueClosed,
            verdict="agreed",
            closed_on=on,
            note=None,
            resolved_on=resolved_on,
            on_time=on_time,
        )

    async def flag_overdue(self, qid: str, on: dt.date) -> None:
        q = self.problems[qid]
        await self._problem_event(
            q,
            iss.IssueOverdue,
            flagged_at=dt.datetime.combine(on, dt.time(1), tzinfo=dt.UTC),
            flagged_on=on,
        )

    # ---- factors
    def _allocation_fields(self, a: Allocation) -> dict[str, Any]:
        return {
            "allocation_id": a.id,
            "pool_id": f"pool-{a.factor}-{a.year}",
            "project_id": a.project_id,
            "county": a.county,
            "factor": a.factor,
            "pollutant": None,
            "year": a.year,
            "amount": a.amount,
            "charged": a.amount,
            "unit": a.unit,
        }

    async def _allocation_event(self, a: Allocation, payload: BaseModel) -> None:
        await self._send(
            self.factors_topic,
            fac.SOURCE,
            payload,
            subject=a.id,
            county=a.county,
            sequence=a.version,
            key=a.project_id,
        )

    async def allocate(
        self,
        pid: str,
        *,
        factor: str = "land",
        year: int = 2020,
        amount: Decimal | str = "10",
        unit: str = "mu",
        on: dt.date = dt.date(2020, 4, 2),
    ) -> str:
        p = self.projects[pid]
        a = Allocation(
            str(uuid.uuid4()), pid, p.county, factor, year, Decimal(amount), unit, version=1
        )
        self.allocations[a.id] = a
        await self._allocation_event(
            a,
            fac.FactorAllocated(
                **self._allocation_fields(a),
                level=p.level,
                scope="city",
                ratio=None,
                source_id=None,
                advance=False,
                allocated_on=on,
                use_by=None,
            ),
        )
        return a.id

    async def release(self, aid: str, on: dt.date, cause: str = "manual") -> None:
        a = self.allocations[aid]
        a.version += 1
        await self._allocation_event(
            a,
            fac.FactorReleased(
                **self._allocation_fields(a),
                advance=False,
                cause=cause,
                reason="收回",
                released_on=on,
            ),
        )

    async def use(self, aid: str, on: dt.date) -> None:
        a = self.allocations[aid]
        a.version += 1
        await self._allocation_event(a, fac.FactorUsed(**self._allocation_fields(a), used_on=on))

    async def grant(
        self, pid: str, year: int, amount: Decimal | str, on: dt.date = dt.date(2020, 4, 3)
    ) -> str:
        p = self.projects[pid]
        gid = str(uuid.uuid4())
        await self._send(
            self.factors_topic,
            fac.SOURCE,
            fac.CreditGranted(
                demand_id=f"d-{pid}",
                grant_id=gid,
                project_id=pid,
                county=p.county,
                year=year,
                bank="中国银行滨州分行",
                amount=Decimal(amount),
                granted_total=Decimal(amount),
                granted_on=on,
            ),
            subject=f"d-{pid}",
            county=p.county,
            sequence=1,
            key=pid,
        )
        return gid

    async def redeliver(self, index: int) -> None:
        """Publish message `index` of `sent` again (an at-least-once relay's duplicate)."""
        message = self.sent[index]
        await self.bus.publish([message])
        self.sent.append(message)
