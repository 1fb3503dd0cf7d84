"""The commander's city at a glance: every figure is the APIs' own, the ranking is the API's,
and each figure opens the list behind it, as long as the figure says."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.expected import (
    EXPOSURE_KINDS,
    city_figures,
    expected_figures,
    mismatches,
    period,
    same,
    summary,
)

# Figures that count something: the list behind each has as many rows as the figure says.
COUNTS = (
    "projects",
    "key_projects",
    "completions",
    "problems_collected",
    "problems_resolved",
    "problems_on_time",
    "problems_overdue",
    "problems_overdue_now",
    "credit-projects",
    *(f"exposure-{kind}" for kind in EXPOSURE_KINDS),
    *(f"exposure-{kind}-{colour}" for kind in EXPOSURE_KINDS for colour in ("red", "yellow")),
)


@pytest.fixture
def city(shared_console: OpenConsole) -> Console:
    return shared_console("commander")


def open_list(c: Console, key: str) -> int:
    """Click a figure; answers the total its list says it has (共 N 项)."""
    c.page.locator(f'[data-figure="{key}"]').first.click()
    drawer = c.page.locator("[data-testid=drawer]")
    drawer.wait_for(state="visible")
    assert drawer.locator("[data-testid=drawer-title]").inner_text().strip(), key
    table = drawer.locator("table[data-testid=list]")
    table.wait_for(state="attached")
    rows = table.locator("tr[data-row]").count()
    text = drawer.inner_text()
    found = re.search(r"共\s*([\d,]+)\s*", text)
    total = int(found.group(1).replace(",", "")) if found else rows
    assert rows <= total and (rows > 0 or total == 0), (key, rows, total)
    c.page.click("[data-testid=drawer-close]")
    drawer.wait_for(state="hidden")
    return total


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
    assert "7,844" in text and "亿元" in text, text


def test_every_figure_is_the_apis(city: Console, demo: Demo) -> None:
    expected = expected_figures(demo)
    wrong = mismatches(city, expected)
    assert not wrong, wrong
    # ... and the brief's keys are all there.
    shown = city.figures()
    for key in (
        "projects",
        "total_investment",
        "key_projects",
        "start_rate",
        "schedule_rate",
        "completions",
        "problems_collected",
        "problems_resolved",
        "problems_on_time",
        "problems_overdue",
    ):
        assert shown.get(key), key


def test_the_problem_figures_are_the_issue_statistics(city: Console, demo: Demo) -> None:
    stats = demo.get("/issues/v1/issues/stats")
    assert same(city.figure("problems_collected"), stats["collected"])
    assert same(city.figure("problems_resolved"), stats["resolved"])
    # 当前超期: the 6 red problems of the demo, flagged overdue and still open.
    assert same(city.figure("problems_overdue_now"), stats["overdue"])
    assert stats["overdue"] == 6


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
        row = rows.nth(i)
        assert row.get_attribute("data-score") == item["score"]
        assert row.get_attribute("data-rank") == str(item["rank"])
        text = row.inner_text()
        assert item["score"] in text and item["name"] in text, (item, text)
    # The demo's ranking, as docs/demo.md tells it.
    assert (items[0]["name"], items[0]["score"]) == ("博兴县", "56.57")
    assert (items[-1]["name"], items[-1]["score"]) == ("沾化区", "33.44")


def test_the_period_is_the_latest_publication(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    assert city.page.locator("[data-testid=period]").input_value() == f"{year:04d}-{month:02d}"


def test_the_scorecard_is_the_apis(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    card = city.page.locator("[data-testid=scorecard]")
    county = card.get_attribute("data-county")
    assert county
    api = demo.get(f"/scoring/v1/scorecards/{county}", year=year, month=month)
    points = dict(
        card.locator("tr[data-indicator]").evaluate_all(
            "rs => rs.map(r => [r.dataset.indicator, r.dataset.points])"
        )
    )
    assert points.keys() == {i["key"] for i in api["indicators"]}
    for indicator in api["indicators"]:
        assert same(points[indicator["key"]], indicator["points"]), indicator
    assert api["total"] in card.inner_text()


def test_the_exposure_lists_are_the_apis(city: Console, demo: Demo) -> None:
    year, month = period(demo)
    for kind in EXPOSURE_KINDS:
        table = city.page.locator(f"[data-testid=exposure-{kind}]")
        api = demo.get("/scoring/v1/exposure", kind=kind, year=year, month=month, limit=500)
        shown = table.locator("tr[data-colour]").evaluate_all(
            "rs => rs.map(r => [r.dataset.colour, r.dataset.project])"
        )
        assert shown, kind
        assert {c for c, _ in shown} <= {"red", "yellow"}
        # The rows shown are the API's first ones, in its order (red before yellow).
        expected = [[i["colour"], i["project_id"]] for i in api["items"]][: len(shown)]
        assert shown == expected, kind


def test_the_problem_lists_are_the_apis(city: Console, demo: Demo) -> None:
    panel = city.page.locator("[data-testid=problems]")
    for colour in ("red", "blue"):
        api = demo.get("/issues/v1/issues", colour=colour, limit=500)
        table = panel.locator(f"[data-testid=issues-{colour}]")
        rows = table.locator("tr[data-row]")
        assert rows.count() == min(api["total"], rows.count())
        if api["total"]:
            assert rows.count() > 0, colour
            assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.colour)")) == {colour}
    assert demo.get("/issues/v1/issues", colour="red", limit=1)["total"] == 6


@pytest.mark.parametrize(
    "key", ["projects", "key_projects", "start_rate", "problems_collected", "problems_overdue"]
)
def test_a_figure_opens_the_list_behind_it(city: Console, key: str) -> None:
    city.page.locator(f'[data-figure="{key}"]').first.click()
    drawer = city.page.locator("[data-testid=drawer]")
    drawer.wait_for(state="visible")
    assert drawer.locator("[data-testid=drawer-title]").inner_text().strip()
    drawer.locator("[data-testid=list] tr[data-row]").first.wait_for(state="visible")
    city.page.click("[data-testid=drawer-close]")
    drawer.wait_for(state="hidden")


def test_each_count_is_as_long_as_its_list(city: Console, demo: Demo) -> None:
    wrong = []
    for key in COUNTS:
        shown = int(city.figure(key))
        total = open_list(city, key)
        if total != shown:
            wrong.append(f"{key}: the figure says {shown}, its list has {total}")
    # The start rate's list is of the projects started (of those planned to start this year).
    started = city_figures(demo)["figures"]["started"]
    total = open_list(city, "start_rate")
    if total != started:
        wrong.append(f"start_rate: {started} started, its list has {total}")
    assert not wrong, wrong


def test_the_map_draws_every_indicator(city: Console) -> None:
    chart = city.page.locator("[data-testid=map]")
    assert chart.is_visible()
    chart.locator("canvas, svg").first.wait_for(state="visible")
    indicator = city.page.locator("[data-testid=map-indicator]")
    options = indicator.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) >= 5, options
    for value in [*options[1:], options[0]]:
        indicator.select_option(value)
        city.page.wait_for_function(
            "v => document.querySelector('[data-testid=map]').dataset.indicator === v", arg=value
        )
    assert city.page.evaluate("document.body.dataset.state") == "ready"


def test_the_period_can_be_changed_and_back(city: Console) -> None:
    select = city.page.locator("[data-testid=period]")
    options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert "2020-04" in options and "2020-03" in options
    projects = city.figure("projects")
    select.select_option("2020-03")
    city.wait_ready()
    city.page.wait_for_function("document.querySelector('[data-figure=start_rate]') !== null")
    select.select_option("2020-04")
    city.wait_ready()
    assert city.figure("projects") == projects


def test_the_factors_and_ticker_panels_show(city: Console) -> None:
    assert city.page.locator("[data-testid=factors]").is_visible()
    assert city.page.locator("[data-testid=ticker]").count() == 1


def test_a_department_sees_the_library_without_scores(console: OpenConsole, demo: Demo) -> None:
    """A department reads the library and its problems; it asks nothing scoring refuses it."""
    c = console("department", department="市自然资源和规划局")
    assert "市自然资源和规划局" in c.page.locator("[data-testid=who]").inner_text()
    assert same(c.figure("projects"), summary(demo)["projects"])
