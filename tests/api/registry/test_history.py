"""Everything is audited: a project's history lists every change with who and when."""

from __future__ import annotations

from tests.api.registry.helpers import create_project, move
from tests.conftest import COMMANDER, token


async def test_the_history_lists_every_change_in_order_with_its_actor(registry) -> None:
    project = await create_project(registry, county="371602")
    pid = project["id"]
    county = token("county", county="371602")
    r = await registry.client.patch(
        f"/v1/projects/{pid}", json={"leader": "李副市长"}, headers={**county, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert (await move(registry, pid, "started", "2020-04-10")).status_code == 200

    r = await registry.client.get(f"/v1/projects/{pid}/history", headers=COMMANDER)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    assert [(e["type"].split(".")[2], e["sequence"]) for e in body["items"]] == [
        ("registered", 1),
        ("updated", 2),
        ("stage_changed", 3),
    ]
    assert body["items"][1]["actor"].startswith("county:") and "371602" in body["items"][1]["actor"]
    assert body["items"][1]["data"]["changed"] == ["leader"]


async def test_another_countys_history_is_not_disclosed(registry) -> None:
    pid = (await create_project(registry, county="371602"))["id"]
    r = await registry.client.get(
        f"/v1/projects/{pid}/history", headers=token("county", county="371681")
    )
    assert r.status_code == 404
