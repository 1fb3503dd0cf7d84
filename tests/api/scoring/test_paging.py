"""Every scoring list is `{items, total}` and pages with `limit` and `offset`: the scorecards,
the ranking, an exposure list, the schemes and the read model's epochs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import DIVISIONS, assert_problem, body_of, put_scheme, scheme_body
from tests.conftest import COMMANDER
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA

APRIL = {"year": 2020, "month": 4}


async def _get(scoring: ScoringApp, url: str, **params: Any) -> dict[str, Any]:
    r = await scoring.client.get(url, params=params, headers=COMMANDER)
    body: dict[str, Any] = body_of(r)
    return body


@pytest.mark.parametrize(
    ("url", "params", "key"),
    [
        ("/v1/scorecards", APRIL, "county"),
        ("/v1/rankings", APRIL, "county"),
    ],
)
async def test_the_divisions_page_in_the_rankings_order(
    scoring: ScoringApp, url: str, params: dict[str, Any], key: str
) -> None:
    whole = await _get(scoring, url, **params)
    assert whole["total"] == len(whole["items"]) == len(DIVISIONS)
    order = [i[key] for i in whole["items"]]
    first = await _get(scoring, url, **params, limit=4)
    rest = await _get(scoring, url, **params, limit=4, offset=4)
    beyond = await _get(scoring, url, **params, offset=len(DIVISIONS))
    assert [first["total"], rest["total"], beyond["total"]] == [len(DIVISIONS)] * 3
    assert [i[key] for i in first["items"]] == order[:4]
    assert [i[key] for i in rest["items"]] == order[4:8]
    assert beyond["items"] == []


async def test_an_exposure_list_pages_and_counts_every_item(scoring: ScoringApp) -> None:
    for county in (BINCHENG, BOXING, ZHANHUA):
        await scoring.upstream.register(county, planned_start=dt.date(2020, 3, 1))
    await scoring.settled()
    whole = await _get(scoring, "/v1/exposure", kind="unstarted", **APRIL)
    assert whole["total"] == len(whole["items"]) == 3
    second = await _get(scoring, "/v1/exposure", kind="unstarted", **APRIL, limit=1, offset=1)
    assert (second["items"], second["total"]) == (whole["items"][1:2], 3)


async def test_schemes_and_epochs_page(scoring: ScoringApp) -> None:
    assert (await put_scheme(scoring, "v1", scheme_body())).status_code == 201
    schemes = await _get(scoring, "/v1/schemes")
    assert [s["version"] for s in schemes["items"]] == ["default", "v1"]
    assert schemes["total"] == 2
    second = await _get(scoring, "/v1/schemes", limit=1, offset=1)
    assert ([s["version"] for s in second["items"]], second["total"]) == (["v1"], 2)
    epochs = await _get(scoring, "/v1/admin/epochs", limit=1)
    assert ([e["number"] for e in epochs["items"]], epochs["total"]) == ([1], 1)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
async def test_paging_out_of_bounds_is_refused(
    scoring: ScoringApp, params: dict[str, Any]
) -> None:
    r = await scoring.client.get("/v1/scorecards", params={**APRIL, **params}, headers=COMMANDER)
    assert_problem(r, 422)
