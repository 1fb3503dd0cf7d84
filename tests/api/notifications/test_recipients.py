"""Recipients through the HTTP API: the command office manages every recipient, a county token
only its own county's, departments and viewers none; bad input is a clear 4xx naming its
field and leaves nothing behind; conditional changes (ETag, If-Match); a robot's token and
secret never come back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, VIEWER, token
from tests.support.upstream import BINCHENG, ZHANHUA

LAND = "市自然资源和规划局"
BINCHENG_CLERK = token("county", county=BINCHENG)
ZHANHUA_CLERK = token("county", county=ZHANHUA)
LAND_DEPT = token("department", department=LAND)

DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0"
SECRET = "SEC000000000000000000000000000000000000000000000000000000000000"


@pytest.fixture(autouse=True)
def _no_server_errors(notifications: NotificationsApp) -> None:
    async def check(response: httpx.Response) -> None:
        await response.aread()
        assert response.status_code < 500, response.text

    notifications.client.event_hooks["response"].append(check)


def body(kind: str, key: str, name: str = "收件人", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "key": key, "name": name, **extra}


async def create(
    app: NotificationsApp, data: dict[str, Any], headers: dict[str, str] = COMMANDER
) -> httpx.Response:
    return await app.client.post("/v1/recipients", json=data, headers=headers)


async def listed(app: NotificationsApp, headers: dict[str, str] = COMMANDER) -> set[str]:
    answer = await app.client.get("/v1/recipients", headers=headers, params={"limit": 100})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"])
    return {f"{r['kind']}:{r['key']}" for r in page["items"]}


def fields(answer: httpx.Response) -> set[str]:
    return {e["field"] for e in answer.json().get("errors", [])}


# ---------------------------------------------------------------- who may create
async def test_the_commander_creates_any_recipient(notifications: NotificationsApp) -> None:
    for data in (
        body("commander", "commander", "滨州市重大项目推进指挥部"),
        body("county", ZHANHUA, "沾化区"),
        body("department", LAND, LAND),
        body("leader", "张三", "张三"),
    ):
        answer = await create(notifications, data)
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert answer.headers["location"] == f"/v1/recipients/{made['id']}"
        assert answer.headers["etag"] == '"1"'
        assert (made["kind"], made["key"], made["name"]) == (
            data["kind"],
            data["key"],
            data["name"],
        )
        assert made["version"] == 1 and made["channels"] == []
    assert await listed(notifications) == {
        "commander:commander",
        f"county:{ZHANHUA}",
        f"department:{LAND}",
        "leader:张三",
    }


async def test_a_county_creates_only_its_own_recipient(notifications: NotificationsApp) -> None:
    own = await create(notifications, body("county", BINCHENG, "滨城区"), BINCHENG_CLERK)
    assert own.status_code == 201, own.text
    for data in (
        body("county", ZHANHUA, "沾化区"),
        body("department", LAND, LAND),
        body("commander", "commander"),
        body("leader", "张三"),
    ):
        answer = await create(notifications, data, BINCHENG_CLERK)
        assert answer.status_code == 403, (data, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert await listed(notifications) == {f"county:{BINCHENG}"}


async def test_departments_and_viewers_create_none(notifications: NotificationsApp) -> None:
    for headers in (LAND_DEPT, VIEWER):
        for data in (body("department", LAND, LAND), body("county", BINCHENG)):
            answer = await create(notifications, data, headers)
            assert answer.status_code == 403, answer.text
    assert await listed(notifications) == set()
    assert (
        await notifications.client.post("/v1/recipients", json=body("leader", "x"))
    ).status_code == 401


# ---------------------------------------------------------------- bad input
async def test_an_unknown_county_is_409_naming_the_key(notifications: NotificationsApp) -> None:
    answer = await create(notifications, body("county", "999999", "无此区"))
    assert answer.status_code == 409, answer.text
    assert fields(answer) == {"key"}
    assert "999999" in answer.json()["detail"]
    assert await listed(notifications) == set()


async def test_a_county_named_otherwise_is_stored_by_its_code(
    notifications: NotificationsApp,
) -> None:
    """A county recipient named by an old code or by name is its current code's: messages are
    addressed by current code, so a recipient kept under another spelling would hear nothing."""
    by_name = await create(notifications, body("county", "滨城区", "滨城区"))
    assert by_name.status_code == 201, by_name.text
    assert by_name.json()["key"] == BINCHENG
    by_old_code = await create(notifications, body("county", "371624", "沾化区"), ZHANHUA_CLERK)
    assert by_old_code.status_code == 201, by_old_code.text
    assert by_old_code.json()["key"] == ZHANHUA
    again = await create(notifications, body("county", BINCHENG, "滨城区"))
    assert again.status_code == 409, again.text
    assert await listed(notifications) == {f"county:{BINCHENG}", f"county:{ZHANHUA}"}


async def test_the_command_office_is_the_commander_key(notifications: NotificationsApp) -> None:
    answer = await create(notifications, body("commander", "指挥部"))
    assert answer.status_code == 409, answer.text
    assert fields(answer) == {"key"}
    assert await listed(notifications) == set()


async def test_a_duplicate_recipient_is_409(notifications: NotificationsApp) -> None:
    first = await create(notifications, body("department", LAND, LAND))
    assert first.status_code == 201, first.text
    again = await create(notifications, body("department", LAND, "另一个名字"))
    assert again.status_code == 409, again.text
    assert fields(again) == {"key"}
    own = await create(notifications, body("county", BINCHENG), BINCHENG_CLERK)
    assert own.status_code == 201, own.text
    twice = await create(notifications, body("county", BINCHENG), BINCHENG_CLERK)
    assert twice.status_code == 409, twice.text
    answer = await notifications.client.get("/v1/recipients", headers=COMMANDER)
    assert answer.json()["total"] == 2
    land = [r for r in answer.json()["items"] if r["key"] == LAND]
    assert [r["name"] for r in land] == [LAND]  # the first stands


async def test_a_robot_url_that_is_not_http_is_422(notifications: NotificationsApp) -> None:
    for url in ("ftp://oapi.dingtalk.com/robot/send?access_token=x", "oapi.dingtalk.com/robot", ""):
        answer = await create(
            notifications,
            body("department", LAND, LAND, channels=[{"type": "dingtalk", "url": url}]),
        )
        assert answer.status_code == 422, (url, answer.text)
        assert fields(answer) == {"channels.0.url"}
    assert await listed(notifications) == set()


async def test_a_robot_url_carrying_a_password_is_409(notifications: NotificationsApp) -> None:
    answer = await create(
        notifications,
        body(
            "department",
            LAND,
            LAND,
            channels=[
                {"type": "wecom", "url": WECOM},
                {"type": "dingtalk", "url": "https://user:pw@oapi.dingtalk.com/robot/send"},
            ],
        ),
    )
    assert answer.status_code == 409, answer.text
    assert fields(answer) == {"channels[1].url"}
    assert await listed(notifications) == set()


async def test_a_wecom_robot_with_a_secret_is_409(notifications: NotificationsApp) -> None:
    answer = await create(
        notifications,
        body("department", LAND, LAND, channels=[{"type": "wecom", "url": WECOM, "secret": "x"}]),
    )
    assert answer.status_code == 409, answer.text
    assert "WeCom" in answer.json()["detail"]
    assert await listed(notifications) == set()


async def test_other_bad_bodies_are_422(notifications: NotificationsApp) -> None:
    for data, field in (
        (body("mayor", "x"), "kind"),
        (body("department", "   "), "key"),
        (body("department", "局" * 201), "key"),
        ({"kind": "department", "key": LAND}, "name"),
        (body("department", LAND, "x\x00y"), "name"),
        (body("department", LAND, colour="red"), "colour"),
        (
            body("department", LAND, channels=[{"type": "feishu", "url": DINGTALK}]),
            "channels.0.type",
        ),
        (
            body("department", LAND, channels=[{"type": "dingtalk", "url": DINGTALK}] * 11),
            "channels",
        ),
        (
            body(
                "department",
                LAND,
                channels=[{"type": "dingtalk", "url": DINGTALK, "secret": "a b"}],
            ),
            "channels.0.secret",
        ),
    ):
        answer = await create(notifications, data)
        assert answer.status_code == 422, (data, answer.text)
        assert field in fields(answer), answer.text
    assert await listed(notifications) == set()


# ---------------------------------------------------------------- reading
async def test_the_list_is_scoped(notifications: NotificationsApp) -> None:
    for data in (
        body("county", BINCHENG),
        body("county", ZHANHUA),
        body("department", LAND, LAND),
        body("department", "市水利局", "市水利局"),
        body("commander", "commander"),
    ):
        assert (await create(notifications, data)).status_code == 201
    every = {
        f"county:{BINCHENG}",
        f"county:{ZHANHUA}",
        f"department:{LAND}",
        "department:市水利局",
        "commander:commander",
    }
    assert await listed(notifications) == every
    assert await listed(notifications, VIEWER) == every
    assert await listed(notifications, BINCHENG_CLERK) == {f"county:{BINCHENG}"}
    assert await listed(notifications, ZHANHUA_CLERK) == {f"county:{ZHANHUA}"}
    assert await listed(notifications, LAND_DEPT) == {f"department:{LAND}"}
    assert await listed(notifications, token("county", county="371621")) == set()

    answer = await notifications.client.get(
        "/v1/recipients", headers=COMMANDER, params={"kind": "department", "limit": 1}
    )
    page = answer.json()
    assert page["total"] == 2 and len(page["items"]) == 1
    bad = await notifications.client.get(
        "/v1/recipients", headers=COMMANDER, params={"kind": "mayor"}
    )
    assert bad.status_code == 422, bad.text


async def test_get_one_is_scoped_with_its_etag(notifications: NotificationsApp) -> None:
    made = (await create(notifications, body("county", BINCHENG, "滨城区"))).json()
    path = f"/v1/recipients/{made['id']}"
    for headers in (COMMANDER, VIEWER, BINCHENG_CLERK):
        answer = await notifications.client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"] == '"1"'
        assert answer.json() == made
    for headers in (ZHANHUA_CLERK, LAND_DEPT):
        answer = await notifications.client.get(path, headers=headers)
        assert answer.status_code == 404, answer.text
    missing = await notifications.client.get(
        "/v1/recipients/00000000-0000-0000-0000-000000000000", headers=COMMANDER
    )
    assert missing.status_code == 404, missing.text


async def test_robot_tokens_are_masked_and_secrets_never_answered(
    notifications: NotificationsApp,
) -> None:
    answer = await create(
        notifications,
        body(
            "department",
            LAND,
            LAND,
            channels=[
                {"type": "dingtalk", "url": DINGTALK, "secret": SECRET},
                {"type": "wecom", "url": WECOM},
            ],
        ),
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    read = (await notifications.client.get(f"/v1/recipients/{made['id']}", headers=VIEWER)).json()
    listed_page = (await notifications.client.get("/v1/recipients", headers=LAND_DEPT)).json()
    for shown in (made, read, listed_page["items"][0]):
        dingtalk, wecom = shown["channels"]
        assert dingtalk["url"] == "https://oapi.dingtalk.com/robot/send?access_token=***"
        assert dingtalk["has_secret"] is True
        assert wecom["url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
        assert wecom["has_secret"] is False
        assert set(dingtalk) == {"id", "type", "url", "has_secret"}
        text = str(shown)
        assert "0123456789abcdef" not in text and SECRET not in text and "693a91f6" not in text


# ---------------------------------------------------------------- changing
async def test_patch_takes_if_match(notifications: NotificationsApp) -> None:
    made = (await create(notifications, body("department", LAND, "旧名"))).json()
    path = f"/v1/recipients/{made['id']}"
    client = notifications.client

    missing = await client.patch(path, json={"name": "新名"}, headers=COMMANDER)
    assert missing.status_code == 428, missing.text
    stale = await client.patch(
        path, json={"name": "新名"}, headers={**COMMANDER, "If-Match": '"7"'}
    )
    assert stale.status_code == 412, stale.text
    garbled = await client.patch(
        path, json={"name": "新名"}, headers={**COMMANDER, "If-Match": "v1"}
    )
    assert garbled.status_code == 422, garbled.text
    assert (await client.get(path, headers=COMMANDER)).json()["name"] == "旧名"

    answer = await client.patch(
        path,
        json={"name": "新名", "channels": [{"type": "wecom", "url": WECOM}]},
        headers={**COMMANDER, "If-Match": '"1"'},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"2"'
    changed = answer.json()
    assert changed["name"] == "新名" and changed["version"] == 2
    assert [c["type"] for c in changed["channels"]] == ["wecom"]
    again = await client.patch(
        path, json={"name": "再改"}, headers={**COMMANDER, "If-Match": '"1"'}
    )
    assert again.status_code == 412, again.text
    read = await client.get(path, headers=COMMANDER)
    assert read.headers["etag"] == '"2"' and read.json()["name"] == "新名"


async def test_patch_is_scoped(notifications: NotificationsApp) -> None:
    bincheng = (await create(notifications, body("county", BINCHENG, "滨城区"))).json()
    land = (await create(notifications, body("department", LAND, LAND))).json()
    client = notifications.client

    def at(version: int, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "If-Match": f'"{version}"'}

    own = await client.patch(
        f"/v1/recipients/{bincheng['id']}",
        json={"name": "滨城区指挥部"},
        headers=at(1, BINCHENG_CLERK),
    )
    assert own.status_code == 200, own.text
    for path, headers, status in (
        (f"/v1/recipients/{bincheng['id']}", ZHANHUA_CLERK, 404),
        (f"/v1/recipients/{bincheng['id']}", LAND_DEPT, 404),
        (f"/v1/recipients/{bincheng['id']}", VIEWER, 403),
        (f"/v1/recipients/{land['id']}", LAND_DEPT, 403),
        (f"/v1/recipients/{land['id']}", BINCHENG_CLERK, 404),
    ):
        answer = await client.patch(path, json={"name": "改"}, headers=at(1, headers))
        assert answer.status_code == status, (headers, answer.text)
    names = {
        r["key"]: (r["name"], r["version"])
        for r in (await client.get("/v1/recipients", headers=COMMANDER)).json()["items"]
    }
    assert names == {BINCHENG: ("滨城区指挥部", 2), LAND: (LAND, 1)}


async def test_a_refused_patch_changes_nothing(notifications: NotificationsApp) -> None:
    made = (
        await create(
            notifications,
            body("department", LAND, LAND, channels=[{"type": "dingtalk", "url": DINGTALK}]),
        )
    ).json()
    path = f"/v1/recipients/{made['id']}"
    at_one = {**COMMANDER, "If-Match": '"1"'}
    for data, status in (
        ({"channels": [{"type": "wecom", "url": WECOM, "secret": "x"}]}, 409),
        ({"channels": [{"type": "wecom", "url": "ftp://x.example.com/y"}]}, 422),
        ({"name": ""}, 422),
        ({"kind": "county"}, 422),
    ):
        answer = await notifications.client.patch(path, json=data, headers=at_one)
        assert answer.status_code == status, (data, answer.text)
    read = await notifications.client.get(path, headers=COMMANDER)
    assert read.headers["etag"] == '"1"'
    assert read.json() == made


async def test_two_creates_at_once_make_one(notifications: NotificationsApp) -> None:
    answers = await asyncio.gather(
        *(create(notifications, body("department", LAND, f"第{i}个")) for i in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert await listed(notifications) == {f"department:{LAND}"}
