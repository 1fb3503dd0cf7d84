"""Publications 通报: the command office freezes a period's ranking, scorecards and exposure lists
into a snapshot later events never change, and announces it with
`kuaiche.ranking.published.v1`."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.events.catalogue.scoring import RankingPublished
from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    DIVISIONS,
    assert_problem,
    body_of,
    card,
    county_token,
    department_token,
    outbox_events,
    publish,
    published,
    put_scheme,
    scheme_body,
)
from tests.conftest import COMMANDER, VIEWER
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA

D = dt.date


async def _april(scoring: ScoringApp) -> dict[str, str]:
    """Bincheng: one project started, one unstarted (yellow), a problem overdue and open."""
    up = scoring.upstream
    started = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    waiting = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await up.start(started, D(2020, 3, 20))
    problem = await up.report_problem(started, D(2020, 4, 1))
    await up.assign(problem, D(2020, 4, 1), D(2020, 4, 8))
    await up.flag_overdue(problem, D(2020, 4, 9))
    await scoring.settled()
    return {"started": started, "waiting": waiting, "problem": problem}


async def test_publishing_freezes_the_ranking_scorecards_and_exposure_lists(
    scoring: ScoringApp,
) -> None:
    ids = await _april(scoring)
    r = await publish(scoring, note="2020年4月通报")
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/publications/{body['id']}"
    assert r.headers["etag"] == '"1"'  # a publication never changes: always version 1
    assert (body["year"], body["month"], body["scheme_version"]) == (2020, 4, "default")
    assert body["note"] == "2020年4月通报"
    assert body["published_by"]

    live = body_of(
        await scoring.client.get(
            "/v1/rankings", params={"year": 2020, "month": 4}, headers=COMMANDER
        )
    )
    assert body["ranking"] == live["items"]
    assert body["ranking"][0]["county"] == BINCHENG
    assert sorted(c["county"] for c in body["scorecards"]) == sorted(DIVISIONS)
    assert body["scorecards"][0] == await card(scoring, BINCHENG)
    assert sorted(body["exposure"]) == ["lagging", "overdue", "unstarted"]
    assert [i["project_id"] for i in body["exposure"]["unstarted"]] == [ids["waiting"]]
    assert [i["issue_id"] for i in body["exposure"]["overdue"]] == [ids["problem"]]
    assert body["exposure"]["lagging"] == []

    got = await scoring.client.get(f"/v1/publications/{body['id']}", headers=COMMANDER)
    assert got.status_code == 200, got.text
    assert got.headers["etag"] == '"1"'
    assert got.json() == body


async def test_later_events_change_the_live_card_but_not_the_publication(
    scoring: ScoringApp,
) -> None:
    ids = await _april(scoring)
    pub = await published(scoring)
    url = f"/v1/publications/{pub['id']}"
    before = await scoring.client.get(url, headers=COMMANDER)
    live_before = await card(scoring, BINCHENG)

    up = scoring.upstream
    await up.start(ids["waiting"], D(2020, 4, 12))  # a start dated in April, entered late
    await up.resolve(ids["problem"], D(2020, 4, 15), on_time=False)
    await up.close(ids["problem"], D(2020, 4, 16), resolved_on=D(2020, 4, 15), on_time=False)
    await scoring.settled()

    live = await card(scoring, BINCHENG)
    assert live["figures"]["started"] == 2 and live_before["figures"]["started"] == 1
    assert live["figures"]["problems_resolved"] == 1
    assert live["total"] != live_before["total"]
    after = await scoring.client.get(url, headers=COMMANDER)
    assert after.status_code == 200
    assert after.content == before.content
    frozen = after.json()
    assert frozen["scorecards"][0] == live_before
    assert len(frozen["exposure"]["unstarted"]) == 1
    assert len(frozen["exposure"]["overdue"]) == 1


async def test_a_period_is_published_once(scoring: ScoringApp) -> None:
    first = await published(scoring)
    r = await publish(scoring)
    body = assert_problem(r, 409, "2020-04")
    assert body["publication"] == first["id"]
    assert (await published(scoring, month=3))["id"] != first["id"]  # another period is fine
    assert len(await outbox_events(scoring, RankingPublished.TYPE)) == 2


async def test_the_outbox_holds_one_ranking_published_event_with_the_ranking(
    scoring: ScoringApp,
) -> None:
    await _april(scoring)
    pub = await published(scoring)
    await publish(scoring)  # refused: no second event

    events = await outbox_events(scoring, RankingPublished.TYPE)
    assert len(events) == 1
    event = events[0]
    assert (event.type, event.source, event.subject) == (
        "kuaiche.ranking.published.v1",
        "kuaiche/scoring",
        pub["id"],
    )
    data = RankingPublished.model_validate(event.data)
    assert (data.publication_id, data.year, data.month) == (pub["id"], 2020, 4)
    assert data.scheme_version == "default"
    assert [(r.county, r.name, f"{r.score:.2f}", r.rank, r.tier) for r in data.ranking] == [
        (r["county"], r["name"], r["score"], r["rank"], r["tier"]) for r in pub["ranking"]
    ]
    assert data.exposed == {"unstarted": 1, "lagging": 0, "overdue": 1}


async def test_the_event_names_every_exposed_project_with_its_county(
    scoring: ScoringApp,
) -> None:
    """What notifications tells each exposed project's county and leader: the entries of the
    frozen lists, red before yellow, with the project's name; an overdue entry is a problem."""
    up = scoring.upstream
    unstarted_red = await up.register(BINCHENG, planned_start=D(2020, 1, 1), name="滨城未开工红")
    unstarted_yellow = await up.register(ZHANHUA, planned_start=D(2020, 3, 1), name="沾化未开工黄")
    lagging: dict[str, str] = {}
    for ytd, name in (("32", "博兴滞后红"), ("233", "博兴滞后黄")):  # 30.1 / 10.0 points behind
        pid = await up.register(BOXING, planned_start=D(2020, 1, 1), name=name)
        await up.start(pid, D(2020, 1, 10))
        await up.plan(pid, 2020, "1000")
        await up.report(pid, 2020, 4, ytd)
        lagging[name] = pid
    with_problems = await up.register(ZHANHUA, planned_start=D(2020, 2, 1), name="沾化有问题")
    await up.start(with_problems, D(2020, 2, 10))
    problems = []
    for _ in range(2):  # two overdue problems of one project: two entries
        problem = await up.report_problem(with_problems, D(2020, 4, 1))
        await up.assign(problem, D(2020, 4, 1), D(2020, 4, 8))
        await up.flag_overdue(problem, D(2020, 4, 9))
        problems.append(problem)
    await scoring.settled()
    pub = await published(scoring)

    [event] = await outbox_events(scoring, RankingPublished.TYPE)
    data = RankingPublished.model_validate(event.data)
    got = [(e.kind, e.project_id, e.county, e.name, e.issue_id) for e in data.exposed_projects]
    assert got == [
        ("unstarted", unstarted_red, BINCHENG, "滨城未开工红", None),
        ("lagging", lagging["博兴滞后红"], BOXING, "博兴滞后红", None),
        *sorted(("overdue", with_problems, ZHANHUA, "沾化有问题", q) for q in problems),
        ("unstarted", unstarted_yellow, ZHANHUA, "沾化未开工黄", None),
        ("lagging", lagging["博兴滞后黄"], BOXING, "博兴滞后黄", None),
    ]
    frozen = {
        (kind, i["project_id"], i["county"], i["project_name"], i["issue_id"])
        for kind, items in pub["exposure"].items()
        for i in items
    }
    assert set(got) == frozen and len(got) == len(frozen)  # exactly the publication's lists
    assert data.exposed == {"unstarted": 2, "lagging": 2, "overdue": 2}
    assert data.exposed_projects_truncated is False
    assert '"exposed_projects_truncated":false' in event.to_json().decode()


