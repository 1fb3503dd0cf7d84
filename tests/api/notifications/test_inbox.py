"""The inbox through the HTTP API: each token reads its holder's own messages (the command
office's, its county's, its department's), the command office may name another's, a viewer has
none; the unread filter and count, marking one or all read, and paging. The messages come from
real events (a problem assigned, then flagged overdue) applied by the service's consumer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, VIEWER, token
from tests.support.upstream import BINCHENG, ZHANHUA

LAND = "市自然资源和规划局"
HOUSING = "市住房和城乡建设局"
ASSIGNED_ON, DEADLINE, LATE = dt.date(2020, 9, 21), dt.date(2020, 9, 28), dt.date(2020, 9, 29)

BINCHENG_CLERK = token("county", county=BINCHENG)
ZHANHUA_CLERK = token("county", county=ZHANHUA)
LAND_DEPT = token("department", department=LAND)
HOUSING_DEPT = token("department", department=HOUSING)


@pytest.fixture(autouse=True)
def _no_server_errors(notifications: NotificationsApp) -> None:
    async def check(response: httpx.Response) -> None:
        await response.aread()
        assert response.status_code < 500, response.text

    notifications.client.event_hooks["response"].append(check)


async def overdue_problem(app: NotificationsApp, county: str, unit: str) -> str:
    """A problem of `county` assigned to `unit` and flagged overdue: the unit hears of it twice
    (交办, 红色督办), the county and the command office once."""
    up = app.upstream
    pid = await up.register(county)
    qid = await up.report_problem(pid, ASSIGNED_ON)
    await up.assign(qid, ASSIGNED_ON, DEADLINE, unit=unit)
    await up.flag_overdue(qid, LATE)
    return qid


@pytest.fixture
async def two_counties(notifications: NotificationsApp) -> NotificationsApp:
    """One overdue problem in 滨城区 (the land bureau's), one in 沾化区 (housing's)."""
    await overdue_problem(notifications, BINCHENG, LAND)
    await overdue_problem(notifications, ZHANHUA, HOUSING)
    await notifications.settled()
    return notifications


async def inbox(app: NotificationsApp, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = await app.client.get("/v1/notifications", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def unread(app: NotificationsApp, headers: dict[str, str]) -> int:
    answer = await app.client.get("/v1/notifications/unread-count", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["unread"]


def owners(page: dict[str, Any]) -> set[tuple[str, str]]:
    return {(n["recipient_kind"], n["recipient_key"]) for n in page["items"]}


# ---------------------------------------------------------------- whose inbox
async def test_each_role_reads_only_its_own_inbox(two_counties: NotificationsApp) -> None:
    app = two_counties
    commander = await inbox(app, COMMANDER)
    assert commander["total"] == 2
    assert owners(commander) == {("commander", "commander")}
    assert {n["rule_id"] for n in commander["items"]} == {"issue-overdue"}

    bincheng = await inbox(app, BINCHENG_CLERK)
    assert bincheng["total"] == 1
    assert owners(bincheng) == {("county", BINCHENG)}
    assert bincheng["items"][0]["county"] == BINCHENG
    zhanhua = await inbox(app, ZHANHUA_CLERK)
    assert owners(zhanhua) == {("county", ZHANHUA)}
    assert zhanhua["items"][0]["id"] != bincheng["items"][0]["id"]

    land = await inbox(app, LAND_DEPT)
    assert land["total"] == 2
    assert owners(land) == {("department", LAND)}
    assert {n["rule_id"] for n in land["items"]} == {"issue-assigned", "issue-overdue"}
    assert {n["county"] for n in land["items"]} == {BINCHENG}
    housing = await inbox(app, HOUSING_DEPT)
    assert owners(housing) == {("department", HOUSING)}
    assert {n["county"] for n in housing["items"]} == {ZHANHUA}

    nobody = await inbox(app, token("department", department="市水利局"))
    assert nobody == {"items": [], "total": 0}


async def test_a_viewer_has_no_inbox(two_counties: NotificationsApp) -> None:
    client = two_counties.client
    note = (await inbox(two_counties, COMMANDER))["items"][0]
    for method, path in (
        ("GET", "/v1/notifications"),
        ("GET", "/v1/notifications/unread-count"),
        ("POST", "/v1/notifications/read-all"),
        ("POST", f"/v1/notifications/{note['id']}/read"),
    ):
        answer = await client.request(method, path, headers=VIEWER)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert await unread(two_counties, COMMANDER) == 2  # the viewer's read-all marked nothing


async def test_no_token_is_401(notifications: NotificationsApp) -> None:
    for path in ("/v1/notifications", "/v1/notifications/unread-count"):
        answer = await notifications.client.get(path)
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer"


async def test_the_commander_reads_another_recipients_inbox(two_counties: NotificationsApp) -> None:
    app = two_counties
    zhanhua = await inbox(app, COMMANDER, recipient_kind="county", recipient_key=ZHANHUA)
    assert zhanhua == await inbox(app, ZHANHUA_CLERK)
    land = await inbox(app, COMMANDER, recipient_kind="department", recipient_key=LAND)
    assert land["total"] == 2
    assert owners(land) == {("department", LAND)}
    own = await inbox(app, COMMANDER, recipient_kind="commander", recipient_key="commander")
    assert own == await inbox(app, COMMANDER)
    # reading another's inbox marks nothing read
    assert await unread(app, ZHANHUA_CLERK) == 1


async def test_others_may_not_name_another_inbox(two_counties: NotificationsApp) -> None:
    client = two_counties.client
    for headers, kind, key in (
        (BINCHENG_CLERK, "county", ZHANHUA),
        (BINCHENG_CLERK, "commander", "commander"),
        (BINCHENG_CLERK, "department", LAND),
        (LAND_DEPT, "department", HOUSING),
        (LAND_DEPT, "county", BINCHENG),
    ):
        answer = await client.get(
            "/v1/notifications",
            headers=headers,
            params={"recipient_kind": kind, "recipient_key": key},
        )
        assert answer.status_code == 403, (kind, key, answer.text)
        assert "command office" in answer.json()["detail"]
    # naming one's own inbox is the same as naming none
    own = await inbox(two_counties, BINCHENG_CLERK, recipient_kind="county", recipient_key=BINCHENG)
    assert own == await inbox(two_counties, BINCHENG_CLERK)


async def test_naming_an_inbox_takes_both_kind_and_key(two_counties: NotificationsApp) -> None:
    client = two_counties.client
    for params in ({"recipient_kind": "county"}, {"recipient_key": BINCHENG}):
        answer = await client.get("/v1/notifications", headers=COMMANDER, params=params)
        assert 400 <= answer.status_code < 500, answer.text
        assert "recipient_kind and recipient_key" in answer.json()["detail"]


async def test_bad_inbox_parameters_are_422(notifications: NotificationsApp) -> None:
    client = notifications.client
    for params, field in (
        ({"recipient_kind": "mayor", "recipient_key": "x"}, "recipient_kind"),
        ({"recipient_kind": "department", "recipient_key": "局" * 201}, "recipient_key"),
        ({"unread": "perhaps"}, "unread"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ):
        answer = await client.get("/v1/notifications", headers=COMMANDER, params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert field in {e["field"] for e in answer.json()["errors"]}
    answer = await client.post(f"/v1/notifications/{'x' * 37}/read", headers=COMMANDER)
    assert answer.status_code == 422, answer.text


# ---------------------------------------------------------------- unread, read, read-all
async def test_unread_filter_and_count(two_counties: NotificationsApp) -> None:
    app = two_counties
    assert await unread(app, LAND_DEPT) == 2
    assert await unread(app, BINCHENG_CLERK) == 1
    assert await unread(app, COMMANDER) == 2
    first, second = (await inbox(app, LAND_DEPT))["items"]
    answer = await app.client.post(f"/v1/notifications/{first['id']}/read", headers=LAND_DEPT)
    assert answer.status_code == 200, answer.text

    assert await unread(app, LAND_DEPT) == 1
    still = await inbox(app, LAND_DEPT, unread="true")
    assert [n["id"] for n in still["items"]] == [second["id"]] and still["total"] == 1
    done = await inbox(app, LAND_DEPT, unread="false")
    assert [n["id"] for n in done["items"]] == [first["id"]] and done["total"] == 1
    assert done["items"][0]["read_at"] is not None
    assert (await inbox(app, LAND_DEPT))["total"] == 2  # no filter: both
    # nobody else's count moved
    assert await unread(app, BINCHENG_CLERK) == 1
    assert await unread(app, COMMANDER) == 2
    assert await unread(app, HOUSING_DEPT) == 2


async def test_marking_ones_own_message_read(two_counties: NotificationsApp) -> None:
    app = two_counties
    note = (await inbox(app, BINCHENG_CLERK))["items"][0]
    assert note["read_at"] is None
    answer = await app.client.post(f"/v1/notifications/{note['id']}/read", headers=BINCHENG_CLERK)
    assert answer.status_code == 200, answer.text
    read = answer.json()
    assert read["id"] == note["id"]
    assert read["read_at"] is not None
    assert dt.datetime.fromisoformat(read["read_at"]).tzinfo is not None
    # again: still read, at the first time
    again = await app.client.post(f"/v1/notifications/{note['id']}/read", headers=BINCHENG_CLERK)
    assert again.status_code == 200, again.text
    assert again.json()["read_at"] == read["read_at"]
    assert await unread(app, BINCHENG_CLERK) == 0


async def test_someone_elses_message_is_404(two_counties: NotificationsApp) -> None:
    app = two_counties
    bincheng_note = (await inbox(app, BINCHENG_CLERK))["items"][0]
    land_note = (await inbox(app, LAND_DEPT))["items"][0]
    for headers, note in (
        (ZHANHUA_CLERK, bincheng_note),
        (LAND_DEPT, bincheng_note),
        (BINCHENG_CLERK, land_note),
        (HOUSING_DEPT, land_note),
        (COMMANDER, land_note),  # the commander reads others' inboxes, but marks only its own
    ):
        answer = await app.client.post(f"/v1/notifications/{note['id']}/read", headers=headers)
        assert answer.status_code == 404, answer.text
    missing = await app.client.post(
        "/v1/notifications/00000000-0000-0000-0000-000000000000/read", headers=COMMANDER
    )
    assert missing.status_code == 404, missing.text
    # nothing was marked by the refused attempts
    assert await unread(app, BINCHENG_CLERK) == 1
    assert await unread(app, LAND_DEPT) == 2


async def test_read_all_marks_only_the_holders(two_counties: NotificationsApp) -> None:
    app = two_counties
    answer = await app.client.post("/v1/notifications/read-all", headers=LAND_DEPT)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"marked": 2}
    assert await unread(app, LAND_DEPT) == 0
    assert all(n["read_at"] for n in (await inbox(app, LAND_DEPT))["items"])
    assert await unread(app, HOUSING_DEPT) == 2
    assert await unread(app, BINCHENG_CLERK) == 1
    assert await unread(app, ZHANHUA_CLERK) == 1
    assert await unread(app, COMMANDER) == 2
    again = await app.client.post("/v1/notifications/read-all", headers=LAND_DEPT)
    assert again.json() == {"marked": 0}

    answer = await app.client.post("/v1/notifications/read-all", headers=COMMANDER)
    assert answer.json() == {"marked": 2}
    assert await unread(app, COMMANDER) == 0
    assert await unread(app, BINCHENG_CLERK) == 1  # the commander's read-all is its own


# ---------------------------------------------------------------- paging
async def test_paging_with_limit_and_offset(notifications: NotificationsApp) -> None:
    for _ in range(5):
        await overdue_problem(notifications, BINCHENG, LAND)
    await notifications.settled()
    everything = await inbox(notifications, COMMANDER, limit=100)
    assert everything["total"] == 5
    ids = [n["id"] for n in everything["items"]]
    assert len(set(ids)) == 5
    stamps = [n["created_at"] for n in everything["items"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first

    pages = [await inbox(notifications, COMMANDER, limit=2, offset=o) for o in (0, 2, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert [n["id"] for p in pages for n in p["items"]] == ids
    beyond = await inbox(notifications, COMMANDER, limit=2, offset=10)
    assert beyond == {"items": [], "total": 5}

    land = await inbox(notifications, LAND_DEPT, limit=3, unread="true")
    assert land["total"] == 10 and len(land["items"]) == 3
