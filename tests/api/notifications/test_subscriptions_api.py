"""Webhook subscriptions through the HTTP API: who may make and see them (the command office
all, a county token only its own county's, departments and viewers none), the secret shown
once, bad input (a URL, an event type, a replay window) as a clear 4xx that leaves nothing,
private addresses allowed in development and refused when the service is told to, and the
conditional changes (ETag, If-Match, rotation, switching off, deleting)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notifications.config import load_config
from services.notifications.main import SERVICE
from shared.bus.inprocess import InProcessBus
from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, VIEWER, make_settings, start_service, token
from tests.support.upstream import BINCHENG, ZHANHUA

HOOK = "https://hooks.example.gov.cn/kuaiche"
LOOPBACK = "http://127.0.0.1:9/hook"
ASSIGNED, OVERDUE = "kuaiche.issue.assigned.v1", "kuaiche.issue.overdue.v1"
BINCHENG_CLERK = token("county", county=BINCHENG)
ZHANHUA_CLERK = token("county", county=ZHANHUA)
LAND_DEPT = token("department", department="市自然资源和规划局")


async def _refuse_server_errors(response: httpx.Response) -> None:
    await response.aread()
    assert response.status_code < 500, response.text


@pytest.fixture(autouse=True)
def _no_server_errors(notifications: NotificationsApp) -> None:
    notifications.client.event_hooks["response"].append(_refuse_server_errors)


@pytest.fixture
async def refusing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A second notifications service, started with KUAICHE_NOTIFICATIONS_PRIVATE_URLS=refuse
    (still in development); the cached config is cleared around it so no other test sees it."""
    monkeypatch.setenv("KUAICHE_NOTIFICATIONS_PRIVATE_URLS", "refuse")
    load_config.cache_clear()
    data_dir = tmp_path / "refusing"
    data_dir.mkdir()
    try:
        app, lifespan = await start_service(
            dataclasses.replace(SERVICE, jobs=lambda runtime: {}),
            make_settings(
                "notifications", f"sqlite+aiosqlite:///{data_dir / 'db.sqlite3'}", data_dir
            ),
            InProcessBus(),
        )
    finally:
        load_config.cache_clear()
    assert app.state.runtime.config.private_urls == "refuse"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://notifications",
        event_hooks={"response": [_refuse_server_errors]},
    ) as client:
        yield client
    await lifespan.__aexit__(None, None, None)


async def create(
    client: httpx.AsyncClient, headers: dict[str, str] = COMMANDER, **data: Any
) -> httpx.Response:
    return await client.post("/v1/subscriptions", json={"url": HOOK, **data}, headers=headers)


async def made(
    app: NotificationsApp, headers: dict[str, str] = COMMANDER, **data: Any
) -> dict[str, Any]:
    answer = await create(app.client, headers, **data)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str] = COMMANDER
) -> list[dict[str, Any]]:
    answer = await client.get("/v1/subscriptions", headers=headers, params={"limit": 100})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"])
    return page["items"]


def fields(answer: httpx.Response) -> set[str]:
    return {e["field"] for e in answer.json().get("errors", [])}


def at(version: int, headers: dict[str, str] = COMMANDER) -> dict[str, str]:
    return {**headers, "If-Match": f'"{version}"'}


# ---------------------------------------------------------------- creating, the secret once
async def test_create_answers_the_secret_once(notifications: NotificationsApp) -> None:
    answer = await create(
        notifications.client, event_types=[OVERDUE, ASSIGNED, OVERDUE], description="督办系统"
    )
    assert answer.status_code == 201, answer.text
    sub = answer.json()
    assert answer.headers["location"] == f"/v1/subscriptions/{sub['id']}"
    assert answer.headers["etag"] == '"1"'
    assert sub["secret"].startswith("whsec_") and len(sub["secret"]) > len("whsec_") + 30
    assert sub["event_types"] == [ASSIGNED, OVERDUE]
    assert (sub["url"], sub["county"], sub["enabled"], sub["version"]) == (HOOK, None, True, 1)
    assert sub["created_by"]

    read = await notifications.client.get(answer.headers["location"], headers=COMMANDER)
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == '"1"'
    assert "secret" not in read.json()
    assert sub["secret"] not in read.text
    everything = await listed(notifications.client)
    assert [s["id"] for s in everything] == [sub["id"]]
    assert "secret" not in everything[0]
    assert read.json() == {k: v for k, v in sub.items() if k != "secret"}