async def test_a_month_with_nothing_exposed_names_no_project(scoring: ScoringApp) -> None:
    pid = await scoring.upstream.register(BOXING, planned_start=D(2020, 4, 1))
    await scoring.upstream.start(pid, D(2020, 4, 2))
    await scoring.settled()
    await published(scoring)
    [event] = await outbox_events(scoring, RankingPublished.TYPE)
    assert (event.data["exposed_projects"], event.data["exposed_projects_truncated"]) == ([], False)


@pytest.mark.parametrize("who", ["viewer", "county", "department"])
async def test_only_the_command_office_publishes(scoring: ScoringApp, who: str) -> None:
    headers = {
        "viewer": VIEWER,
        "county": county_token(BINCHENG),
        "department": department_token(),
    }[who]
    assert_problem(await publish(scoring, headers=headers), 403)
    listed = await scoring.client.get("/v1/publications", headers=COMMANDER)
    assert listed.json() == {"items": [], "total": 0}
    assert await outbox_events(scoring, RankingPublished.TYPE) == []


async def test_an_unknown_publication_is_404(scoring: ScoringApp) -> None:
    r = await scoring.client.get(
        "/v1/publications/00000000-0000-0000-0000-000000000000", headers=COMMANDER
    )
    assert_problem(r, 404)


