"""Who sees which scores: the command office everything; a viewer reads everything and changes
nothing; a county its own card and exposure items and the published rankings (the live ranking
of all divisions is 403 until published); a department the published rankings; no token 401."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    DIVISIONS,
    assert_problem,
    body_of,
    card,
    cards,
    county_token,
    department_token,
    exposure,
    publish,
    published,
    put_scheme,
    scheme_body,
)
from tests.conftest import COMMANDER, VIEWER
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA

D = dt.date
APRIL: dict[str, str | int] = {"year": 2020, "month": 4}


async def _two_counties_unstarted(scoring: ScoringApp) -> dict[str, str]:
    up = scoring.upstream
    ids = {
        BINCHENG: await up.register(BINCHENG, planned_start=D(2020, 2, 1)),
        BOXING: await up.register(BOXING, planned_start=D(2020, 2, 1)),
    }
    await scoring.settled()
    return ids


async def test_a_county_sees_its_own_card_and_not_anothers(scoring: ScoringApp) -> None:
    own = county_token(BINCHENG)
    assert (await card(scoring, BINCHENG, headers=own))["county"] == BINCHENG
    for other in (BOXING, "371624", "博兴县"):
        r = await scoring.client.get(f"/v1/scorecards/{other}", params=APRIL, headers=own)
        assert_problem(r, 403)


async def test_a_county_lists_only_its_own_card_with_its_rank_among_all(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    pid = await up.register(BOXING, planned_start=D(2020, 4, 1))
    await up.start(pid, D(2020, 4, 3))
    await scoring.settled()
    body = await cards(scoring, headers=county_token(ZHANHUA))
    assert [c["county"] for c in body["items"]] == [ZHANHUA]
    assert body["items"][0]["rank"] == 2  # behind Boxing, among all ten
    assert body["items"][0] == await card(scoring, ZHANHUA)


async def test_a_county_sees_only_its_own_exposure_items(scoring: ScoringApp) -> None:
    ids = await _two_counties_unstarted(scoring)
    items = await exposure(scoring, "unstarted", headers=county_token(BOXING))
    assert [(i["county"], i["project_id"]) for i in items] == [(BOXING, ids[BOXING])]
    assert len(await exposure(scoring, "unstarted")) == 2


async def test_a_county_does_not_see_the_live_ranking(scoring: ScoringApp) -> None:
    r = await scoring.client.get("/v1/rankings", params=APRIL, headers=county_token(BINCHENG))
    assert_problem(r, 403)


async def test_counties_and_departments_read_the_published_rankings(
    scoring: ScoringApp,
) -> None:
    await _two_counties_unstarted(scoring)
    pub = await published(scoring)
    for headers in (county_token(BINCHENG), department_token(), VIEWER):
        listed = await scoring.client.get("/v1/publications", headers=headers)
        assert listed.status_code == 200, listed.text
        assert [p["id"] for p in listed.json()["items"]] == [pub["id"]]
        got = await scoring.client.get(f"/v1/publications/{pub['id']}", headers=headers)
        assert got.status_code == 200, got.text
        assert got.json()["ranking"] == pub["ranking"]


async def test_a_publication_shows_a_county_its_own_card_and_items_and_a_department_the_ranking(
    scoring: ScoringApp,
) -> None:
    await _two_counties_unstarted(scoring)
    pub = await published(scoring)
    assert len(pub["scorecards"]) == len(DIVISIONS)
    assert {e["county"] for e in pub["exposure"]["unstarted"]} == {BINCHENG, BOXING}

    mine = body_of(
        await scoring.client.get(f"/v1/publications/{pub['id']}", headers=county_token(BINCHENG))
    )
    assert [c["county"] for c in mine["scorecards"]] == [BINCHENG]
    assert {e["county"] for e in mine["exposure"]["unstarted"]} == {BINCHENG}
    assert mine["ranking"] == pub["ranking"]

    dept = body_of(
        await scoring.client.get(f"/v1/publications/{pub['id']}", headers=department_token())
    )
    assert dept["scorecards"] == []
    assert all(items == [] for items in dept["exposure"].values())
    assert dept["ranking"] == pub["ranking"]


async def test_a_department_does_not_see_scorecards_rankings_or_exposure(
    scoring: ScoringApp,
) -> None:
    dept = department_token()
    for path, params in (
        ("/v1/scorecards", APRIL),
        (f"/v1/scorecards/{BINCHENG}", APRIL),
        ("/v1/rankings", APRIL),
        ("/v1/exposure", {**APRIL, "kind": "overdue"}),
    ):
        assert_problem(await scoring.client.get(path, params=params, headers=dept), 403)


async def test_a_viewer_reads_everything(scoring: ScoringApp) -> None:
    ids = await _two_counties_unstarted(scoring)
    assert len((await cards(scoring, headers=VIEWER))["items"]) == len(DIVISIONS)
    assert (await card(scoring, BOXING, headers=VIEWER))["county"] == BOXING
    r = await scoring.client.get("/v1/rankings", params=APRIL, headers=VIEWER)
    assert r.status_code == 200 and len(r.json()["items"]) == 10
    items = await exposure(scoring, "unstarted", headers=VIEWER)
    assert {i["project_id"] for i in items} == set(ids.values())
    assert (await scoring.client.get("/v1/schemes", headers=VIEWER)).status_code == 200


async def test_a_viewer_changes_nothing(scoring: ScoringApp) -> None:
    assert_problem(await put_scheme(scoring, "v1", scheme_body(), VIEWER), 403)
    assert_problem(await publish(scoring, headers=VIEWER), 403)
    assert_problem(await scoring.client.post("/v1/admin/rebuild", headers=VIEWER), 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/scorecards?year=2020&month=4"),
        ("GET", f"/v1/scorecards/{BINCHENG}?year=2020&month=4"),
        ("GET", "/v1/rankings?year=2020&month=4"),
        ("GET", "/v1/exposure?kind=unstarted&year=2020&month=4"),
        ("GET", "/v1/schemes"),
        ("PUT", "/v1/schemes/v1"),
        ("GET", "/v1/publications"),
        ("POST", "/v1/publications"),
        ("GET", "/v1/admin/epochs"),
        ("POST", "/v1/admin/rebuild"),
    ],
)
async def test_no_token_is_401(scoring: ScoringApp, method: str, path: str) -> None:
    body = scheme_body() if method == "PUT" else APRIL if method == "POST" else None
    r = await scoring.client.request(method, path, json=body)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


async def test_a_bad_token_is_401(scoring: ScoringApp) -> None:
    r = await scoring.client.get(
        "/v1/scorecards", params=APRIL, headers={"Authorization": "Bearer not-a-jwt"}
    )
    assert_problem(r, 401)


async def test_only_the_command_office_sees_the_epochs(scoring: ScoringApp) -> None:
    for headers in (VIEWER, county_token(BINCHENG), department_token()):
        assert_problem(await scoring.client.get("/v1/admin/epochs", headers=headers), 403)
    assert (await scoring.client.get("/v1/admin/epochs", headers=COMMANDER)).status_code == 200
