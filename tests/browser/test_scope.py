"""A county clerk's console: only their county on every panel and in every list behind a figure,
figures as the APIs answer that token, and never a request the APIs refuse it (the console
fixture fails the test on any 4xx)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.expected import expected_figures, mismatches, project_ids

HUIMIN = "371621"
BINCHENG = "371602"


def counties_outside_ranking(c: Console) -> list[str]:
    """data-county of everything on the screen and in the drawer but the published ranking
    (the scorecard, a division, any row naming a county)."""
    return [
        str(v)
        for v in c.page.eval_on_selector_all(
            "[data-county]",
            "es => es.filter(e => !e.closest('[data-testid=ranking]')).map(e => e.dataset.county)",
        )
    ]


def projects_in(scope: Any) -> set[str]:
    return {
        str(v)
        for v in scope.locator("tr[data-project]").evaluate_all(
            "rs => rs.map(r => r.dataset.project)"
        )
    }


@pytest.fixture
def huimin(shared_console: OpenConsole) -> Console:
    return shared_console("county", HUIMIN)


def test_the_header_names_the_county(huimin: Console) -> None:
    assert "惠民县" in huimin.page.locator("[data-testid=who]").inner_text()


def test_every_panel_shows_only_the_county(huimin: Console, demo: Demo) -> None:
    token = demo.token("county", HUIMIN)
    counties = counties_outside_ranking(huimin)
    assert counties, "nothing on the county's screen names its county"
    assert set(counties) == {HUIMIN}, sorted(set(counties))
    own = project_ids(demo, token)
    assert own == project_ids(demo, demo.commander, county=HUIMIN)
    shown = projects_in(huimin.page.locator("body"))
    assert shown, "no project row on the county's screen (its exposure lists)"
    assert shown <= own, shown - own
    # The scorecard is the county's own.
    card = huimin.page.locator("[data-testid=scorecard]")
    assert card.get_attribute("data-county") == HUIMIN
    # The charts of allocations by county name only the county.
    factors = huimin.page.locator("[data-testid=factors]").inner_text()
    others = [n for n in ("滨城区", "博兴县", "邹平市", "沾化区", "无棣县") if n in factors]
    assert not others, others


def test_the_ranking_opens_only_the_countys_own_division(huimin: Console, demo: Demo) -> None:
    """The published ranking (通报) names every division, as the API gives it to a county;
    only the county's own row opens a drill-down."""
    rows = huimin.page.locator("[data-testid=ranking] tr[data-county]")
    others = [
        str(v) for v in rows.evaluate_all("rs => rs.map(r => r.dataset.county)") if v != HUIMIN
    ]
    if others:
        huimin.page.locator(f'[data-testid=ranking] tr[data-county="{others[0]}"]').click()
        huimin.page.wait_for_timeout(300)
        assert huimin.page.locator("[data-testid=drawer]").is_hidden()
    huimin.page.locator(f'[data-testid=ranking] tr[data-county="{HUIMIN}"]').click()
    division = huimin.page.locator("[data-testid=drawer] [data-testid=division]")
    division.locator("tr[data-project]").first.wait_for(state="visible")
    assert division.get_attribute("data-county") == HUIMIN
    own = project_ids(demo, demo.token("county", HUIMIN))
    assert projects_in(division) <= own


def test_the_figures_are_the_countys(huimin: Console, demo: Demo) -> None:
    token = demo.token("county", HUIMIN)
    expected = expected_figures(demo, token)
    wrong = mismatches(huimin, expected)
    assert not wrong, wrong
    # ... and not the city's.
    assert expected["projects"] < expected_figures(demo)["projects"]


@pytest.mark.parametrize(
    "key", ["projects", "key_projects", "problems_collected", "problems_resolved"]
)
def test_the_lists_behind_the_figures_are_the_countys(
    huimin: Console, demo: Demo, key: str
) -> None:
    huimin.page.locator(f'[data-figure="{key}"]').first.click()
    drawer = huimin.page.locator("[data-testid=drawer]")
    drawer.locator("[data-testid=list] tr[data-row]").first.wait_for(state="visible")
    own = project_ids(demo, demo.token("county", HUIMIN))
    shown = projects_in(drawer)
    assert shown and shown <= own, shown - own
    assert set(counties_outside_ranking(huimin)) <= {HUIMIN}


def test_another_county_sees_its_own(console: OpenConsole, demo: Demo) -> None:
    c = console("county", BINCHENG)
    assert "滨城区" in c.page.locator("[data-testid=who]").inner_text()
    assert set(counties_outside_ranking(c)) <= {BINCHENG}
    token = demo.token("county", BINCHENG)
    wrong = mismatches(c, expected_figures(demo, token))
    assert not wrong, wrong


def test_a_countys_project_opens_in_full(huimin: Console, demo: Demo) -> None:
    """Its plan, reports, problems and allocations: each asked only where the county may."""
    huimin.page.locator(f'[data-testid=ranking] tr[data-county="{HUIMIN}"]').click()
    division = huimin.page.locator("[data-testid=drawer] [data-testid=division]")
    division.locator("tr[data-project]").first.wait_for(state="visible")
    pid = division.locator("tr[data-project]").first.get_attribute("data-project")
    division.locator("tr[data-project]").first.click()
    project = huimin.page.locator("[data-testid=drawer] [data-testid=project]")
    project.wait_for(state="visible")
    assert project.get_attribute("data-project") == pid
    token = demo.token("county", HUIMIN)
    assert demo.get(f"/registry/v1/projects/{pid}", token)["county"] == HUIMIN
    for part in ("plan", "reports", "problems", "allocations"):
        assert project.locator(f"[data-testid=project-{part}]").is_visible(), part


def test_an_unpublished_month_shows_no_ranking_to_a_county(huimin: Console) -> None:
    """Scoring gives a county the ranking of published months only: the console does not ask
    for another (it would be refused), it says the month is not published yet."""
    select = huimin.page.locator("[data-testid=period]")
    select.select_option("2020-03")
    huimin.wait_ready()
    assert huimin.page.locator("[data-testid=ranking-unpublished]").is_visible()
    assert huimin.page.locator("[data-testid=ranking] tr[data-county]").count() == 0
    assert set(counties_outside_ranking(huimin)) <= {HUIMIN}
    select.select_option("2020-04")
    huimin.wait_ready()
    assert huimin.page.locator("[data-testid=ranking] tr[data-county]").count() == 10
