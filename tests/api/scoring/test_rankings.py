"""The live ranking: divisions by total score, ties broken by the scheme's tie-break indicator,
reward tier by rank; `?scheme=` scores by a stored scheme instead of the one in effect."""

from __future__ import annotations

import datetime as dt

from tests.api.scoring.conftest import ScoringApp
from tests.api.scoring.helpers import (
    DIVISIONS,
    assert_problem,
    card,
    cards,
    put_scheme,
    ranking,
    ranks,
    scheme_body,
)
from tests.conftest import COMMANDER
from tests.support.upstream import BINCHENG, BOXING, ZHANHUA, ZOUPING, Upstream

D = dt.date
HUIMIN, YANGXIN, WUDI = "371621", "371622", "371623"
ZONES = ["371691", "371692", "371693"]


async def invest(up: Upstream, county: str, ytd: str) -> None:
    """A project with 1200 万元 planned for 2020 and `ytd` done by April: by the default
    scheme's investment indicator that is ytd ÷ 10 points (schedule rate ytd ÷ 400)."""
    pid = await up.register(county, planned_start=None)
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 4, ytd)


async def starts(up: Upstream, county: str, started: int, planned: int | None = None) -> None:
    """`planned` projects planned for June 2020 (none late in April), `started` of them started
    in April."""
    for n in range(planned if planned is not None else started):
        pid = await up.register(county, planned_start=D(2020, 6, 1))
        if n < started:
            await up.start(pid, D(2020, 4, 8))


async def test_the_ranking_orders_divisions_by_score_with_rank_and_tier(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    await invest(up, BINCHENG, "200")
    await invest(up, ZOUPING, "400")
    await invest(up, ZHANHUA, "100")
    await invest(up, BOXING, "300")
    await scoring.settled()

    body = await ranking(scoring)
    assert (body["year"], body["month"], body["scheme_version"]) == (2020, 4, "default")
    assert ranks(body) == [
        (ZOUPING, "47.00", 1, "先进"),
        (BOXING, "37.00", 2, "先进"),
        (BINCHENG, "27.00", 3, "先进"),
        (ZHANHUA, "17.00", 4, None),
        *[(c, "7.00", 5, None) for c in (HUIMIN, YANGXIN, WUDI, *ZONES)],
    ]
    assert [e["name"] for e in body["items"][:2]] == ["邹平市", "博兴县"]
    assert {e["county"]: e["name"] for e in body["items"]} == DIVISIONS
    # The cards agree with the ranking.
    c = await card(scoring, ZHANHUA)
    assert (c["total"], c["rank"], c["tier"]) == ("17.00", 4, None)


async def test_equal_totals_are_ordered_by_the_tie_break_indicator(scoring: ScoringApp) -> None:
    up = scoring.upstream
    # Bincheng: 10 points for investment (25.0%) and 10 for starts (2 of 5 started) = 27.00;
    # Zouping: 20 points for investment (50.0%), no starts planned = 27.00. The default
    # scheme breaks the tie on investment, so Zouping goes first although it comes later in
    # the region table.
    await invest(up, BINCHENG, "100")
    await starts(up, BINCHENG, started=2, planned=5)
    await invest(up, ZOUPING, "200")
    await scoring.settled()

    top = ranks(await ranking(scoring))[:2]
    assert top == [(ZOUPING, "27.00", 1, "先进"), (BINCHENG, "27.00", 2, "先进")]
    assert (await card(scoring, BINCHENG))["rank"] == 2


async def test_rank_bands_score_the_rank_on_the_metric_and_equal_values_share_a_rank(
    scoring: ScoringApp,
) -> None:
    up = scoring.upstream
    for county, n in ((BOXING, 3), (BINCHENG, 2), (ZHANHUA, 2), (HUIMIN, 1), (WUDI, 1)):
        await starts(up, county, started=n)
    await starts(up, ZOUPING, started=1)
    await scoring.settled()

    service = {
        c["county"]: next(i for i in c["indicators"] if i["key"] == "service")
        for c in (await cards(scoring))["items"]
    }
    assert {c: (s["value"], s["rank"]) for c, s in service.items()} == {
        BOXING: (3, 1),
        BINCHENG: (2, 2),
        ZHANHUA: (2, 2),
        HUIMIN: (1, 4),
        WUDI: (1, 4),
        ZOUPING: (1, 4),
        YANGXIN: (0, 7),
        **{z: (0, 7) for z in ZONES},
    }
    assert {c: s["points"] for c, s in service.items()} == {
        BOXING: "7.00",
        BINCHENG: "7.00",
        ZHANHUA: "7.00",
        HUIMIN: "5.00",
        WUDI: "5.00",
        ZOUPING: "5.00",
        YANGXIN: "3.00",
        **{z: "3.00" for z in ZONES},
    }


async def test_equal_totals_with_an_equal_tie_break_share_the_rank(scoring: ScoringApp) -> None:
    up = scoring.upstream
    await starts(up, BOXING, started=1)
    await starts(up, WUDI, started=1)
    await scoring.settled()
    # Both: starts 25 + service 7; no investment figures to break the tie.
    assert ranks(await ranking(scoring))[:3] == [
        (WUDI, "32.00", 1, "先进"),
        (BOXING, "32.00", 1, "先进"),
        (BINCHENG, "7.00", 3, "先进"),
    ]


async def test_the_scheme_parameter_ranks_by_a_stored_scheme(scoring: ScoringApp) -> None:
    up = scoring.upstream
    await starts(up, BINCHENG, started=2)
    await starts(up, BOXING, started=1, planned=2)
    await invest(up, ZOUPING, "400")
    r = await put_scheme(scoring, "v2021", scheme_body(effective_from="2021-01"))
    assert r.status_code == 201, r.text
    await scoring.settled()

    # April 2020 is before v2021 takes effect: the default scheme applies...
    assert ranks(await ranking(scoring))[:4] == [
        (ZOUPING, "47.00", 1, "先进"),
        (BINCHENG, "32.00", 2, "先进"),
        (BOXING, "19.50", 3, "先进"),
        (ZHANHUA, "7.00", 4, None),
    ]
    # ...unless another scheme is asked for. v2021: 10 per new start, 50 × start rate.
    body = await ranking(scoring, scheme="v2021")
    assert body["scheme_version"] == "v2021"
    assert ranks(body)[:3] == [
        (BINCHENG, "70.00", 1, "一等"),
        (BOXING, "35.00", 2, "二等"),
        (ZHANHUA, "0.00", 3, "二等"),  # the other eight tie on 0 and on new starts
    ]
    assert {r[1:] for r in ranks(body)[2:]} == {("0.00", 3, "二等")}
    assert (await ranking(scoring, scheme="default"))["scheme_version"] == "default"
    c = await card(scoring, BINCHENG, scheme="v2021")
    assert (c["scheme_version"], c["total"], c["tier"]) == ("v2021", "70.00", "一等")
    assert [i["key"] for i in c["indicators"]] == ["new_starts_ytd", "start_rate"]


async def test_an_unknown_scheme_is_404(scoring: ScoringApp) -> None:
    for path in ("/v1/rankings", "/v1/scorecards", f"/v1/scorecards/{BINCHENG}"):
        r = await scoring.client.get(
            path, params={"year": 2020, "month": 4, "scheme": "nope"}, headers=COMMANDER
        )
        assert_problem(r, 404, "nope")
