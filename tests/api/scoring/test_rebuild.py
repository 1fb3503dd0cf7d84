"""Rebuilding the read model: `POST /v1/admin/rebuild` replays every upstream topic from its
beginning into a fresh epoch that takes over; the cards come out the same, and the worker goes
on applying new events to the new epoch, each once."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from services.scoring import readmodel
from services.scoring.models import READ_MODEL, ProjectView, Standing, inbox
from shared.errors import RuleViolation
from shared.events.envelope import CloudEvent
from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    assert_problem,
    cards,
    county_token,
    department_token,
    exposure,
    figures,
    published,
)
from tests.conftest import COMMANDER, VIEWER, wait_until
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA

D = dt.date


async def _history(scoring: ScoringApp) -> dict[str, str]:
    """Some of everything, with a correction, a reopening, a release and duplicates."""
    up = scoring.upstream
    a = await up.register(BINCHENG, planned_start=D(2020, 3, 1), level="provincial_preferred")
    b = await up.register(BINCHENG, planned_start=D(2020, 2, 1))
    c = await up.register(BOXING, planned_start=D(2020, 4, 1))
    await up.start(a, D(2020, 3, 15))
    await up.start(c, D(2020, 4, 9))
    await up.plan(a, 2020, "1200")
    await up.report(a, 2020, 3, "200")
    await up.report(a, 2020, 4, "300")
    await up.report(a, 2020, 4, "450")  # correction
    q1 = await up.report_problem(a, D(2020, 4, 1))
    q2 = await up.report_problem(c, D(2020, 4, 2))
    await up.resolve(q1, D(2020, 4, 6))
    await up.resolve(q2, D(2020, 4, 7))
    await up.reopen(q2, D(2020, 4, 20))
    land = await up.allocate(a, amount="30")
    await up.allocate(c, factor="energy", amount="120", unit="tce")
    await up.release(land, D(2020, 4, 25))
    await up.grant(c, 2020, "2000")
    for index in (0, 3, 7, 12, 14):  # duplicates: an old report, a resolution before its reopening
        await up.redeliver(index)
    await scoring.settled()
    return {"a": a, "b": b, "c": c, "q1": q1, "q2": q2}


async def _rebuild(scoring: ScoringApp) -> dict[str, Any]:
    r = await scoring.client.post("/v1/admin/rebuild", headers=COMMANDER)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_rebuild_gives_the_same_scorecards_from_a_new_epoch(scoring: ScoringApp) -> None:
    await _history(scoring)
    before = [await cards(scoring, month=m) for m in (3, 4, 5)]
    exposed = [await exposure(scoring, k) for k in ("unstarted", "lagging", "overdue")]

    epoch = await _rebuild(scoring)
    assert (epoch["number"], epoch["state"]) == (2, "current")
    assert epoch["events"] == len(scoring.upstream.sent)  # every message read, duplicates too
    assert epoch["finished_at"] is not None and epoch["started_by"]

    assert [await cards(scoring, month=m) for m in (3, 4, 5)] == before
    assert [await exposure(scoring, k) for k in ("unstarted", "lagging", "overdue")] == exposed
    r = await scoring.client.get("/v1/admin/epochs", headers=COMMANDER)
    assert r.status_code == 200, r.text
    assert [(e["number"], e["state"]) for e in r.json()["items"]] == [
        (2, "current"),
        (1, "retired"),
    ]


async def _epoch_rows(scoring: ScoringApp, number: int) -> int:
    """How many rows epoch `number` has: read model, standings, its consumer's inbox."""
    group = readmodel.Feed.of(scoring.runtime.definition).consumer_name(number)
    async with scoring.runtime.session_factory() as s:
        counts = [
            await s.scalar(select(func.count()).select_from(m).where(m.epoch == number))
            for m in (*READ_MODEL, Standing)
        ]
        counts.append(
            await s.scalar(select(func.count()).select_from(inbox).where(inbox.c.consumer == group))
        )
    return sum(int(c or 0) for c in counts)


async def test_the_worker_deletes_the_retired_epoch_once_it_follows_the_new_one(
    scoring: ScoringApp,
) -> None:
    """The rebuild answers once its epoch is current; the worker's follower, switching to it,
    deletes every row of the retired one."""
    await _history(scoring)
    await scoring.settled()
    assert await _epoch_rows(scoring, 1) > 0
    await _rebuild(scoring)

    async def retired_gone() -> bool:
        return await _epoch_rows(scoring, 1) == 0

    await wait_until(retired_gone, what="the retired epoch's rows deleted")
    assert await _epoch_rows(scoring, 2) > 0


