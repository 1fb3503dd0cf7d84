"""The factors API speaks the suite's one dialect: a create answers 201 with the resource as a
GET of its `Location` gives it, and its version as the `ETag`; a GET and a change answer the
ETag too; a grant or disbursement points at its demand, whose version it carries; every list
is `{items, total}` paged by `limit` and `offset`."""

from __future__ import annotations

import httpx

from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    demand,
    disburse,
    grant,
    release,
    source,
)


async def _created(suite: Suite, r: httpx.Response) -> dict:
    assert r.status_code == 201, r.text
    body = r.json()
    location = r.headers["Location"]
    again = await suite.factors.get(location, headers=COMMANDER)
    assert again.status_code == 200, again.text
    assert again.json() == body
    assert r.headers["ETag"] == again.headers["ETag"] == f'"{body["version"]}"'
    return body


async def test_creates_answer_the_resource_at_its_location_with_its_version(suite: Suite) -> None:
    project = await suite.project()
    r = await suite.factors.post(
        "/v1/pools",
        json={
            "factor": "pollutant",
            "pollutant": "SO2",
            "year": 2020,
            "scope": "city",
            "amount": "100",
        },
        headers=COMMANDER,
    )
    pool = await _created(suite, r)
    assert r.headers["Location"] == f"/v1/pools/{pool['id']}"

    plant = await source(suite, "SO2")
    r = await suite.factors.get(f"/v1/replacement-sources/{plant['id']}", headers=COMMANDER)
    assert r.status_code == 200 and r.headers["ETag"] == f'"{plant["version"]}"'

    r = await suite.allocate(pool["id"], project, "10", source_id=plant["id"])
    allocated = await _created(suite, r)
    assert allocated["level"] == "city_key"

    r = await release(suite, allocated["id"])
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{r.json()["version"]}"'
    assert r.json()["version"] > allocated["version"]

    d = await _created(suite, await demand(suite, project, "1000"))

    r = await grant(suite, d["id"], "600")
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/v1/credit-demands/{d['id']}"
    after_grant = await suite.factors.get(r.headers["Location"], headers=COMMANDER)
    assert after_grant.status_code == 200
    assert r.headers["ETag"] == after_grant.headers["ETag"] == f'"{after_grant.json()["version"]}"'
    assert [g["id"] for g in after_grant.json()["grants"]] == [r.json()["id"]]

    r = await disburse(suite, d["id"], "200")
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/v1/credit-demands/{d['id']}"
    after = await suite.factors.get(r.headers["Location"], headers=COMMANDER)
    assert after.status_code == 200
    assert r.headers["ETag"] == f'"{after.json()["version"]}"'
    assert after.json()["version"] > after_grant.json()["version"]


async def test_every_list_pages_items_and_total(suite: Suite) -> None:
    project = await suite.project()
    for year in (2020, 2021, 2022):
        await suite.pool(year=year)
    lists = {
        "/v1/pools": 3,
        "/v1/allocations": 0,
        "/v1/replacement-sources": 0,
        "/v1/credit-demands": 0,
    }
    assert (await demand(suite, project)).status_code == 201
    lists["/v1/credit-demands"] = 1
    for path, total in lists.items():
        r = await suite.factors.get(path, params={"limit": 2, "offset": 0}, headers=COMMANDER)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert set(body) == {"items", "total"} and body["total"] == total, path
        assert len(body["items"]) == min(total, 2), path
        r = await suite.factors.get(path, params={"limit": 2, "offset": 2}, headers=COMMANDER)
        assert r.status_code == 200
        assert len(r.json()["items"]) == max(total - 2, 0), path
