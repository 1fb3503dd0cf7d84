"""Each use case writes exactly one event in its transaction, on factors' topic, with
county, actor and sequence; allocation and credit events are keyed by the project (so one
project's factor history stays in order), pool events by the pool; the data matches the
catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.factors.models import outbox
from shared.events.catalogue.factors import EVENT_TYPES, SOURCE
from tests.api.factors.helpers import (
    Suite,
    all_events,
    allocation,
    county_token,
    demand,
    disburse,
    grant,
    ok_json,
    release,
    source,
)
from tests.api.registry.helpers import ZOUPING

COMMANDER_ACTOR = "commander:dev-commander"


async def _one_new(suite: Suite, before: int, type_: str) -> dict[str, Any]:
    new = (await all_events(suite))[before:]
    assert [e["type"] for e in new] == [type_], new
    event = new[0]
    assert event["source"] == SOURCE
    EVENT_TYPES[type_].model_validate(event["data"])  # the catalogue's shape
    return event


async def test_every_use_case_emits_exactly_one_event(suite: Suite) -> None:
    project = await suite.project(county=ZOUPING, level="city_key")

    n = await suite.outbox_count()
    pool = await suite.pool(
        factor="pollutant",
        pollutant="SO2",
        amount="100",
        advance_share="50",
        ring_fences=[{"min_level": "city_key", "amount": "10"}],
    )
    e = await _one_new(suite, n, "kuaiche.quota.issued.v1")
    assert e["subject"] == pool["id"] and e["partitionkey"] == pool["id"]
    assert e.get("county") is None and e["actor"] == COMMANDER_ACTOR and e["sequence"] == 1
    assert e["data"] == {
        "pool_id": pool["id"],
        "factor": "pollutant",
        "pollutant": "SO2",
        "year": 2020,
        "scope": "city",
        "amount": "100",
        "unit": "t",
        "ring_fences": [{"min_level": "city_key", "amount": "10"}],
        "advance_share": "50",
    }

    n = await suite.outbox_count()
    plant = await source(suite, "SO2", amount="50")
    e = await _one_new(suite, n, "kuaiche.replacement_source.registered.v1")
    assert e["subject"] == plant["id"] and e["actor"] == COMMANDER_ACTOR and e["sequence"] == 1
    assert e["data"]["amount"] == "50" and e["data"]["ratio"] == "2"

    n = await suite.outbox_count()
    a = await allocation(suite, pool["id"], project, "5", source_id=plant["id"], advance=True)
    e = await _one_new(suite, n, "kuaiche.factor.allocated.v1")
    assert e["subject"] == a["id"] and e["partitionkey"] == project
    assert e["county"] == ZOUPING and e["actor"] == COMMANDER_ACTOR and e["sequence"] == 1
    data = e["data"]
    assert data["allocation_id"] == a["id"] and data["pool_id"] == pool["id"]
    assert data["project_id"] == project and data["level"] == "city_key"
    assert data["amount"] == "5" and data["charged"] == "10" and data["ratio"] == "2"
    assert data["source_id"] == plant["id"] and data["advance"] is True
    assert data["unit"] == "t" and data["scope"] == "city" and data["year"] == 2020

    n = await suite.outbox_count()
    assert (await release(suite, a["id"], reason="未按期开工")).status_code == 200
    e = await _one_new(suite, n, "kuaiche.factor.released.v1")
    assert e["subject"] == a["id"] and e["partitionkey"] == project
    assert e["county"] == ZOUPING and e["actor"] == COMMANDER_ACTOR and e["sequence"] == 2
    assert e["data"]["cause"] == "manual" and e["data"]["reason"] == "未按期开工"
    assert e["data"]["charged"] == "10" and e["data"]["advance"] is True

    n = await suite.outbox_count()
    r = await demand(suite, project, "2", unit="yi_yuan", year=2020, headers=county_token(ZOUPING))
    assert r.status_code == 201, r.text
    d = r.json()
    e = await _one_new(suite, n, "kuaiche.credit.demanded.v1")
    assert e["subject"] == d["id"] and e["partitionkey"] == project
    assert e["county"] == ZOUPING and e["actor"] == f"county:dev-county@{ZOUPING}"
    assert e["sequence"] == 1 and e["data"]["amount"] == "20000" and e["data"]["year"] == 2020

    n = await suite.outbox_count()
    g = ok_json(await grant(suite, d["id"], "15000"), 201)
    e = await _one_new(suite, n, "kuaiche.credit.granted.v1")
    assert e["subject"] == d["id"] and e["partitionkey"] == project and e["county"] == ZOUPING
    assert e["actor"] == COMMANDER_ACTOR and e["sequence"] == 2
    assert e["data"]["grant_id"] == g["id"] and e["data"]["amount"] == "15000"
    assert e["data"]["granted_total"] == "15000"

    n = await suite.outbox_count()
    x = ok_json(await disburse(suite, d["id"], "5000"), 201)
    e = await _one_new(suite, n, "kuaiche.credit.disbursed.v1")
    assert e["subject"] == d["id"] and e["partitionkey"] == project and e["sequence"] == 3
    assert e["data"]["disbursement_id"] == x["id"] and e["data"]["disbursed_total"] == "5000"


async def test_events_go_to_the_factors_topic_keyed_as_they_say(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool()
    await allocation(suite, pool["id"], project, "1")
    async with suite.factors_runtime.session_factory() as session:
        rows = (await session.execute(select(outbox.c.topic, outbox.c.key, outbox.c.type))).all()
    assert {(r.topic, r.key, r.type) for r in rows} == {
        ("kuaiche.factors", pool["id"], "kuaiche.quota.issued.v1"),
        ("kuaiche.factors", project, "kuaiche.factor.allocated.v1"),
    }


async def test_the_sequence_follows_the_aggregates_version(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    for _ in range(3):
        await allocation(suite, pool["id"], project, "1")
    got = await suite.get_pool(pool["id"])
    assert got["version"] == 4  # created, then three draws
    d = ok_json(await demand(suite, project, "100"), 201)
    for expected in (2, 3, 4):
        await grant(suite, d["id"], "1")
        [*_, last] = await suite.events("kuaiche.credit.granted.v1")
        assert last["sequence"] == expected
