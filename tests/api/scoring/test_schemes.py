"""The assessment method 考核办法 is versioned data: the command office sets it with
`PUT /v1/schemes/{version}`, validated, and it applies from its `effective_from` period on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    assert_problem,
    body_of,
    card,
    county_token,
    department_token,
    per_item,
    publish,
    put_scheme,
    ratio,
    scheme_body,
    stored_versions,
)
from tests.conftest import COMMANDER, VIEWER
from tests.support.upstream import BINCHENG

D = dt.date


async def test_a_scheme_is_created_then_replaced(scoring: ScoringApp) -> None:
    r = await put_scheme(scoring, "2020.v1", scheme_body())
    assert r.status_code == 201, r.text
    assert (r.headers["Location"], r.headers["ETag"]) == ("/v1/schemes/2020.v1", '"1"')
    created = r.json()
    assert created["version"] == "2020.v1"
    assert (created["builtin"], created["max_score"]) == (False, "100.00")
    assert created["set_by"] and created["set_at"]
    assert created["tie_break"] == "new_starts_ytd"

    r = await put_scheme(scoring, "2020.v1", scheme_body(name="2020年考核办法（修订）"))
    assert r.status_code == 200, r.text
    assert (r.headers["ETag"], "Location" in r.headers) == ('"2"', False)
    assert r.json()["name"] == "2020年考核办法（修订）"
    got = await scoring.client.get("/v1/schemes/2020.v1", headers=COMMANDER)
    assert got.status_code == 200, got.text
    assert got.headers["ETag"] == '"2"'
    assert got.json() == r.json()
    assert await stored_versions(scoring) == ["default", "2020.v1"]


async def test_the_list_has_the_builtin_default_and_the_stored_schemes(
    scoring: ScoringApp,
) -> None:
    assert (await put_scheme(scoring, "b-2021", scheme_body("2021-01"))).status_code == 201
    assert (await put_scheme(scoring, "a-2020", scheme_body("2020-01"))).status_code == 201
    r = await scoring.client.get("/v1/schemes", headers=VIEWER)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(s["version"], s["builtin"]) for s in items] == [
        ("default", True),
        ("a-2020", False),
        ("b-2021", False),
    ]
    default = items[0]
    assert default["max_score"] == "100.00"
    assert default["tie_break"] == "investment"
    assert default["reward_tiers"] == [{"name": "先进", "max_rank": 3}]
    formulas = {i["formula"]["type"] for i in default["indicators"]}
    assert formulas == {"ratio_points", "bands", "per_item", "rank_bands", "deduction"}
    got = await scoring.client.get("/v1/schemes/default", headers=VIEWER)
    assert got.status_code == 200, got.text
    assert got.headers["ETag"] == '"1"'
    assert got.json() == default
    assert_problem(await scoring.client.get("/v1/schemes/nope", headers=VIEWER), 404, "nope")


def _invalid_bodies() -> dict[str, tuple[dict[str, Any], str]]:
    """Bodies their published schema refuses (422)."""
    return {
        "ratio_points on a count": (
            scheme_body(indicators=[ratio("new_starts_ytd", "10")], tie_break="new_starts_ytd"),
            "ratio_points needs a rate metric",
        ),
        "per_item on a rate": (
            scheme_body(indicators=[per_item("start_rate", "1", "5")], tie_break="start_rate"),
            "per_item needs a count metric",
        ),
        "unknown metric": (
            scheme_body(indicators=[ratio("happiness", "10")], tie_break="happiness"),
            "unknown metric 'happiness'",
        ),
        "bad effective_from": (scheme_body(effective_from="2020-13"), "effective_from"),
        "no indicators": (scheme_body(indicators=[]), "indicators"),
        "unknown field": (scheme_body(weights={"starts": 1}), "weights"),
        "tie_break not a key": (scheme_body(tie_break="Not A Key"), "tie_break"),
        "NUL in the name": (scheme_body(name="办法\x00"), "name"),
    }


def _rule_breaking_bodies() -> dict[str, tuple[dict[str, Any], str, str]]:
    """Bodies that match the schema but break a rule across fields or items (409): the body,
    the field at fault and the reason."""
    return {
        "tie_break not an indicator": (
            scheme_body(tie_break="investment"),
            "tie_break",
            "tie_break 'investment' is not one of the indicators",
        ),
        "duplicate keys": (
            scheme_body(
                indicators=[
                    ratio("start_rate", "30", key="starts"),
                    ratio("schedule_rate", "30", key="starts"),
                ],
                tie_break="starts",
            ),
            "indicators",
            "indicator keys must be unique",
        ),
        "tiers out of order": (
            scheme_body(
                reward_tiers=[{"name": "二等", "max_rank": 3}, {"name": "一等", "max_rank": 1}]
            ),
            "reward_tiers",
            "reward tiers go by strictly increasing max_rank",
        ),
        "rank bands out of order": (
            scheme_body(
                indicators=[
                    {
                        "key": "service",
                        "name": "服务推进",
                        "metric": "new_starts_ytd",
                        "formula": {
                            "type": "rank_bands",
                            "bands": [
                                {"max_rank": 6, "points": "5"},
                                {"max_rank": 3, "points": "7"},
                            ],
                        },
                    }
                ],
                tie_break="service",
            ),
            "indicators.0.formula.rank_bands",
            "rank bands go by strictly increasing max_rank",
        ),
    }


@pytest.mark.parametrize("case", list(_invalid_bodies()))
async def test_a_scheme_its_schema_refuses_is_422_and_nothing_is_stored(
    scoring: ScoringApp, case: str
) -> None:
    body, why = _invalid_bodies()[case]
    problem = assert_problem(await put_scheme(scoring, "v1", body), 422, why)
    assert problem["errors"], problem
    assert await stored_versions(scoring) == ["default"]
    assert_problem(await scoring.client.get("/v1/schemes/v1", headers=COMMANDER), 404)


@pytest.mark.parametrize("case", list(_rule_breaking_bodies()))
async def test_a_scheme_breaking_a_rule_is_409_naming_the_field_and_nothing_is_stored(
    scoring: ScoringApp, case: str
) -> None:
    body, field, why = _rule_breaking_bodies()[case]
    problem = assert_problem(await put_scheme(scoring, "v1", body), 409, why)
    assert [e["field"] for e in problem["errors"]] == [field], problem
    assert why in problem["errors"][0]["message"], problem
    assert await stored_versions(scoring) == ["default"]
    assert_problem(await scoring.client.get("/v1/schemes/v1", headers=COMMANDER), 404)


async def test_a_rule_and_a_schema_error_together_are_422(scoring: ScoringApp) -> None:
    body = scheme_body(name="", tie_break="investment")
    problem = assert_problem(await put_scheme(scoring, "v1", body), 422)
    assert {e["field"] for e in problem["errors"]} == {"name", "tie_break"}, problem
    assert await stored_versions(scoring) == ["default"]


async def test_an_invalid_replacement_leaves_the_stored_scheme_as_it_was(
    scoring: ScoringApp,
) -> None:
    assert (await put_scheme(scoring, "v1", scheme_body())).status_code == 201
    bad = scheme_body(name="坏的", tie_break="nothing")
    assert_problem(await put_scheme(scoring, "v1", bad), 409, "tie_break")
    got = body_of(await scoring.client.get("/v1/schemes/v1", headers=COMMANDER))
    assert got["name"] == "2020年重点项目考核办法"


async def test_the_default_scheme_cannot_be_replaced(scoring: ScoringApp) -> None:
    assert_problem(await put_scheme(scoring, "default", scheme_body()), 409, "default")
    assert await stored_versions(scoring) == ["default"]


@pytest.mark.parametrize("version", ["bad version", "-leading-dash", "v" * 41, "版本一"])
async def test_a_bad_version_is_422(scoring: ScoringApp, version: str) -> None:
    body = assert_problem(await put_scheme(scoring, version, scheme_body()), 422)
    assert [e["field"] for e in body["errors"]] == ["version"]
    assert await stored_versions(scoring) == ["default"]


@pytest.mark.parametrize("who", ["viewer", "county", "department"])
async def test_only_the_command_office_sets_a_scheme(scoring: ScoringApp, who: str) -> None:
    headers = {
        "viewer": VIEWER,
        "county": county_token(BINCHENG),
        "department": department_token(),
    }[who]
    assert_problem(await put_scheme(scoring, "v1", scheme_body(), headers), 403)
    assert await stored_versions(scoring) == ["default"]


async def test_a_scheme_applies_from_its_effective_period_on(scoring: ScoringApp) -> None:
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=D(2020, 3, 1))
    await up.start(pid, D(2020, 3, 10))
    await scoring.settled()
    assert (await put_scheme(scoring, "from-2020-02", scheme_body("2020-02"))).status_code == 201
    may_on = scheme_body("2020-05", indicators=[per_item("new_starts_ytd", "30", "60")])
    assert (await put_scheme(scoring, "from-2020-05", may_on)).status_code == 201

    january = await card(scoring, BINCHENG, month=1)
    assert (january["scheme_version"], january["total"]) == ("default", "7.00")
    april = await card(scoring, BINCHENG, month=4)
    assert (april["scheme_version"], april["total"]) == ("from-2020-02", "60.00")  # 10 + 50
    june = await card(scoring, BINCHENG, month=6)
    assert (june["scheme_version"], june["total"]) == ("from-2020-05", "30.00")
    listed = await scoring.client.get(
        "/v1/scorecards", params={"year": 2020, "month": 6}, headers=COMMANDER
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["scheme_version"] == "from-2020-05"


async def test_a_scheme_a_publication_used_is_frozen(scoring: ScoringApp) -> None:
    assert (await put_scheme(scoring, "v2020", scheme_body())).status_code == 201
    r = await publish(scoring)
    assert r.status_code == 201, r.text
    assert r.json()["scheme_version"] == "v2020"

    changed = scheme_body(name="改过的办法")
    assert_problem(await put_scheme(scoring, "v2020", changed), 409, "v2020")
    got = body_of(await scoring.client.get("/v1/schemes/v2020", headers=COMMANDER))
    assert got["name"] == "2020年重点项目考核办法"
    # A new version is how the method changes.
    assert (await put_scheme(scoring, "v2020b", changed)).status_code == 201