async def test_no_token_is_401(notifications: NotificationsApp) -> None:
    assert (
        await notifications.client.post("/v1/subscriptions", json={"url": HOOK})
    ).status_code == 401
    assert (await notifications.client.get("/v1/subscriptions")).status_code == 401


# ---------------------------------------------------------------- bad input
async def test_bad_bodies_are_422_and_leave_nothing(notifications: NotificationsApp) -> None:
    client = notifications.client
    for data, field in (
        ({"event_types": ["kuaiche.issue.vanished.v1"]}, "event_types.0"),
        ({"event_types": [ASSIGNED, "issue.assigned"]}, "event_types.1"),
        ({"url": "ftp://hooks.example.gov.cn/kuaiche"}, "url"),
        ({"url": "hooks.example.gov.cn/kuaiche"}, "url"),
        ({"url": "https://hooks.example.gov.cn/a b"}, "url"),
        ({"url": "https://" + "a" * 2000 + ".cn"}, "url"),
        ({"county": "滨城区"}, "county"),
        ({"description": "  "}, "description"),
        ({"secret": "whsec_mine"}, "secret"),
    ):
        answer = await create(client, **data)
        assert answer.status_code == 422, (data, answer.text)
        assert field in fields(answer), answer.text
    missing_url = await client.post("/v1/subscriptions", json={}, headers=COMMANDER)
    assert missing_url.status_code == 422 and "url" in fields(missing_url)
    assert await listed(client) == []


async def test_urls_refused_in_any_environment_are_409(notifications: NotificationsApp) -> None:
    for url in (
        "https://user:pw@hooks.example.gov.cn/",
        "http://2130706433/hook",
        "http://0x7f.1/",
    ):
        answer = await create(notifications.client, url=url)
        assert answer.status_code == 409, (url, answer.text)
        assert fields(answer) == {"url"}
    assert await listed(notifications.client) == []


async def test_an_unknown_county_filter_is_409(notifications: NotificationsApp) -> None:
    answer = await create(notifications.client, county="999999")
    assert answer.status_code == 409, answer.text
    assert fields(answer) == {"county"}
    assert await listed(notifications.client) == []
    old_code = await made(notifications, county="371624")  # 沾化区's old code
    assert old_code["county"] == ZHANHUA


async def test_a_loopback_url_is_allowed_in_development(notifications: NotificationsApp) -> None:
    for url in (
        LOOPBACK,
        "http://localhost:8080/hook",
        "http://[::1]:8080/hook",
        "http://10.0.0.8/",
    ):
        sub = await made(notifications, url=url)
        assert sub["url"] == url


async def test_a_loopback_url_is_refused_when_configured(refusing: httpx.AsyncClient) -> None:
    for url in (
        LOOPBACK,
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest",
        "http://intranet/",
    ):
        answer = await create(refusing, url=url)
        assert answer.status_code == 409, (url, answer.text)
        assert fields(answer) == {"url"}
    assert await listed(refusing) == []
    # a robot's address is held to the same rule
    robot = await refusing.post(
        "/v1/recipients",
        json={
            "kind": "department",
            "key": "市水利局",
            "name": "市水利局",
            "channels": [{"type": "wecom", "url": "http://127.0.0.1:9/send?key=k"}],
        },
        headers=COMMANDER,
    )
    assert robot.status_code == 409, robot.text
    assert fields(robot) == {"channels[0].url"}
    # a public address is fine, and changing it to a loopback one is refused as well
    ok = await create(refusing)
    assert ok.status_code == 201, ok.text
    sub = ok.json()
    moved = await refusing.patch(
        f"/v1/subscriptions/{sub['id']}", json={"url": LOOPBACK}, headers=at(1)
    )
    assert moved.status_code == 409, moved.text
    assert fields(moved) == {"url"}
    read = await refusing.get(f"/v1/subscriptions/{sub['id']}", headers=COMMANDER)
    assert read.json()["url"] == HOOK and read.headers["etag"] == '"1"'


# ---------------------------------------------------------------- scoping
async def test_a_county_subscribes_only_to_its_own_county(notifications: NotificationsApp) -> None:
    forced = await made(notifications, BINCHENG_CLERK)
    assert forced["county"] == BINCHENG
    named = await made(notifications, BINCHENG_CLERK, county=BINCHENG)
    assert named["county"] == BINCHENG
    other = await create(notifications.client, BINCHENG_CLERK, county=ZHANHUA)
    assert other.status_code == 403, other.text
    assert {s["id"] for s in await listed(notifications.client)} == {forced["id"], named["id"]}


