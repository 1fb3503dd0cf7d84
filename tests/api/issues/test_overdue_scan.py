"""The overdue scan as the worker runs it: a supervised periodic job of the worker, flagging each
newly overdue problem once with its history row and its event, which the relay publishes. The
test waits for scans to have run (the `kuaiche_job_runs{job="overdue-scan"}` counter), never
for a stretch of time."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

import httpx

from services.issues import api, service
from services.issues.config import IssuesConfig
from services.issues.main import SERVICE, overdue_scan
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import CloudEvent
from shared.events.topics import ISSUES
from tests.api.issues.helpers import (
    LAND_BUREAU,
    Clock,
    IssuesApp,
    events,
    get,
    known_project,
    ok,
    report,
)
from tests.conftest import COMMANDER, make_settings, start_service, wait_until

D = dt.date


async def test_the_worker_flags_a_newly_overdue_problem_once(tmp_path: Path) -> None:
    bus = InProcessBus()
    clock = Clock(dt.datetime(2020, 9, 21, 2, tzinfo=dt.UTC))
    definition = dataclasses.replace(
        SERVICE,
        load_config=lambda: IssuesConfig(overdue_scan_interval=0.05),
        jobs=lambda rt: {"overdue-scan": overdue_scan(rt, clock=clock.now)},
    )
    app, lifespan = await start_service(
        definition,
        make_settings("issues", f"sqlite+aiosqlite:///{tmp_path / 'i.sqlite3'}", tmp_path),
        bus,
    )
    app.dependency_overrides[api.now_utc] = clock.now
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://issues"
        ) as client:
            svc = IssuesApp(app, client, bus, clock)
            state = app.state.runtime.worker_state  # supervised beside the relay
            runs = app.state.runtime.metrics.job_runs.labels(job="overdue-scan")

            async def scans_ran(count: int) -> None:
                """Wait until `count` more scans completed: with 2, at least one whole scan
                started after the caller moved the clock."""
                target = runs._value.get() + count
                await wait_until(lambda: asyncio.sleep(0, result=runs._value.get() >= target))

            await wait_until(
                lambda: asyncio.sleep(0, result=state.get("issues-overdue-scan") == "running")
            )
            project = await known_project(svc)
            iid = await report(svc, project)
            await ok(svc, iid, "assign", {"unit": LAND_BUREAU, "working_days": 3})  # due 24th
            done = await report(svc, project)
            await ok(svc, done, "assign", {"unit": LAND_BUREAU, "working_days": 3})
            await ok(svc, done, "resolve", {"resolution": "r"})

            clock.set(D(2020, 9, 24), 23)  # the last evening of the deadline: not overdue
            await scans_ran(2)
            assert (await get(svc, iid))["overdue_flagged_at"] is None
            clock.set(D(2020, 9, 25), 0)  # midnight in Shanghai: overdue

            async def flagged() -> bool:
                return (await get(svc, iid))["overdue_flagged_at"] is not None

            await wait_until(flagged)
            await scans_ran(2)  # further scans flag nothing again
            body = await get(svc, iid)
            assert body["colour"] == "red" and body["overdue"] is True
            assert [h["action"] for h in body["history"]].count("overdue") == 1
            assert body["history"][-1]["actor"] == "system:overdue-scan"
            sent = [e for e in await events(svc, iid) if e.type == "kuaiche.issue.overdue.v1"]
            assert len(sent) == 1 and sent[0].partitionkey == project
            assert sent[0].data["deadline"] == "2020-09-24"
            # Midnight in Shanghai is still the 24th in UTC: the business day is Shanghai's.
            assert sent[0].data["flagged_on"] == "2020-09-25"
            assert sent[0].data["reported_on"] == "2020-09-21"
            assert (await get(svc, done))["overdue_flagged_at"] is None

            # Published by the relay on the issues topic.
            reader = bus.consumer("test-reader", [ISSUES])
            await reader.start()

            async def published() -> list[CloudEvent]:
                found = [CloudEvent.from_json(m.value) for m in await reader.fetch(timeout=0.1)]
                return [e for e in found if e.type == "kuaiche.issue.overdue.v1"]

            assert [e.subject for e in await wait_until(published)] == [iid]

            # Still red once resolved, until closed.
            await ok(svc, iid, "resolve", {"resolution": "r"})
            assert (await get(svc, iid))["colour"] == "red"
            await ok(svc, iid, "close", {"verdict": "agreed"})
            body = await get(svc, iid, COMMANDER)
            assert body["colour"] is None and body["overdue"] is False
            assert await service.flag_overdue(app.state.runtime.uow, clock.now()) == 0
    finally:
        await lifespan.__aexit__(None, None, None)
