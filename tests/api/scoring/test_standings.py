"""The standings kept per period (`services.scoring.standings`): what a batch's changes mark,
the kept rows against a computation from the facts, and what happens when they cannot be kept
(out of date, another scheme, other thresholds, a failing refresh, a month that begins)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from services.scoring import queries, readmodel, standings
from services.scoring.domain.exposure import Thresholds
from services.scoring.domain.figures import Facts
from services.scoring.domain.periods import Period
from services.scoring.domain.standings import SchemesInEffect
from services.scoring.models import Standing
from services.scoring.schemas import RankingPublic, ScorecardList
from shared.http import conventions
from shared.regions import load_region_table
from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.equivalence import kept_as_computed
from tests.api.scoring.helpers import card, put_scheme, ranking, scheme_body
from tests.conftest import COMMANDER

D = dt.date
BINCHENG, ZHANHUA = "371602", "371603"
PAGE = {"year": 2020, "month": 4}


@pytest.fixture(autouse=True)
def every_batch_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events here follow each other within a second, which would count as a burst."""
    monkeypatch.setattr(standings, "BUSY_SECONDS", 0.0)


async def kept_rows(scoring: ScoringApp, **where: Any) -> list[Standing]:
    async with scoring.runtime.session_factory() as session:
        epoch = await readmodel.current_epoch(session)
        query = select(Standing).where(Standing.epoch == epoch)
        for name, value in where.items():
            query = query.where(getattr(Standing, name) == value)
        return list((await session.scalars(query)).all())


async def up_to_date(scoring: ScoringApp) -> int:
    return await kept_as_computed(scoring.app, all_kept=True)


