"""Rebuilding the read model: `POST /v1/admin/rebuild` replays every upstream topic from its
beginning into a fresh epoch that takes over; the cards come out the same, and the worker goes
on applying new events to the new epoch, each once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

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
from tests.api.scoring.upstream import BINCHENG, BOXING, ZHANHUA
from tests.conftest import COMMANDER, VIEWER

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
    assert [(e["number"], e["state"]) for e in r.json()] == [(2, "current"), (1, "retired")]


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
    assert [(e["number"], e["state"]) for e in r.json()] == [
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
    assert [(e["number"], e["state"]) for e in r.json()] == [(1, "current")]
