"""The project list pages by key as well as by offset: walking `next` from the first page returns
every project the filters match exactly once, in the list's order (oldest first, the id breaking
ties), on SQLite and on PostgreSQL; a county walks only its own division; a malformed cursor is
422 (it breaks its schema), a cursor with an offset 409; the count stops at a cap and says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.registry import queries
from shared.bus.inprocess import InProcessBus
from tests.api.registry.helpers import (
    BINCHENG,
    ZOUPING,
    county_token,
    create_project,
    error_fields,
    problem,
    unique_name,
)
from tests.conftest import (
    COMMANDER,
    RunningService,
    create_database,
    make_settings,
    start_service,
)


@pytest.fixture
async def pg_registry(tmp_path: Path, postgres_server: str) -> AsyncIterator[RunningService]:
    """The registry on PostgreSQL (its own fresh database, migrated) with the in-process bus."""
    from services.registry.main import SERVICE

    url = await create_database(postgres_server)
    app, lifespan = await start_service(
        SERVICE, make_settings("registry", url, tmp_path), InProcessBus()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_registry(request: pytest.FixtureRequest) -> RunningService:
    name = "registry" if request.param == "sqlite" else "pg_registry"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


async def _library(registry: RunningService, tag: str) -> list[dict[str, Any]]:
    """Seven tagged projects in two divisions, stages mixed, and one untagged."""
    made = []
    for i in range(7):
        made.append(
            await create_project(
                registry,
                county=BINCHENG if i % 3 else ZOUPING,
                stage="reserve" if i % 2 else "planning",
                tags=[tag, f"其他{i}"],
            )
        )
    await create_project(registry, tags=[])
    return made


def _in_order(projects: list[dict[str, Any]]) -> list[str]:
    return [p["id"] for p in sorted(projects, key=lambda p: (p["created_at"], p["id"]))]


async def _walk(
    registry: RunningService, params: dict[str, Any], headers: dict[str, str] = COMMANDER
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page from the first by `next`: the ids in the order met, and each page's body."""
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await registry.client.get("/v1/projects", params=query, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        seen += [p["id"] for p in body["items"]]
        cursor = body.get("next")
        if cursor is None:
            return seen, pages
        assert len(pages) <= 20, "the walk does not end"


async def test_walking_next_returns_every_project_once_in_order(any_registry) -> None:
    tag = unique_name("名单")
    made = await _library(any_registry, tag)
    seen, pages = await _walk(any_registry, {"tag": tag, "limit": 2})
    assert seen == _in_order(made)
    assert [len(p["items"]) for p in pages] == [2, 2, 2, 1]
    assert all(p["total"] == 7 and "total_exact" not in p for p in pages)
    assert "next" not in pages[-1]
    # the offset pages are the same pages
    for number, page in enumerate(pages):
        r = await any_registry.client.get(
            "/v1/projects",
            params={"tag": tag, "limit": 2, "offset": 2 * number},
            headers=COMMANDER,
        )
        assert r.json()["items"] == page["items"]


async def test_filters_and_a_countys_scope_hold_on_every_page(any_registry) -> None:
    tag = unique_name("名单")
    made = await _library(any_registry, tag)
    reserve = [p for p in made if p["stage"] == "reserve"]
    seen, _ = await _walk(any_registry, {"tag": tag, "stage": "reserve", "limit": 1})
    assert seen == _in_order(reserve)

    own = [p for p in made if p["county"] == BINCHENG]
    seen, pages = await _walk(any_registry, {"tag": tag, "limit": 2}, county_token(BINCHENG))
    assert seen == _in_order(own)
    assert pages[0]["total"] == len(own)
    # another county's division, asked for by name: nothing, as the offset list answers it
    r = await any_registry.client.get(
        "/v1/projects",
        params={"tag": tag, "county": ZOUPING, "cursor": pages[0]["next"]},
        headers=county_token(BINCHENG),
    )
    assert r.json() == {"items": [], "total": 0}


async def test_a_cursor_past_the_end_is_an_empty_last_page(registry) -> None:
    tag = unique_name("名单")
    await _library(registry, tag)
    r = await registry.client.get(
        "/v1/projects",
        params={"tag": tag, "cursor": "9999999999999999.zzzz"},
        headers=COMMANDER,
    )
    assert r.status_code == 200
    assert r.json() == {"items": [], "total": 7}


async def test_a_cursor_starts_the_page_after_its_project(registry) -> None:
    """The cursor is a position, not a page number: a project registered meanwhile behind the
    position does not shift the next page, as it would with offsets."""
    tag = unique_name("名单")
    made = await _library(registry, tag)
    first = (
        await registry.client.get(
            "/v1/projects", params={"tag": tag, "limit": 3}, headers=COMMANDER
        )
    ).json()
    late = await create_project(registry, tags=[tag])
    r = await registry.client.get(
        "/v1/projects", params={"tag": tag, "limit": 3, "cursor": first["next"]}, headers=COMMANDER
    )
    order = _in_order(made)
    assert [p["id"] for p in r.json()["items"]] == order[3:6]
    seen, _ = await _walk(registry, {"tag": tag, "limit": 3})
    assert seen == [*order, late["id"]]


@pytest.mark.parametrize(
    "cursor",
    ["", "abc", "12", "12.", ".abc", "1.a b", "1.a/b", "12345678901234567.a", "1." + "a" * 37],
)
async def test_a_malformed_cursor_is_422(registry, cursor: str) -> None:
    r = await registry.client.get("/v1/projects", params={"cursor": cursor}, headers=COMMANDER)
    assert "cursor" in error_fields(problem(r, 422))


async def test_a_cursor_with_an_offset_is_409_naming_the_offset(registry) -> None:
    tag = unique_name("名单")
    await _library(registry, tag)
    first = (
        await registry.client.get(
            "/v1/projects", params={"tag": tag, "limit": 2}, headers=COMMANDER
        )
    ).json()
    r = await registry.client.get(
        "/v1/projects",
        params={"tag": tag, "cursor": first["next"], "offset": 2},
        headers=COMMANDER,
    )
    assert "offset" in error_fields(problem(r, 409))
    r = await registry.client.get(
        "/v1/projects",
        params={"tag": tag, "cursor": first["next"], "offset": 0},
        headers=COMMANDER,
    )
    assert r.status_code == 200


async def test_past_the_cap_the_total_is_a_lower_bound_and_says_so(
    registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = unique_name("名单")
    await _library(registry, tag)
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    r = await registry.client.get("/v1/projects", params={"tag": tag}, headers=COMMANDER)
    body = r.json()
    assert (len(body["items"]), body["total"], body["total_exact"]) == (7, 5, False)
    monkeypatch.setattr(queries, "COUNT_CAP", 7)
    r = await registry.client.get("/v1/projects", params={"tag": tag}, headers=COMMANDER)
    assert r.json()["total"] == 7 and "total_exact" not in r.json()