async def test_after_a_rebuild_new_events_are_applied_once(scoring: ScoringApp) -> None:
    ids = await _history(scoring)
    april = await figures(scoring, BINCHENG)
    assert (april["planned_starts"], april["started"], april["unstarted_projects"]) == (2, 1, 1)
    assert (april["ytd_investment"], april["factor_allocations"]) == ("450", 0)
    boxing = await figures(scoring, BOXING)
    assert (boxing["problems_collected"], boxing["problems_resolved"]) == (1, 0)
    assert (boxing["factor_allocations"], boxing["credit_granted"]) == (1, "2000")
    await _rebuild(scoring)

    up = scoring.upstream
    await up.start(ids["b"], D(2020, 4, 20))
    await up.resolve(ids["q2"], D(2020, 4, 22))
    await up.grant(ids["a"], 2020, "500")
    await up.allocate(ids["a"], amount="12")
    await up.register(ZHANHUA, planned_start=D(2020, 1, 1))
    await up.redeliver(len(up.sent) - 3)  # the new grant, twice
    await scoring.settled(epoch=2)

    april = await figures(scoring, BINCHENG)
    assert (april["planned_starts"], april["started"], april["unstarted_projects"]) == (2, 2, 0)
    assert (april["new_starts"], april["new_starts_ytd"]) == (1, 2)
    assert (april["credit_granted"], april["factor_allocations"]) == ("500", 1)
    assert (april["problems_collected"], april["problems_resolved"]) == (1, 1)
    boxing = await figures(scoring, BOXING)
    assert (boxing["problems_collected"], boxing["problems_resolved"]) == (1, 1)
    assert (boxing["credit_granted"], boxing["new_starts"]) == ("2000", 1)
    zhanhua = await exposure(scoring, "unstarted", headers=county_token(ZHANHUA))
    assert [(i["county"], i["colour"]) for i in zhanhua] == [(ZHANHUA, "red")]


async def test_a_rebuild_hands_its_epoch_over_at_the_end_it_read(scoring: ScoringApp) -> None:
    """When the rebuild returns, its epoch's group is committed at the end of every partition
    and its inbox holds each distinct event once: the follower goes on exactly from there."""
    await _history(scoring)
    await _rebuild(scoring)
    feed, bus = readmodel.Feed.of(scoring.app.state.runtime.definition), scoring.bus
    group = feed.consumer_name(2)
    assert [bus.committed(group, t, p) for t in feed.topics for p in range(bus.partitions)] == [
        len(bus.log(t, p)) for t in feed.topics for p in range(bus.partitions)
    ]
    distinct = {CloudEvent.from_json(m.value).id for m in scoring.upstream.sent}
    async with scoring.runtime.session_factory() as s:
        ids = (await s.scalars(select(inbox.c.event_id).where(inbox.c.consumer == group))).all()
    assert sorted(ids) == sorted(distinct)


async def test_a_second_rebuild_after_new_events_matches_the_live_model(
    scoring: ScoringApp,
) -> None:
    ids = await _history(scoring)
    await _rebuild(scoring)
    await scoring.upstream.start(ids["b"], D(2020, 4, 20))
    await scoring.settled(epoch=2)
    live = await cards(scoring)

    epoch = await _rebuild(scoring)
    assert (epoch["number"], epoch["state"]) == (3, "current")
    assert await cards(scoring) == live
    r = await scoring.client.get("/v1/admin/epochs", headers=COMMANDER)
    assert r.status_code == 200, r.text
    assert [(e["number"], e["state"]) for e in r.json()["items"]] == [
        (3, "current"),
        (2, "retired"),
        (1, "retired"),
    ]


async def test_a_publication_is_untouched_by_a_rebuild(scoring: ScoringApp) -> None:
    await _history(scoring)
    pub = await published(scoring)
    url = f"/v1/publications/{pub['id']}"
    before = (await scoring.client.get(url, headers=COMMANDER)).content
    await _rebuild(scoring)
    assert (await scoring.client.get(url, headers=COMMANDER)).content == before


@pytest.mark.parametrize("who", ["viewer", "county", "department"])
async def test_only_the_command_office_rebuilds(scoring: ScoringApp, who: str) -> None:
    headers = {
        "viewer": VIEWER,
        "county": county_token(BINCHENG),
        "department": department_token(),
    }[who]
    assert_problem(await scoring.client.post("/v1/admin/rebuild", headers=headers), 403)
    r = await scoring.client.get("/v1/admin/epochs", headers=COMMANDER)
    assert r.status_code == 200, r.text
    assert [(e["number"], e["state"]) for e in r.json()["items"]] == [(1, "current")]


