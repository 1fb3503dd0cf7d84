"""Drill-down: a ranking row opens its division's projects, a project opens its plan, reports,
problems with their history and allocations, each as the APIs answer them."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.expected import period, project_ids

HUIMIN = "371621"


def open_division(c: Console, county: str) -> Any:
    c.page.locator(f'[data-testid=ranking] tr[data-county="{county}"]').click()
    division = c.page.locator("[data-testid=drawer] [data-testid=division]")
    division.wait_for(state="visible")
    division.locator("tr[data-project]").first.wait_for(state="visible")
    return division


def shown_projects(scope: Any) -> list[str]:
    return [
        str(v)
        for v in scope.locator("tr[data-project]").evaluate_all(
            "rs => rs.map(r => r.dataset.project)"
        )
    ]


def a_project_with_everything(demo: Demo, ids: list[str]) -> str:
    """The first of `ids` that has problems and allocations (the demo has such projects)."""
    for pid in ids:
        if (
            demo.get("/issues/v1/issues", project_id=pid, limit=1)["total"]
            and demo.get("/factors/v1/allocations", project_id=pid, limit=1)["total"]
        ):
            return pid
    raise AssertionError("no project shown has both problems and allocations")


def test_a_division_lists_its_projects(console: OpenConsole, demo: Demo) -> None:
    c = console("commander")
    division = open_division(c, HUIMIN)
    shown = shown_projects(division)
    own = project_ids(demo, demo.commander, county=HUIMIN)
    assert shown and set(shown) <= own, set(shown) - own
    assert len(shown) == len(set(shown))
    counties = division.locator("tr[data-project]").evaluate_all(
        "rs => rs.map(r => r.dataset.county)"
    )
    assert set(counties) == {HUIMIN}, set(counties)
    assert "惠民县" in c.page.locator("[data-testid=drawer-title]").inner_text()


def test_a_project_shows_plan_reports_problems_and_allocations(
    console: OpenConsole, demo: Demo
) -> None:
    c = console("commander")
    division = open_division(c, HUIMIN)
    # Among the projects the division shows, one with problems and allocations.
    own_with_problems = {
        i["project_id"] for i in demo.get("/issues/v1/issues", county=HUIMIN, limit=500)["items"]
    }
    candidates = [p for p in shown_projects(division) if p in own_with_problems]
    if not candidates:  # not on the first page of the division: from the key projects' tab
        candidates = sorted(own_with_problems)
    pid = a_project_with_everything(demo, candidates)
    row = division.locator(f'tr[data-project="{pid}"]')
    if row.count() == 0:
        c.page.click("[data-testid=drawer-close]")
        c.page.locator('[data-figure="problems_collected"]').first.click()
        row = c.page.locator(f'[data-testid=drawer] tr[data-project="{pid}"]').first
    row.click()

    project = c.page.locator("[data-testid=drawer] [data-testid=project]")
    project.wait_for(state="visible")
    assert project.get_attribute("data-project") == pid
    detail = demo.get(f"/registry/v1/projects/{pid}")
    assert c.page.locator("[data-testid=drawer-title]").inner_text().strip() == detail["name"]

    year, month = period(demo)
    progress = demo.get(
        f"/registry/v1/projects/{pid}/progress", year=year, as_of=f"{year:04d}-{month:02d}"
    )
    plan = project.locator("[data-testid=project-plan]")
    assert plan.is_visible()
    if progress["annual_plan"] is not None:
        assert progress["completion_rate"] is None or progress["completion_rate"] in (
            plan.inner_text()
        ), (progress, plan.inner_text())

    reports = project.locator("[data-testid=project-reports] tr[data-row]")
    assert reports.count() == len(progress["reports"])

    problems = demo.get("/issues/v1/issues", project_id=pid, limit=100)["items"]
    section = project.locator("[data-testid=project-problems]")
    assert sorted(
        section.locator("[data-issue]").evaluate_all("es => es.map(e => e.dataset.issue)")
    ) == sorted(p["id"] for p in problems)
    for p in problems:
        history = demo.get(f"/issues/v1/issues/{p['id']}")["history"]
        shown = section.locator(f'[data-issue="{p["id"]}"] .history li')
        assert shown.count() == len(history), (p["id"], shown.count(), len(history))
        assert p["title"] in section.locator(f'[data-issue="{p["id"]}"]').inner_text()

    allocations = demo.get("/factors/v1/allocations", project_id=pid, limit=100)["items"]
    rows = project.locator("[data-testid=project-allocations] tr[data-row]")
    assert rows.count() == len(allocations) > 0


def test_the_drawer_goes_back_and_closes(console: OpenConsole) -> None:
    c = console("commander")
    division = open_division(c, HUIMIN)
    division.locator("tr[data-project]").first.click()
    c.page.locator("[data-testid=drawer] [data-testid=project]").wait_for(state="visible")
    c.page.click("[data-testid=drawer-close]")
    c.page.locator("[data-testid=drawer]").wait_for(state="hidden")