async def test_departments_and_viewers_have_no_subscriptions(
    notifications: NotificationsApp,
) -> None:
    sub = await made(notifications, county=BINCHENG)
    client = notifications.client
    path = f"/v1/subscriptions/{sub['id']}"
    for headers in (LAND_DEPT, VIEWER):
        for method, url, data in (
            ("GET", "/v1/subscriptions", None),
            ("POST", "/v1/subscriptions", {"url": HOOK}),
            ("GET", path, None),
            ("PATCH", path, {"enabled": False}),
            ("DELETE", path, None),
            ("GET", f"{path}/deliveries", None),
            (
                "POST",
                f"{path}/replay",
                {"since": "2020-09-01T00:00:00+08:00", "until": "2020-09-02T00:00:00+08:00"},
            ),
        ):
            answer = await client.request(method, url, json=data, headers=at(1, headers))
            assert answer.status_code == 403, (headers, method, url, answer.text)
    assert [s["id"] for s in await listed(client)] == [sub["id"]]
    assert (await client.get(path, headers=COMMANDER)).json()["enabled"] is True


async def test_a_county_sees_only_its_own_subscriptions(notifications: NotificationsApp) -> None:
    every = await made(notifications)
    zhanhua = await made(notifications, county=ZHANHUA)
    bincheng = await made(notifications, BINCHENG_CLERK)
    client = notifications.client
    assert {s["id"] for s in await listed(client)} == {every["id"], zhanhua["id"], bincheng["id"]}
    assert [s["id"] for s in await listed(client, BINCHENG_CLERK)] == [bincheng["id"]]
    assert [s["id"] for s in await listed(client, ZHANHUA_CLERK)] == [zhanhua["id"]]

    own = await client.get(f"/v1/subscriptions/{bincheng['id']}", headers=BINCHENG_CLERK)
    assert own.status_code == 200, own.text
    for sub in (every, zhanhua):  # another county's, or the command office's of every county
        path = f"/v1/subscriptions/{sub['id']}"
        for method, url, data in (
            ("GET", path, None),
            ("PATCH", path, {"enabled": False}),
            ("DELETE", path, None),
            ("GET", f"{path}/deliveries", None),
        ):
            answer = await client.request(method, url, json=data, headers=at(1, BINCHENG_CLERK))
            assert answer.status_code == 404, (method, url, answer.text)
    moved = await client.patch(
        f"/v1/subscriptions/{bincheng['id']}",
        json={"county": ZHANHUA},
        headers=at(1, BINCHENG_CLERK),
    )
    assert moved.status_code == 403, moved.text
    for sub in (every, zhanhua, bincheng):
        read = await client.get(f"/v1/subscriptions/{sub['id']}", headers=COMMANDER)
        assert read.json()["enabled"] is True and read.headers["etag"] == '"1"'
        assert read.json()["county"] == sub["county"]


# ---------------------------------------------------------------- changing and deleting
async def test_patch_takes_if_match(notifications: NotificationsApp) -> None:
    sub = await made(notifications)
    path, client = f"/v1/subscriptions/{sub['id']}", notifications.client
    missing = await client.patch(path, json={"event_types": [ASSIGNED]}, headers=COMMANDER)
    assert missing.status_code == 428, missing.text
    stale = await client.patch(path, json={"event_types": [ASSIGNED]}, headers=at(2))
    assert stale.status_code == 412, stale.text
    unknown = await client.patch(path, json={"event_types": ["kuaiche.nothing.v1"]}, headers=at(1))
    assert unknown.status_code == 422, unknown.text
    bad_url = await client.patch(path, json={"url": "gopher://hooks.example.gov.cn"}, headers=at(1))
    assert bad_url.status_code == 422, bad_url.text
    read = await client.get(path, headers=COMMANDER)
    assert read.headers["etag"] == '"1"' and read.json()["event_types"] == []

    answer = await client.patch(path, json={"event_types": [ASSIGNED]}, headers=at(1))
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"2"'
    changed = answer.json()
    assert changed["event_types"] == [ASSIGNED] and changed["version"] == 2
    assert changed.get("secret") is None
    assert (await client.patch(path, json={"url": HOOK}, headers=at(1))).status_code == 412


async def test_rotating_the_secret_answers_a_new_one(notifications: NotificationsApp) -> None:
    sub = await made(notifications)
    path, client = f"/v1/subscriptions/{sub['id']}", notifications.client
    answer = await client.patch(path, json={"rotate_secret": True}, headers=at(1))
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"2"'
    rotated = answer.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != sub["secret"]
    assert rotated["version"] == 2
    read = await client.get(path, headers=COMMANDER)
    assert read.headers["etag"] == '"2"'
    assert "secret" not in read.json()
    assert rotated["secret"] not in read.text and sub["secret"] not in read.text


