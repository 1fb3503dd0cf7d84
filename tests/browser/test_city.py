"""The commander's city at a glance: every figure is the APIs' own, the ranking is the API's,
and each figure opens the list behind it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.expected import (
    expected_figures,
    mismatches,
    period,
    same,
    summary,
)


@pytest.fixture
def city(console: OpenConsole) -> Console:
    return console("commander")


def test_the_library_is_the_demos(city: Console, demo: Demo) -> None:
    s = summary(demo)
    # The demo as docs/demo.md tells it: 1,191 projects, 7,844 亿元, 433 on the key list.
    assert s["projects"] == 1191
    assert round(Decimal(s["total_investment"]) / 10000) == 7844
    assert s["key_projects"] == 433
    assert same(city.figure("projects"), 1191)
    assert same(city.figure("total_investment"), s["total_investment"])
    assert same(city.figure("key_projects"), 433)
    # The text is for people: 亿元, not the raw 万元.
    text = city.page.locator('[data-figure="total_investment"]').first.inner_text()
    assert "7,844" in text or "7844" in text, text


def test_every_figure_is_the_apis(city: Console, demo: Demo) -> None:
    wrong = mismatches(city, expected_figures(demo))
    assert not wrong, wrong


def test_the_problem_figures_are_the_issue_statistics(city: Console, demo: Demo) -> None:
    stats = demo.get("/issues/v1/issues/stats")
    assert same(city.figure("problems_collected"), stats["collected"])
    assert same(city.figure("problems_resolved"), stats["resolved"])
    assert same(city.figure("problems_overdue"), stats["overdue"])


def test_every_pool_figure_is_the_pools(city: Console, demo: Demo) -> None:
    shown = {k: v for k, v in city.figures().items() if k.startswith("pool-")}
    assert shown, "no pool-<id>-utilisation figure on the screen"
    pools = {}
    for key, value in shown.items():
        pool_id, _, kind = key[len("pool-") :].rpartition("-")
        assert kind in ("utilisation", "advance"), key
        if pool_id not in pools:
            pools[pool_id] = demo.get(f"/factors/v1/pools/{pool_id}")
        assert same(value, pools[pool_id][kind]), (key, value, pools[pool_id][kind])
    # The seed's city land quota: 3,603 亩 of 4,415 in advance, 81.6%.
    quota = demo.get("/factors/v1/pools", factor="land", year=2019, scope="city")["items"]
    assert len(quota) == 1 and quota[0]["utilisation"] == "81.6"
    assert same(city.figure(f"pool-{quota[0]['id']}-utilisation"), "81.6")
    assert same(city.figure(f"pool-{quota[0]['id']}-advance"), "3603")


def test_the_ranking_is_the_apis(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    items = demo.get("/scoring/v1/rankings", year=year, month=month)["items"]
    assert len(items) == 10
    rows = city.page.locator("[data-testid=ranking] tr[data-county]")
    assert rows.count() == 10
    assert [rows.nth(i).get_attribute("data-county") for i in range(10)] == [
        i["county"] for i in items
    ]
    for i, item in enumerate(items):
        text = rows.nth(i).inner_text()
        assert item["score"] in text, (item, text)
        assert item["name"] in text, (item, text)
        assert str(item["rank"]) in text, (item, text)


def test_the_period_is_the_latest_publication(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    select = city.page.locator("[data-testid=period]")
    assert select.input_value() == f"{year:04d}-{month:02d}"


@pytest.mark.parametrize(
    "key", ["projects", "key_projects", "problems_collected", "problems_overdue"]
)
def test_a_figure_opens_the_list_behind_it(city: Console, key: str) -> None:
    city.page.locator(f'[data-figure="{key}"]').first.click()
    drawer = city.page.locator("[data-testid=drawer]")
    drawer.wait_for(state="visible")
    assert drawer.locator("[data-testid=drawer-title]").inner_text().strip()
    drawer.locator("[data-testid=list] tr[data-row]").first.wait_for(state="visible")
    city.page.click("[data-testid=drawer-close]")
    drawer.wait_for(state="hidden")


def test_the_overdue_list_behind_the_figure_is_the_apis(city: Console, demo: Demo) -> None:
    overdue = demo.get("/issues/v1/issues", overdue="true", limit=500)
    city.page.locator('[data-figure="problems_overdue"]').first.click()
    rows = city.page.locator("[data-testid=drawer] [data-testid=list] tr[data-row]")
    rows.first.wait_for(state="visible")
    assert rows.count() == overdue["total"] == 6


def test_the_exposure_lists_are_the_apis(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    for kind in ("unstarted", "lagging", "overdue"):
        panel = city.page.locator(f"[data-testid=exposure-{kind}]")
        for colour in ("red", "yellow"):
            api = demo.get(
                "/scoring/v1/exposure", kind=kind, year=year, month=month, colour=colour, limit=1
            )
            rows = panel.locator(f'tr[data-colour="{colour}"]')
            if api["total"]:
                assert rows.count() > 0, (kind, colour)
            shown = rows.count()
            assert shown <= api["total"], (kind, colour, shown, api["total"])
        other = panel.locator("tr[data-colour]:not([data-colour=red]):not([data-colour=yellow])")
        assert other.count() == 0


def test_the_map_draws_and_changes_indicator(city: Console) -> None:
    chart = city.page.locator("[data-testid=map]")
    assert chart.is_visible()
    chart.locator("canvas, svg").first.wait_for(state="visible")
    indicator = city.page.locator("[data-testid=map-indicator]")
    options = indicator.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) >= 2, options
    for value in options[1:]:
        indicator.select_option(value)
        city.page.wait_for_timeout(200)
    assert city.page.evaluate("document.body.dataset.state") == "ready"


def test_the_scorecard_shows_every_indicator(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    cards = demo.get("/scoring/v1/scorecards", year=year, month=month, limit=10)["items"]
    keys = {i["key"] for i in cards[0]["indicators"]}
    shown = city.page.locator("[data-testid=scorecard] tr[data-indicator]").evaluate_all(
        "rs => rs.map(r => r.dataset.indicator)"
    )
    assert set(shown) == keys, (shown, keys)


def test_the_problem_lists_show(city: Console, demo: Demo) -> None:
    panel = city.page.locator("[data-testid=problems]")
    assert panel.is_visible()
    red = demo.get("/issues/v1/issues", colour="red", limit=1)["total"]
    if red:
        assert (
            panel.locator(
                "[data-testid=issues-red] [data-row], [data-testid=issues-red] li, "
                "[data-testid=issues-red] tr"
            ).count()
            > 0
        )
    assert panel.locator("[data-testid=issues-blue]").count() == 1


def test_the_factors_panel_shows(city: Console) -> None:
    assert city.page.locator("[data-testid=factors]").is_visible()
    assert city.page.locator("[data-testid=ticker]").count() == 1
