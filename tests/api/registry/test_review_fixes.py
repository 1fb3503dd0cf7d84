"""Rules added after the first review of the registry suite."""

from __future__ import annotations

from tests.api.registry.helpers import create_project, move, nothing_written, problem, unique_name
from tests.conftest import COMMANDER


async def test_an_earlier_month_cannot_overtake_a_later_one_without_a_note(registry) -> None:
    pid = (await create_project(registry))["id"]
    for period, ytd in (("2020-03", "300"), ("2020-04", "400")):
        r = await registry.client.post(
            f"/v1/projects/{pid}/reports",
            json={"period": period, "ytd_investment": ytd, "month_investment": "100"},
            headers=COMMANDER,
        )
        assert r.status_code == 201, r.text
    again = {"period": "2020-03", "ytd_investment": "450", "month_investment": "100"}
    async with nothing_written(registry, pid):
        r = await registry.client.post(f"/v1/projects/{pid}/reports", json=again, headers=COMMANDER)
    error = problem(r, 409)["errors"][0]  # against the later report: 409
    assert error["field"] == "ytd_investment" and "next month" in error["message"]
    r = await registry.client.post(
        f"/v1/projects/{pid}/reports",
        json={**again, "correction_note": "补录3月投资"},
        headers=COMMANDER,
    )
    assert r.status_code == 201


async def test_a_withdrawn_projects_milestones_are_frozen(registry) -> None:
    pid = (await create_project(registry))["id"]
    r = await registry.client.post(
        f"/v1/projects/{pid}/milestones",
        json={"name": "土地摘牌", "planned_date": "2020-03-01"},
        headers=COMMANDER,
    )
    mid = r.json()["id"]
    await move(registry, pid, "withdrawn", "2020-04-01")
    async with nothing_written(registry, pid):
        r = await registry.client.patch(
            f"/v1/projects/{pid}/milestones/{mid}",
            json={"actual_date": "2020-04-02"},
            headers=COMMANDER,
        )
    assert "withdrawn" in problem(r, 409)["detail"]


async def test_percent_and_underscore_in_q_are_literal(registry) -> None:
    name = unique_name("百分号_项目")
    await create_project(registry, name=name)
    everything = await registry.client.get("/v1/projects", params={"q": "%"}, headers=COMMANDER)
    assert everything.json()["total"] == 0
    underscore = await registry.client.get("/v1/projects", params={"q": "号_项"}, headers=COMMANDER)
    assert [p["name"] for p in underscore.json()["items"]] == [name]
