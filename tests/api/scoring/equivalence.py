"""Rebuild equivalence, the check: a random history of upstream events, applied incrementally by
the scoring worker (with duplicates, stale redeliveries and a restart in the middle), gives the
same read model and the same scorecards as a rebuild that replays the whole log into a fresh
epoch; and the standings kept as the events arrived (`services.scoring.standings`), and those a
rebuild fills, are what a computation from the facts gives for every kept period. Run on the embedded default (test_rebuild_equivalence.py here) and on PostgreSQL + Kafka
(tests/integration/test_scoring_rebuild_equivalence.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
from sqlalchemy import func, select

from services.scoring import api, queries, readmodel, standings
from services.scoring.domain.periods import Period
from services.scoring.domain.standings import scheme_digest
from services.scoring.main import SERVICE
from services.scoring.models import READ_MODEL, Standing, inbox
from services.scoring.readmodel import Feed
from shared.bus.base import Bus
from shared.events.envelope import CloudEvent
from shared.regions import load_region_table
from tests.conftest import COMMANDER, start_service, wait_until
from tests.support.upstream import Upstream

COUNTIES = ["371602", "371603", "371621", "371622", "371623", "371625", "371681", "371691"]
PERIODS = [(2020, m) for m in (1, 3, 4, 6, 9, 12)] + [(2019, 12)]


def _day(rng: random.Random, year: int = 2020) -> dt.date:
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(0, 365))


async def random_history(up: Upstream, rng: random.Random, steps: int, restart: Callable) -> None:
    """`steps` random moves of plausible projects, problems and allocations; at the middle the
    service restarts; now and then an earlier message is published again."""
    ytd: dict[tuple[str, int], int] = {}
    for step in range(steps):
        if step == steps // 2:
            await restart()
        live = [p for p in up.projects.values() if p.stage not in ("withdrawn", "completed")]
        roll = rng.random()
        if roll < 0.2 or not live:
            planned = _day(rng, rng.choice([2019, 2020])) if rng.random() < 0.9 else None
            await up.register(
                rng.choice(COUNTIES),
                planned_start=planned,
                track=rng.choice(["implementation"] * 4 + ["preparation"]),
                level=rng.choice([None, "city_key", "county_key", "provincial_preferred"]),
            )
            continue
        p = rng.choice(live)
        if roll < 0.30:
            if p.stage in ("planning", "reserve"):
                await up.start(p.id, _day(rng))
            elif p.actual_start is not None:
                await up.complete(p.id, max(p.actual_start, _day(rng)))
        elif roll < 0.33:
            await up.withdraw(p.id, _day(rng))
        elif roll < 0.345:
            await up.list_change(p.id, "adjusted", rng.choice(["city_key", "county_key", None]))
        elif roll < 0.36:  # a PATCH: a new snapshot (a later planned start, another name)
            await up.update(p.id, planned_start=_day(rng), name=f"项目-{rng.randrange(10**6)}")
        elif roll < 0.42:
            await up.plan(p.id, 2020, str(rng.randrange(100, 50_000)))
        elif roll < 0.55:
            month = rng.randrange(1, 13)
            last = ytd.get((p.id, month), 0)
            ytd[(p.id, month)] = last + rng.randrange(0, 3000)  # a correction never goes down
            await up.report(p.id, 2020, month, str(ytd[(p.id, month)]))
        elif roll < 0.65:
            await up.report_problem(p.id, _day(rng, rng.choice([2019, 2020])))
        elif roll < 0.80 and up.problems:
            q = up.problems[rng.choice(list(up.problems))]
            after = q.reported_on + dt.timedelta(days=rng.randrange(1, 40))
            if q.status == "reported":
                await up.assign(q.id, after, after + dt.timedelta(days=7))
            elif q.status == "assigned":
                choice = rng.random()
                if choice < 0.6:
                    await up.resolve(q.id, after, on_time=rng.random() < 0.8)
                else:
                    await up.flag_overdue(q.id, after)
            elif q.status == "resolved":
                if rng.random() < 0.7:
                    await up.close(q.id, after, resolved_on=after, on_time=True)
                else:
                    await up.reopen(q.id, after + dt.timedelta(days=5))
        elif roll < 0.90:
            await up.allocate(
                p.id,
                factor=rng.choice(["land", "energy", "water"]),
                year=rng.choice([2019, 2020]),
                amount=str(rng.randrange(1, 500)),
            )
        elif roll < 0.95 and up.allocations:
            a = rng.choice(list(up.allocations.values()))
            if rng.random() < 0.5:
                await up.release(a.id, _day(rng))
            else:
                await up.use(a.id, _day(rng))
        else:
            await up.grant(p.id, 2020, str(rng.randrange(100, 20_000)), _day(rng))
        if up.sent and rng.random() < 0.15:  # at-least-once: an earlier message again
            await up.redeliver(rng.randrange(len(up.sent)))


async def read_model(app: Any) -> dict[str, list[tuple]]:
    """The current epoch's rows, table by table, without the epoch column."""
    sessions = app.state.runtime.session_factory
    async with sessions() as session:
        epoch = await readmodel.current_epoch(session)
        dump: dict[str, list[tuple]] = {}
        for model in READ_MODEL:
            table = model.__table__  # type: ignore[attr-defined]
            columns = [c for c in table.columns if c.name != "epoch"]
            rows = (await session.execute(select(*columns).where(table.c.epoch == epoch))).all()
            dump[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
        return dump


async def kept_as_computed(app: Any, *, all_kept: bool) -> int:
    """Every kept period of the current epoch (every one with `all_kept`, else those up to
    date) gives the cards and the ranking a computation from the facts gives, with the points
    as kept (scored by the scheme in effect, not again when read). How many periods it checked."""
    runtime = app.state.runtime
    thresholds = runtime.config.thresholds
    regions = load_region_table(runtime.settings.regions_file)
    checked = 0
    async with runtime.session_factory() as session:
        await queries.one_snapshot(session)
        epoch = await readmodel.current_epoch(session)
        kept = (
            await session.execute(
                select(Standing.year, Standing.month).where(Standing.epoch == epoch).distinct()
            )
        ).all()
        for year, month in sorted(kept):
            period = Period(year, month)
            found = await standings.read(session, period, thresholds, regions)
            if found is None:
                assert not all_kept, f"{period} is not up to date"
                continue
            computed = await queries.scored(session, period, thresholds, regions, in_snapshot=True)
            digest = scheme_digest(computed.scheme)
            assert {r.scheme_digest for r in found.rows.values()} == {digest}, period
            assert {r.scheme_version for r in found.rows.values()} == {computed.version}
            scores = found.scores(computed.version, computed.scheme)
            read = queries.Ranked(
                period, found.figures, computed.version, computed.scheme, regions, scores
            )
            assert read.cards() == computed.cards(), period
            assert read.ranking() == computed.ranking(), period
            checked += 1
    return checked


async def complete_standings(app: Any) -> None:
    """What the worker's standings job does: every kept period not up to date computed."""
    await readmodel.complete_standings(app.state.runtime)


async def scorecards(client: httpx.AsyncClient) -> list[Any]:
    cards = []
    for year, month in PERIODS:
        r = await client.get(
            "/v1/scorecards", params={"year": year, "month": month}, headers=COMMANDER
        )
        assert r.status_code == 200, r.text
        cards.append(r.json())
        for kind in ("unstarted", "lagging", "overdue"):
            e = await client.get(
                "/v1/exposure",
                params={"kind": kind, "year": year, "month": month},
                headers=COMMANDER,
            )
            assert e.status_code == 200, e.text
            cards.append(e.json())
    return cards


@asynccontextmanager
async def scoring_service(
    definition: Any, settings: Any, bus: Bus, feed: Feed
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app, lifespan = await start_service(definition, settings, bus)
    app.dependency_overrides[api.get_feed] = lambda: feed
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scoring"
        ) as client:
            yield app, client
    finally:
        await lifespan.__aexit__(None, None, None)


async def check_equivalence(
    seed: int, bus: Bus, settings: Any, feed: Feed, upstream: Upstream, steps: int
) -> None:
    definition = dataclasses.replace(
        SERVICE,
        jobs=lambda rt: {
            "read-model": partial(readmodel.follow, rt, feed, 0.1),
            # fills what a batch past its budget left out of date; later batches keep it
            "standings": partial(standings.keep_current, rt, 0.2),
        },
    )
    rng = random.Random(seed)
    state: dict[str, Any] = {}
    busy, standings.BUSY_SECONDS = standings.BUSY_SECONDS, 0.0  # every batch keeps them

    async def restart() -> None:
        await state["cm"].__aexit__(None, None, None)
        state["cm"] = scoring_service(definition, settings, bus, feed)
        state["app"], state["client"] = await state["cm"].__aenter__()

    state["cm"] = scoring_service(definition, settings, bus, feed)
    state["app"], state["client"] = await state["cm"].__aenter__()
    try:
        await random_history(upstream, rng, steps, restart)
        app, client = state["app"], state["client"]

        sent = {CloudEvent.from_json(m.value).id for m in upstream.sent}

        async def applied() -> bool:
            """Every distinct event sent is in the current epoch's inbox (each has a handler)."""
            async with app.state.runtime.session_factory() as session:
                epoch = await readmodel.current_epoch(session)
                seen = await session.scalar(
                    select(func.count())
                    .select_from(inbox)
                    .where(inbox.c.consumer == feed.consumer_name(epoch))
                )
            return seen == len(sent)

        await wait_until(applied, timeout=60)
        incremental = await read_model(app)
        assert len(incremental["projects"]) == len(upstream.projects)
        assert len(incremental["problems"]) == len(upstream.problems)
        assert len(incremental["allocations"]) == len(upstream.allocations)
        incremental_cards = await scorecards(client)

        # the standings the batches kept, then all of them once the worker's job has run
        async def some_kept() -> bool:  # by the batches or, past their budget, by the job
            return await kept_as_computed(app, all_kept=False) > 0

        await wait_until(some_kept)
        await complete_standings(app)
        assert await kept_as_computed(app, all_kept=True) >= len(PERIODS) - 1

        r = await client.post("/v1/admin/rebuild", headers=COMMANDER)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "current" and r.json()["number"] == 2

        rebuilt = await read_model(app)
        assert rebuilt == incremental
        assert await kept_as_computed(app, all_kept=True) >= len(PERIODS) - 1  # filled at its end
        assert await scorecards(client) == incremental_cards
        assert sum(len(rows) for rows in rebuilt.values()) > steps // 3
    finally:
        standings.BUSY_SECONDS = busy
        await state["cm"].__aexit__(None, None, None)