async def test_switching_off_and_on(notifications: NotificationsApp) -> None:
    sub = await made(notifications, BINCHENG_CLERK)
    path, client = f"/v1/subscriptions/{sub['id']}", notifications.client
    off = await client.patch(path, json={"enabled": False}, headers=at(1, BINCHENG_CLERK))
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False and off.json()["disabled_reason"]
    assert off.headers["etag"] == '"2"'
    read = (await client.get(path, headers=COMMANDER)).json()
    assert read["enabled"] is False and read["county"] == BINCHENG
    on = await client.patch(path, json={"enabled": True}, headers=at(2))
    assert on.status_code == 200, on.text
    assert on.json()["enabled"] is True and on.json()["disabled_reason"] is None


async def test_delete_then_404(notifications: NotificationsApp) -> None:
    keep = await made(notifications)
    sub = await made(notifications, BINCHENG_CLERK)
    path, client = f"/v1/subscriptions/{sub['id']}", notifications.client
    refused = await client.delete(path, headers=ZHANHUA_CLERK)
    assert refused.status_code == 404, refused.text
    answer = await client.delete(path, headers=BINCHENG_CLERK)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    for method in ("GET", "DELETE"):
        gone = await client.request(method, path, headers=COMMANDER)
        assert gone.status_code == 404, gone.text
    patched = await client.patch(path, json={"enabled": False}, headers=at(1))
    assert patched.status_code == 404, patched.text
    assert (await client.get(f"{path}/deliveries", headers=COMMANDER)).status_code == 404
    assert [s["id"] for s in await listed(client)] == [keep["id"]]


# ---------------------------------------------------------------- replay windows
async def test_replay_windows(notifications: NotificationsApp) -> None:
    sub = await made(notifications)
    path, client = f"/v1/subscriptions/{sub['id']}/replay", notifications.client
    for since, until, status in (
        ("2020-09-02T00:00:00+08:00", "2020-09-01T00:00:00+08:00", 409),
        ("2020-09-01T00:00:00+08:00", "2020-09-01T00:00:00+08:00", 409),
        ("2020-09-01T00:00:00+08:00", "2020-10-02T00:00:01+08:00", 409),
        ("2020-09-01T00:00:00", "2020-09-02T00:00:00", 422),
        ("2020-09-01T00:00:00+08:00", "2020-09-02T00:00:00", 422),
        ("2020-09-01", "2020-09-02", 422),
        ("yesterday", "2020-09-02T00:00:00+08:00", 422),
    ):
        answer = await client.post(path, json={"since": since, "until": until}, headers=COMMANDER)
        assert answer.status_code == status, (since, until, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    for data in ({"since": "2020-09-01T00:00:00Z"}, {}):
        answer = await client.post(path, json=data, headers=COMMANDER)
        assert answer.status_code == 422, answer.text
    # exactly 31 days is a window
    answer = await client.post(
        path,
        json={"since": "2020-09-01T00:00:00+08:00", "until": "2020-10-02T00:00:00+08:00"},
        headers=COMMANDER,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"queued": 0}
    deliveries = await client.get(f"/v1/subscriptions/{sub['id']}/deliveries", headers=COMMANDER)
    assert deliveries.json()["total"] == 0
    missing = await client.post(
        "/v1/subscriptions/00000000-0000-0000-0000-000000000000/replay",
        json={"since": "2020-09-01T00:00:00Z", "until": "2020-09-02T00:00:00Z"},
        headers=COMMANDER,
    )
    assert missing.status_code == 404, missing.text


async def test_a_flag_written_as_a_string_is_refused_not_read_as_false(
    notifications: NotificationsApp,
) -> None:
    """`"0"` is not `false`: a flag is a JSON boolean (found by schemathesis)."""
    created = await notifications.client.post(
        "/v1/subscriptions", json={"url": "http://127.0.0.1:9/hooks"}, headers=COMMANDER
    )
    sid = created.json()["id"]
    for body in ({"rotate_secret": "0"}, {"enabled": "false"}):
        answer = await notifications.client.patch(
            f"/v1/subscriptions/{sid}", json=body, headers={**COMMANDER, "If-Match": '"1"'}
        )
        assert answer.status_code == 422, answer.text