# ---- one rebuild at a time, and what a forced or failed one leaves


async def _states(scoring: ScoringApp) -> list[tuple[int, str]]:
    async with scoring.runtime.session_factory() as s:
        return [(e.number, e.state) for e in await readmodel.epochs(s)]


def _gate_epoch(
    monkeypatch: pytest.MonkeyPatch, number: int, gate: asyncio.Event, fail: bool = False
):
    """Make the rebuild of epoch `number` wait for `gate` (then fail, if asked) before replaying."""
    real = readmodel.replay

    async def replay(runtime: Any, feed: Any, epoch: int, *args: Any) -> int:
        if epoch == number:
            await gate.wait()
            if fail:
                raise RuntimeError("the broker went away")
        return await real(runtime, feed, epoch, *args)

    monkeypatch.setattr(readmodel, "replay", replay)


async def test_a_second_rebuild_is_refused_while_one_runs_and_force_abandons_it(
    scoring: ScoringApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _history(scoring)
    before = await cards(scoring)
    gate = asyncio.Event()
    _gate_epoch(monkeypatch, 2, gate)
    first = asyncio.create_task(readmodel.rebuild(scoring.runtime, "commander:first"))
    try:
        await wait_until(lambda: _has_state(scoring, (2, "building")))
        refused = await scoring.client.post("/v1/admin/rebuild", headers=COMMANDER)
        assert_problem(refused, 409, "epoch 2", "force")

        forced = await scoring.client.post("/v1/admin/rebuild?force=true", headers=COMMANDER)
        assert forced.status_code == 200, forced.text
        assert (forced.json()["number"], forced.json()["state"]) == (3, "current")
    finally:
        gate.set()
    # the abandoned rebuild was alive after all: it finds itself abandoned and gives up
    with pytest.raises(RuleViolation, match="abandoned"):
        await first
    assert await _states(scoring) == [(3, "current"), (2, "failed"), (1, "retired")]
    assert await _epoch_rows(scoring, 2) == 0  # the abandoned one's, by the forced rebuild

    async def retired_gone() -> bool:  # the retired one's, by the worker
        return await _epoch_rows(scoring, 1) == 0

    await wait_until(retired_gone, what="the retired epoch's rows deleted")
    assert await cards(scoring) == before


async def _has_state(scoring: ScoringApp, wanted: tuple[int, str]) -> bool:
    return wanted in await _states(scoring)


async def test_a_rebuild_that_fails_leaves_the_current_epoch_serving(
    scoring: ScoringApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _history(scoring)
    before = await cards(scoring)
    gate = asyncio.Event()
    gate.set()
    _gate_epoch(monkeypatch, 2, gate, fail=True)
    with pytest.raises(RuntimeError, match="broker"):
        await readmodel.rebuild(scoring.runtime, "commander:test")
    assert await _states(scoring) == [(2, "failed"), (1, "current")]
    assert await _epoch_rows(scoring, 2) == 0
    assert await cards(scoring) == before
    again = await _rebuild(scoring)  # nothing is left marked as running
    assert (again["number"], again["state"]) == (3, "current")
    assert await cards(scoring) == before


async def test_a_rebuild_stops_at_the_end_the_log_had_when_it_began(
    scoring: ScoringApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream keeps publishing during the replay: the rebuild ends anyway, and the worker
    applies what came after its mark to the new epoch."""
    await _history(scoring)
    gate = asyncio.Event()
    _gate_epoch(monkeypatch, 2, gate)
    rebuilding = asyncio.create_task(readmodel.rebuild(scoring.runtime, "commander:test"))
    await wait_until(lambda: _has_state(scoring, (2, "building")))
    late = await scoring.upstream.register(BINCHENG, planned_start=D(2020, 4, 1))

    async def steady_traffic() -> None:  # never a pause as long as the replay's idle wait
        while True:
            await scoring.upstream.plan(late, 2020, "1000")
            await asyncio.sleep(0.02)

    traffic = asyncio.create_task(steady_traffic())
    gate.set()
    try:
        epoch = await asyncio.wait_for(rebuilding, timeout=30)
    finally:
        traffic.cancel()
    assert epoch.state == "current"
    await scoring.settled(epoch=2)
    async with scoring.runtime.session_factory() as s:
        row = await s.get(ProjectView, {"epoch": 2, "project_id": late})
    assert row is not None
    assert (await figures(scoring, BINCHENG))["annual_plan"] == "2200"  # 1200 + the late 1000