async def test_publications_are_listed_newest_period_first(scoring: ScoringApp) -> None:
    march = await published(scoring, month=3)
    april = await published(scoring, month=4)
    dec = await published(scoring, 2019, 12)
    r = await scoring.client.get("/v1/publications", headers=COMMANDER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [(p["id"], p["year"], p["month"]) for p in body["items"]] == [
        (april["id"], 2020, 4),
        (march["id"], 2020, 3),
        (dec["id"], 2019, 12),
    ]
    assert all(p["scheme_version"] == "default" for p in body["items"])
    only_2019 = await scoring.client.get(
        "/v1/publications", params={"year": 2019}, headers=COMMANDER
    )
    assert only_2019.status_code == 200, only_2019.text
    assert [p["id"] for p in only_2019.json()["items"]] == [dec["id"]]
    page = await scoring.client.get(
        "/v1/publications", params={"limit": 1, "offset": 1}, headers=COMMANDER
    )
    assert page.status_code == 200, page.text
    assert ([p["id"] for p in page.json()["items"]], page.json()["total"]) == ([march["id"]], 3)


async def test_a_bad_publication_request_is_refused(scoring: ScoringApp) -> None:
    future = assert_problem(await publish(scoring, 2099, 1), 409, "2099-01")
    assert future["errors"] == [{"field": "month", "message": "a future period"}]
    assert_problem(await publish(scoring, 2020, 13), 422, "month")
    assert_problem(await publish(scoring, scheme="nope"), 404, "nope")
    r = await scoring.client.post(
        "/v1/publications", json={"year": 2020, "month": 4, "frozen": True}, headers=COMMANDER
    )
    assert_problem(r, 422, "frozen")
    assert await outbox_events(scoring, RankingPublished.TYPE) == []


async def test_a_retried_publication_with_the_same_idempotency_key_gets_the_first_answer(
    scoring: ScoringApp,
) -> None:
    headers = {**COMMANDER, "Idempotency-Key": "tongbao-2020-04"}
    first = await scoring.client.post(
        "/v1/publications", json={"year": 2020, "month": 4}, headers=headers
    )
    again = await scoring.client.post(
        "/v1/publications", json={"year": 2020, "month": 4}, headers=headers
    )
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert len(await outbox_events(scoring, RankingPublished.TYPE)) == 1


async def test_a_publication_by_a_stored_scheme(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BOXING, planned_start=D(2020, 4, 1))
    await up.start(pid, D(2020, 4, 2))
    await scoring.settled()
    assert (await put_scheme(scoring, "v2021", scheme_body("2021-01"))).status_code == 201
    pub = await published(scoring, scheme="v2021")
    assert pub["scheme_version"] == "v2021"
    assert pub["ranking"][0] == {
        "county": BOXING,
        "name": "博兴县",
        "score": "60.00",
        "rank": 1,
        "tier": "一等",
    }