async def test_a_batch_keeps_every_month_of_the_years_its_facts_are_dated_in(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    await up.register(BINCHENG, planned_start=D(2019, 6, 1), level=None)
    await scoring.settled()
    rows = await kept_rows(scoring)
    # 2019, every division (a year not kept yet is computed for all); no other year
    assert {(r.year, r.month) for r in rows} == {(2019, m) for m in range(1, 13)}
    assert len(rows) == 12 * 10
    pid = await up.register(ZHANHUA, planned_start=D(2020, 2, 1))
    await up.plan(pid, 2020, "1000")
    await up.report(pid, 2020, 3, "300")
    await scoring.settled()
    assert len(await kept_rows(scoring)) == 24 * 10
    assert await up_to_date(scoring) == 24
    april = await kept_rows(scoring, year=2020, month=4, county=ZHANHUA)
    assert april[0].figures["values"]["ytd_investment"] == "300"  # sums drop their terms' scale


async def test_a_key_project_leaving_the_list_changes_every_kept_year(scoring: ScoringApp) -> None:
    up = scoring.upstream
    await up.register(ZHANHUA, planned_start=D(2019, 6, 1), level=None)  # 2019 is kept
    key = await up.register(BINCHENG, planned_start=D(2020, 3, 1), level="city_key")
    await scoring.settled()
    assert (await card(scoring, BINCHENG, 2019, 12))["figures"]["key_projects"] == 1
    await up.list_change(key, "adjusted", None)
    await scoring.settled()
    assert (await card(scoring, BINCHENG, 2019, 12))["figures"]["key_projects"] == 0
    assert await up_to_date(scoring) == 24


async def test_a_change_marks_what_the_row_counted_in_before(scoring: ScoringApp) -> None:
    up = scoring.upstream
    moved = await up.register(BINCHENG, planned_start=D(2019, 5, 1), level=None)
    await up.register(ZHANHUA, planned_start=D(2020, 3, 1), level=None)
    await scoring.settled()
    assert (await card(scoring, BINCHENG, 2019, 12))["figures"]["planned_starts"] == 1
    await up.update(moved, planned_start=D(2020, 3, 1))  # no longer counts in 2019
    await scoring.settled()
    december = (await card(scoring, BINCHENG, 2019, 12))["figures"]
    assert (december["planned_starts"], december["unstarted_projects"]) == (0, 0)
    assert await up_to_date(scoring) == 24


async def test_a_problem_and_an_allocation_mark_their_years(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await scoring.settled()
    qid = await up.report_problem(pid, D(2020, 2, 3))
    await up.assign(qid, D(2020, 2, 4), D(2020, 2, 11))
    await up.flag_overdue(qid, D(2020, 2, 12))
    aid = await up.allocate(pid, factor="land", year=2020, amount="12")
    await scoring.settled()
    assert await up_to_date(scoring) == 12
    await up.release(aid, D(2020, 3, 9))
    await up.resolve(qid, D(2020, 3, 20), on_time=False)
    await scoring.settled()
    march = (await card(scoring, BINCHENG, 2020, 3))["figures"]
    assert (march["factor_allocations"], march["problems_resolved"]) == (0, 1)
    assert await up_to_date(scoring) == 12


async def test_a_scheme_set_later_scores_the_kept_figures_again_when_read(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    for county in (BINCHENG, ZHANHUA):
        pid = await up.register(county, planned_start=D(2020, 1, 10))
        await up.start(pid, D(2020, 2, 1))
    await scoring.settled()
    r = await put_scheme(scoring, "v2020", scheme_body())
    assert r.status_code == 201, r.text
    body = await ranking(scoring)
    assert body["scheme_version"] == "v2020"
    kept = await kept_rows(scoring, year=2020, month=4)
    assert {r.scheme_version for r in kept} == {"default"}  # the rows are not rewritten
    async with scoring.runtime.session_factory() as session:
        computed = await queries.scored(
            session, Period(2020, 4), Thresholds(), load_region_table(None)
        )
    assert [(e["county"], e["score"]) for e in body["items"]] == [
        (e.county, format(e.score, ".2f")) for e in computed.ranking()
    ]
    # the next batch that touches the period scores its rows by the scheme in effect
    await up.register(BINCHENG, planned_start=D(2020, 4, 1))
    await scoring.settled()
    assert {r.scheme_version for r in await kept_rows(scoring, year=2020, month=4)} == {"v2020"}
    assert await up_to_date(scoring) == 12


async def test_past_the_budget_a_batch_marks_its_periods_out_of_date(
    scoring: ScoringApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await scoring.settled()
    before = await card(scoring, BINCHENG)
    monkeypatch.setattr(standings, "BATCH_BUDGET", 0)
    await up.start(pid, D(2020, 3, 9))
    await scoring.settled()
    rows = await kept_rows(scoring, year=2020, month=4)
    assert {r.basis for r in rows} == {standings.OUT_OF_DATE}
    after = await card(scoring, BINCHENG)  # computed from the facts meanwhile
    assert after["figures"]["started"] == before["figures"]["started"] + 1
    await readmodel.complete_standings(scoring.runtime)  # the worker's job
    assert await up_to_date(scoring) == 12
    assert await card(scoring, BINCHENG) == after


async def test_batches_in_a_burst_leave_their_periods_to_the_job(
    scoring: ScoringApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await scoring.settled()
    assert await up_to_date(scoring) == 12
    monkeypatch.setattr(standings, "BUSY_SECONDS", 3600.0)
    statements: list[str] = []

    def noted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = scoring.runtime.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", noted)
    try:
        await up.start(pid, D(2020, 3, 9))
        await up.register(ZHANHUA, planned_start=D(2021, 2, 1))  # a year not kept yet
        await scoring.settled()
    finally:
        sa_event.remove(engine, "before_cursor_execute", noted)
    # marked out of date in the batches' own transactions, no savepoint round trips
    assert any("UPDATE standings" in s for s in statements)
    assert not [s for s in statements if s.startswith("SAVEPOINT")]
    rows = await kept_rows(scoring)
    assert {r.basis for r in rows} == {standings.OUT_OF_DATE}
    assert {r.year for r in rows} == {2020, 2021}  # the new year's rows are placeholders
    assert (await card(scoring, BINCHENG))["figures"]["started"] == 1  # computed meanwhile
    await readmodel.complete_standings(scoring.runtime)
    assert await up_to_date(scoring) == 24


async def test_a_refresh_that_fails_drops_the_standings_not_the_event(
    scoring: ScoringApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await scoring.settled()
    assert await kept_rows(scoring)

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("a bug in the standings")

    monkeypatch.setattr(standings, "_rewrite", broken)
    await up.start(pid, D(2020, 3, 9))
    await scoring.settled()
    assert await kept_rows(scoring) == []
    assert (await card(scoring, BINCHENG))["figures"]["started"] == 1  # applied, and computed


async def test_standings_of_other_thresholds_are_not_read(scoring: ScoringApp) -> None:
    await scoring.upstream.register(BINCHENG, planned_start=D(2019, 12, 1))
    await scoring.settled()
    regions = load_region_table(None)
    async with scoring.runtime.session_factory() as session:
        own = await standings.read(session, Period(2019, 12), Thresholds(), regions)
        other = Thresholds(unstarted_red_after_months=6)
        assert own is not None
        assert await standings.read(session, Period(2019, 12), other, regions) is None
        # 2020: no fact is dated in it, so not kept (computed when read)
        assert await standings.read(session, Period(2020, 4), Thresholds(), regions) is None


async def test_a_month_is_kept_once_it_begins(scoring: ScoringApp) -> None:
    """A rebuild fills the months up to today's of the years facts are dated in; the worker's
    job adds the next month when it begins (today is given here)."""
    await scoring.upstream.register(BINCHENG, planned_start=D(2020, 3, 1))
    await scoring.settled()
    runtime, regions = scoring.runtime, load_region_table(None)
    sessions, thresholds = runtime.session_factory, runtime.config.thresholds
    async with sessions() as session:
        epoch = await readmodel.current_epoch(session)
    assert await standings.fill(sessions, epoch, thresholds, regions, D(2020, 4, 30)) == 40

    async def months() -> list[tuple[int, int]]:
        async with sessions() as session:
            found = await session.execute(
                select(Standing.year, Standing.month, func.count())
                .where(Standing.epoch == epoch)
                .group_by(Standing.year, Standing.month)
            )
            return sorted((y, m) for y, m, n in found.all() if n == 10)

    assert await months() == [(2020, m) for m in (1, 2, 3, 4)]
    assert await standings.complete(sessions, thresholds, regions, D(2020, 4, 30)) == 0
    assert await standings.complete(sessions, thresholds, regions, D(2020, 5, 1)) == 10
    assert await months() == [(2020, m) for m in (1, 2, 3, 4, 5)]
    assert await kept_as_computed(scoring.app, all_kept=True) == 5


async def test_a_project_marks_the_years_of_its_plans(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2019, 1, 10), level=None)
    await up.start(pid, D(2019, 2, 1))
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 4, "10")  # far behind 序时进度 in April 2020: lagging
    await scoring.settled()
    assert (await card(scoring, BINCHENG))["figures"]["lagging_projects"] == 1
    await up.complete(pid, D(2019, 12, 1))  # a date in 2019; finished, so not lagging in 2020
    await scoring.settled()
    assert (await card(scoring, BINCHENG))["figures"]["lagging_projects"] == 0
    assert await up_to_date(scoring) == 24


async def test_a_project_marks_the_years_it_is_unstarted_in(scoring: ScoringApp) -> None:
    up = scoring.upstream
    other = await up.register(ZHANHUA, planned_start=D(2020, 3, 1), level=None)  # 2020 is kept
    late = await up.register(BINCHENG, planned_start=D(2019, 3, 1), level=None)
    await up.start(late, D(2021, 2, 1))
    await scoring.settled()
    assert (await card(scoring, BINCHENG, 2020, 6))["figures"]["unstarted_projects"] == 1
    await up.update(late, actual_start=D(2019, 6, 1))  # a corrected start date
    await scoring.settled()
    assert (await card(scoring, BINCHENG, 2020, 6))["figures"]["unstarted_projects"] == 0
    assert other and await up_to_date(scoring) == 36


# ---- a kept period's answers, rendered once per state of its rows (`queries.answer`)
@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every answer `queries` renders from now on (none kept rendered from other tests)."""
    monkeypatch.setattr(queries, "_RENDERED", {})
    rendered: list[bytes] = []

    def counting(model: Any) -> bytes:
        rendered.append(conventions.rendered(model))
        return rendered[-1]

    monkeypatch.setattr(queries, "rendered", counting)
    return rendered


async def computed_answers(scoring: ScoringApp, county: str) -> tuple[bytes, bytes, bytes]:
    """The ranking, the county's card and the cards of April 2020, computed from the facts and
    rendered as the routes' response models."""
    period, regions = Period(2020, 4), load_region_table(None)
    async with scoring.runtime.session_factory() as session:
        result = await queries.scored(session, period, Thresholds(), regions)
    entries, cards = result.ranking(), result.cards()
    head = {"year": 2020, "month": 4, "scheme_version": result.version}
    return (
        conventions.rendered(RankingPublic(**head, items=entries, total=len(entries))),
        conventions.rendered(result.cards([county])[0]),
        conventions.rendered(ScorecardList(**head, items=cards, total=len(cards))),
    )


async def answers(scoring: ScoringApp, county: str) -> tuple[bytes, bytes, bytes]:
    got = []
    for path in ("/v1/rankings", f"/v1/scorecards/{county}", "/v1/scorecards"):
        r = await scoring.client.get(path, params={"year": 2020, "month": 4}, headers=COMMANDER)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        got.append(r.content)
    return got[0], got[1], got[2]


async def test_a_kept_periods_answers_are_rendered_once_and_as_computed(
    scoring: ScoringApp, renders: list[bytes]
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 4, "300")
    await scoring.settled()
    assert await up_to_date(scoring) == 12
    first = await answers(scoring, BINCHENG)
    assert first == await computed_answers(scoring, BINCHENG)  # byte for byte
    assert len(renders) == 3
    assert await answers(scoring, BINCHENG) == first  # sent again as rendered
    assert len(renders) == 3
    # another page is another answer
    r = await scoring.client.get("/v1/rankings", params={**PAGE, "limit": 3}, headers=COMMANDER)
    assert [e["county"] for e in r.json()["items"]] == [
        e["county"] for e in json.loads(first[0])["items"][:3]
    ]
    assert len(renders) == 4


async def test_a_kept_periods_answers_change_with_its_rows(
    scoring: ScoringApp, renders: list[bytes]
) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 4, "300")
    await scoring.settled()
    before = await answers(scoring, BINCHENG)
    await up.report(pid, 2020, 4, "900")  # a correction: Bincheng's April rows change
    await scoring.settled()
    assert await up_to_date(scoring) == 12
    after = await answers(scoring, BINCHENG)
    assert after == await computed_answers(scoring, BINCHENG)
    assert all(a != b for a, b in zip(before, after, strict=True))
    assert json.loads(after[1])["figures"]["ytd_investment"] == "900"
    assert len(renders) == 6


async def _computed_where(
    monkeypatch: pytest.MonkeyPatch, on_loop: int
) -> tuple[Any, set[Any], int]:
    """`standings._compute` over three periods of no facts with `ON_LOOP_PROJECTS` = `on_loop`
    (projects: none): its rows, the threads `compute_rows` ran on, and how often another task
    of the loop ran meanwhile."""
    monkeypatch.setattr(standings, "ON_LOOP_PROJECTS", on_loop)
    threads: set[Any] = set()
    real = standings.compute_rows

    def compute_rows(*args: Any) -> Any:
        threads.add(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(standings, "compute_rows", compute_rows)
    codes = list(load_region_table(None).codes)
    periods = {Period(2020, m): set(codes) for m in (1, 2, 3)}
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    ticks = 0
    rows = await standings._compute(
        Facts([], [], [], [], [], []),
        {p: {} for p in periods},
        periods,
        codes,
        "basis",
        Thresholds(),
        SchemesInEffect([]),
    )
    done.set()
    await ticker
    return rows, threads, ticks


async def test_a_city_s_standings_are_computed_on_the_loop_a_period_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small facts: on the event loop's thread, its other tasks running between periods (no
    thread contending with the loop for the interpreter); a province's: in a thread. The rows
    are the same."""
    on_loop, loop_threads, between = await _computed_where(monkeypatch, 5_000)
    assert loop_threads == {threading.get_ident()} and between >= 2
    in_thread, other_threads, _ = await _computed_where(monkeypatch, -1)
    assert threading.get_ident() not in other_threads and len(other_threads) == 1
    assert in_thread == on_loop and len(on_loop) == 3
