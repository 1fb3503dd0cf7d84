"""The other services as their consumers hear them: a builder that publishes the registry's,
factors', issues' and scoring's events (catalogue payloads in CloudEvents, keyed and sequenced as
their producers do) onto a bus. The consumer under test (scoring's, notifications') applies them,
so the tests go through the real inbox, handlers and projections. Every event published is kept
in `sent`, in order; `redeliver` publishes one again, as an at-least-once relay would."""

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
from shared.events.catalogue import scoring as sco
from shared.events.envelope import CloudEvent
from shared.events.topics import FACTORS, ISSUES, REGISTRY, SCORING

BINCHENG, ZHANHUA, BOXING, ZOUPING = "371602", "371603", "371625", "371681"
EXPOSURE_KINDS = ("unstarted", "lagging", "overdue")  # scoring's exposure lists


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
    leader: str | None = None  # 帮包 leader
    version: int = 0


@dataclass
class Problem:
    id: str
    project_id: str
    county: str
    reported_on: dt.date
    category: str = "land"
    complexity: str = "general"
    status: str = "reported"
    unit: str | None = None
    co_units: list[str] = field(default_factory=list)
    deadline: dt.date | None = None
    plan_due: dt.date | None = None
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
    scoring_topic: str = SCORING
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
        county: str | None,
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
            "leader": p.leader,
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
        leader: str | None = None,
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
            leader=leader,
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
            complexity=q.complexity,
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
        self,
        pid: str,
        reported_on: dt.date,
        *,
        category: str = "land",
        title: str = "用地指标不足",
        complexity: str = "general",
    ) -> str:
        p = self.projects[pid]
        q = Problem(
            str(uuid.uuid4()), pid, p.county, reported_on, category=category, complexity=complexity
        )
        self.problems[q.id] = q
        await self._problem_event(
            q, iss.IssueReported, title=title, source="enterprise", round_id=None
        )
        return q.id

    async def assign(
        self,
        qid: str,
        on: dt.date,
        deadline: dt.date | None,
        unit: str = "市自然资源和规划局",
        *,
        co_units: list[str] | tuple[str, ...] = (),
        plan_due: dt.date | None = None,
    ) -> None:
        """交办: a general problem with its `deadline`; a complex one (reported so) with no
        deadline yet and the day its plan is due (`plan_due`)."""
        q = self.problems[qid]
        q.status, q.unit, q.deadline = "assigned", unit, deadline
        q.co_units, q.plan_due = list(co_units), plan_due
        await self._problem_event(
            q,
            iss.IssueAssigned,
            co_units=q.co_units,
            working_days=None if q.complexity == "complex" else 5,
            plan_due=plan_due,
            assigned_on=on,
        )

    async def submit_plan(
        self, qid: str, on: dt.date, deadline: dt.date, on_time: bool = True
    ) -> None:
        """A complex problem's plan 解决方案 arrives, with the deadline it sets."""
        q = self.problems[qid]
        q.status, q.deadline = "planned", deadline
        await self._problem_event(q, iss.IssuePlanned, planned_on=on, on_time=on_time)

    async def extend(
        self, qid: str, new_deadline: dt.date, on: dt.date, reason: str = "需协调用地"
    ) -> None:
        """An extension 延期: the deadline moves, the status stays."""
        q = self.problems[qid]
        previous = q.deadline
        assert previous is not None, "only a problem with a deadline is extended"
        q.deadline = new_deadline
        await self._problem_event(
            q, iss.IssueExtended, previous_deadline=previous, requested_on=on, reason=reason
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

    async def set_calendar(
        self,
        year: int,
        holidays: list[dt.date],
        workdays: list[dt.date],
        version: int = 1,
    ) -> CloudEvent:
        """The commander uploaded `year`'s State Council schedule (issues' PUT /v1/calendar)."""
        return await self._send(
            self.issues_topic,
            iss.SOURCE,
            iss.CalendarScheduleSet(
                year=year,
                holidays=sorted(holidays),
                workdays=sorted(workdays),
                note=None,
                version=version,
            ),
            subject=f"calendar/{year}",
            county=None,
            sequence=version,
            key=f"calendar-{year}",
        )

    # ---- factors
    async def issue_quota(
        self,
        *,
        factor: str = "land",
        year: int = 2020,
        amount: Decimal | str = "100",
        unit: str = "mu",
        scope: str = "city",
    ) -> str:
        """指标下达: the pool `allocate` draws from (`pool-<factor>-<year>`)."""
        pool_id = f"pool-{factor}-{year}"
        await self._send(
            self.factors_topic,
            fac.SOURCE,
            fac.QuotaIssued(
                pool_id=pool_id,
                factor=factor,
                pollutant=None,
                year=year,
                scope=scope,
                amount=Decimal(amount),
                unit=unit,
                ring_fences=[],
                advance_share=None,
            ),
            subject=pool_id,
            county=None,
            sequence=1,
            key=pool_id,
        )
        return pool_id

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

    # ---- scoring
    async def publish_ranking(
        self,
        year: int,
        month: int,
        counties: list[str],
        *,
        exposed: list[sco.ExposedProject] | None = None,
        names: dict[str, str] | None = None,
    ) -> CloudEvent:
        """通报: `counties` ranked in that order (scores falling), and the exposure lists'
        entries; `names` gives the divisions' names (default: their codes)."""
        entries = list(exposed or [])
        ranking = [
            sco.RankedDivision(
                county=code,
                name=(names or {}).get(code, code),
                score=Decimal(100 - rank),
                rank=rank,
                tier=None,
            )
            for rank, code in enumerate(counties, start=1)
        ]
        counts = {kind: sum(e.kind == kind for e in entries) for kind in EXPOSURE_KINDS}
        period = f"{year}-{month:02d}"
        return await self._send(
            self.scoring_topic,
            sco.SOURCE,
            sco.RankingPublished(
                publication_id=str(uuid.uuid4()),
                year=year,
                month=month,
                scheme_version="2020.1",
                published_on=dt.date(year, month, 28),
                ranking=ranking,
                exposed=counts,
                exposed_projects=entries,
            ),
            subject=period,
            county=None,
            sequence=1,
            key=period,
        )

    def exposed(
        self, pid: str, kind: str = "unstarted", issue_id: str | None = None
    ) -> sco.ExposedProject:
        """An exposure list's entry for project `pid` (for `overdue`, its problem `issue_id`)."""
        p = self.projects[pid]
        return sco.ExposedProject(
            kind=kind, project_id=pid, county=p.county, name=p.name, issue_id=issue_id
        )

    async def redeliver(self, index: int) -> None:
        """Publish message `index` of `sent` again (an at-least-once relay's duplicate)."""
        message = self.sent[index]
        await self.bus.publish([message])
        self.sent.append(message)


def decoded(messages: list[OutgoingMessage]) -> list[tuple[CloudEvent, Any]]:
    """`messages` (an Upstream's `sent`) as a consumer decodes them: each event and its payload."""
    from shared.events.catalogue import EVENT_TYPES

    events = [CloudEvent.from_json(m.value) for m in messages]
    return [(e, EVENT_TYPES[e.type].model_validate(e.data)) for e in events]
