"""One answer shape: a creating POST answers 201 with the resource as GET shows it, where it
lives (`Location`) and the project's version after the change (`ETag`); lists page with
`limit`/`offset` and answer `{items, total}`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.registry.helpers import create_project, problem, read_project
from tests.conftest import COMMANDER


async def _created(registry: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await registry.client.post(path, json=body, headers=COMMANDER)
    assert r.status_code == 201, r.text
    answer = r.json()
    fetched = await registry.client.get(r.headers["location"], headers=COMMANDER)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == answer
    project = await read_project(registry, answer["project_id"])
    assert r.headers["etag"] == f'"{project["version"]}"'
    return answer  # type: ignore[no-any-return]


async def test_a_milestone_a_report_and_a_list_change_answer_where_they_live(registry):
    project = await create_project(registry, level=None)
    base = f"/v1/projects/{project['id']}"
    milestone = await _created(
        registry, f"{base}/milestones", {"name": "土地摘牌", "planned_date": "2020-03-01"}
    )
    assert milestone["name"] == "土地摘牌"
    report = await _created(
        registry,
        f"{base}/reports",
        {"period": "2020-03", "ytd_investment": "30", "month_investment": "30"},
    )
    assert report["period"] == "2020-03"
    change = await _created(
        registry,
        f"{base}/list-changes",
        {
            "kind": "added",
            "level": "county_key",
            "reason": "增补",
            "effective_date": "2020-03-31",
        },
    )
    assert (change["kind"], change["to_level"]) == ("added", "county_key")


@pytest.mark.parametrize(
    "path",
    [
        "/milestones/00000000-0000-0000-0000-000000000000",
        "/reports/2020-01",
        "/list-changes/2147483647",
    ],
)
async def test_a_sub_resource_that_is_not_there_is_404(registry, path):
    project = await create_project(registry)
    r = await registry.client.get(f"/v1/projects/{project['id']}{path}", headers=COMMANDER)
    problem(r, 404)


async def test_lists_page_with_limit_and_offset(registry):
    project = await create_project(registry)
    base = f"/v1/projects/{project['id']}"
    for month in (1, 2, 3):
        r = await registry.client.post(
            f"{base}/milestones",
            json={"name": f"节点{month}", "planned_date": f"2020-0{month}-01"},
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
    r = await registry.client.get(
        f"{base}/milestones", params={"limit": 2, "offset": 1}, headers=COMMANDER
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3
    assert [m["name"] for m in page["items"]] == ["节点2", "节点3"]
    r = await registry.client.get(f"{base}/history", params={"limit": 1}, headers=COMMANDER)
    assert r.status_code == 200, r.text
    assert (len(r.json()["items"]), r.json()["total"]) == (1, 4)
    r = await registry.client.get("/v1/list-changes", params={"limit": 501}, headers=COMMANDER)
    problem(r, 422)
