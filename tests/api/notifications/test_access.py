"""Access across the notifications API: every route but the catalogue wants a token; the rules
are read by every role and replaced by the command office only; the AsyncAPI catalogue is
public. (The inbox, recipients and subscriptions have their own files.)"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.notifications.conftest import NotificationsApp
from tests.conftest import COMMANDER, VIEWER, token
from tests.support.upstream import BINCHENG

BINCHENG_CLERK = token("county", county=BINCHENG)
LAND_DEPT = token("department", department="市自然资源和规划局")
EVERY_ROLE = {
    "commander": COMMANDER,
    "county": BINCHENG_CLERK,
    "department": LAND_DEPT,
    "viewer": VIEWER,
}
PUBLIC = {"/v1/asyncapi.json"}


@pytest.fixture(autouse=True)
def _no_server_errors(notifications: NotificationsApp) -> None:
    async def check(response: httpx.Response) -> None:
        await response.aread()
        assert response.status_code < 500, response.text

    notifications.client.event_hooks["response"].append(check)


async def test_every_route_but_the_catalogue_wants_a_token(notifications: NotificationsApp) -> None:
    spec = (await notifications.client.get("/openapi.json")).json()
    tried = 0
    for template, operations in spec["paths"].items():
        if not template.startswith("/v1/") or template in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", template)
        for method in operations:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            answer = await notifications.client.request(method.upper(), path, json={})
            assert answer.status_code == 401, (method, template, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            tried += 1
    assert tried >= 15
    forged = {"Authorization": "Bearer not-a-token"}
    answer = await notifications.client.get("/v1/notifications", headers=forged)
    assert answer.status_code == 401, answer.text


async def test_an_unknown_path_is_a_problem(notifications: NotificationsApp) -> None:
    answer = await notifications.client.get("/v1/notification", headers=COMMANDER)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    wrong = await notifications.client.put("/v1/notifications/read-all", headers=COMMANDER)
    assert wrong.status_code == 405, wrong.text
    assert "POST" in wrong.headers["allow"]


# ---------------------------------------------------------------- rules
async def rules(app: NotificationsApp, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    answer = await app.client.get("/v1/rules", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.headers["etag"], answer.json()


async def test_every_role_reads_the_rules(notifications: NotificationsApp) -> None:
    seen = {role: await rules(notifications, headers) for role, headers in EVERY_ROLE.items()}
    etag, first = seen["commander"]
    assert etag == '"0"'
    assert first["version"] == 0 and first["created_by"] is None
    assert "issue-assigned" in {r["id"] for r in first["rules"]}
    assert all(s == (etag, first) for s in seen.values())


async def test_only_the_commander_replaces_the_rules(notifications: NotificationsApp) -> None:
    _, current = await rules(notifications, COMMANDER)
    fewer = {"rules": [r for r in current["rules"] if r["id"] != "factor-released"]}
    for role in ("county", "department", "viewer"):
        answer = await notifications.client.put(
            "/v1/rules", json=fewer, headers={**EVERY_ROLE[role], "If-Match": '"0"'}
        )
        assert answer.status_code == 403, (role, answer.text)
        assert "command office" in answer.json()["detail"]
    assert await rules(notifications, COMMANDER) == ('"0"', current)  # nothing was replaced

    answer = await notifications.client.put(
        "/v1/rules", json=fewer, headers={**COMMANDER, "If-Match": '"0"'}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"1"'
    replaced = answer.json()
    assert replaced["version"] == 1 and replaced["created_by"]
    for headers in EVERY_ROLE.values():
        etag, read = await rules(notifications, headers)
        assert etag == '"1"'
        assert [r["id"] for r in read["rules"]] == [r["id"] for r in fewer["rules"]]

    county = await notifications.client.put(
        "/v1/rules", json={"rules": current["rules"]}, headers={**BINCHENG_CLERK, "If-Match": '"1"'}
    )
    assert county.status_code == 403, county.text
    assert (await rules(notifications, VIEWER))[0] == '"1"'


async def test_replacing_the_rules_takes_if_match(notifications: NotificationsApp) -> None:
    _, current = await rules(notifications, COMMANDER)
    body = {"rules": current["rules"]}
    missing = await notifications.client.put("/v1/rules", json=body, headers=COMMANDER)
    assert missing.status_code == 428, missing.text
    stale = await notifications.client.put(
        "/v1/rules", json=body, headers={**COMMANDER, "If-Match": '"3"'}
    )
    assert stale.status_code == 412, stale.text
    assert (await rules(notifications, COMMANDER))[0] == '"0"'


# ---------------------------------------------------------------- the catalogue
async def test_the_asyncapi_document_is_public(notifications: NotificationsApp) -> None:
    answer = await notifications.client.get("/v1/asyncapi.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    assert document["asyncapi"] == "3.0.0"
    text = answer.text
    for event_type in ("kuaiche.issue.assigned.v1", "kuaiche.ranking.published.v1"):
        assert event_type in text
    assert document["channels"] and document["operations"]
    with_token = await notifications.client.get("/v1/asyncapi.json", headers=VIEWER)
    assert with_token.json() == document
