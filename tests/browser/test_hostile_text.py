"""Text that looks like HTML, entered by a county clerk through the gateway's API, is shown as
text everywhere the commander sees it: the live ticker, the division's list, the project's
drawer and its problem's history. Nothing of it becomes an element or runs. This test writes to
the shared demo, so it runs after the other browser tests (marker changes_demo)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.test_drill import open_division
from tests.browser.test_live import REGISTERED, REPORTED, ticker

BINCHENG = "371602"
ASSIGNED = "kuaiche.issue.assigned.v1"
HOSTILE = '<img src=x onerror="window.__xss=1">'

pytestmark = pytest.mark.changes_demo


def post(
    demo: Demo, token: str | None, path: str, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    """POST through the gateway; the issues service may not know a project registered just now
    (its projection follows the registry's events), so a 409 is asked again for a while."""
    deadline = time.monotonic() + 20
    with demo.api(token) as client:
        while True:
            r = client.post(path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            if r.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert r.status_code == status, f"POST {path}: {r.status_code} {r.text[:500]}"
    return r.json()  # type: ignore[no-any-return]


def as_text(c: Console, where: Any, text: str) -> None:
    where.wait_for(state="visible")
    shown = where.inner_text()
    assert text in shown, f"{text!r} is not shown as text in {shown!r}"


def test_html_in_names_titles_and_leaders_is_shown_as_text(
    console: OpenConsole, demo: Demo
) -> None:
    clerk = demo.token("county", BINCHENG)
    city = console("commander")
    city.wait_live()
    registered = ticker(city, REGISTERED).count()
    reported = ticker(city, REPORTED).count()

    name = f"{HOSTILE}项目-{uuid.uuid4().hex[:6]}"
    project = post(
        demo,
        clerk,
        "/registry/v1/projects",
        {
            "name": name,
            "county": BINCHENG,
            "track": "implementation",
            "total_investment": "12000.5",
            "level": "county_key",
            "planned_start": "2020-03-01",
            "planned_completion": "2021-12-31",
            "owner": HOSTILE,
            "leader": HOSTILE,
            "responsible_unit": "滨城区发改局",
            "industry": "高端装备",
        },
    )
    title = f"{HOSTILE}问题-{uuid.uuid4().hex[:6]}"
    issue = post(
        demo,
        clerk,
        "/issues/v1/issues",
        {
            "project_id": project["id"],
            "category": "land",
            "title": title,
            "description": HOSTILE,
            "source": "county",
        },
    )
    # The commander assigns it to a unit named the same way: the history's note carries it.
    post(demo, None, f"/issues/v1/issues/{issue['id']}/assign", {"unit": HOSTILE}, 200)

    # The ticker: the project's name, the problem's title, the unit.
    ticker(city, REGISTERED).nth(registered).wait_for(state="attached", timeout=20_000)
    ticker(city, REPORTED).nth(reported).wait_for(state="attached", timeout=20_000)
    ticker(city, ASSIGNED).first.wait_for(state="attached", timeout=20_000)
    as_text(city, ticker(city, REGISTERED).first, name)
    as_text(city, ticker(city, REPORTED).first, title)
    as_text(city, ticker(city, ASSIGNED).first, HOSTILE)
    city.page.wait_for_timeout(2000)  # the panels the events touched reload
    city.wait_ready()

    # The division's list, page after page until the project shows.
    division = open_division(city, BINCHENG)
    row = division.locator(f'tr[data-project="{project["id"]}"]')
    more = division.locator("button.more")
    while row.count() == 0 and more.is_visible():
        more.click()
        city.page.wait_for_timeout(300)
    as_text(city, row, name)

    # The project's drawer: its title, its leader and owner; the problem and its history.
    row.click()
    drawer = city.page.locator("[data-testid=drawer] [data-testid=project]")
    drawer.wait_for(state="visible")
    assert city.page.locator("[data-testid=drawer-title]").inner_text().strip() == name
    facts = drawer.locator("dl.facts").first.inner_text()
    assert facts.count(HOSTILE) == 2, facts  # 帮包领导 and 项目单位
    problem = drawer.locator(f'[data-testid=project-problems] [data-issue="{issue["id"]}"]')
    as_text(city, problem.locator("h4"), title)
    as_text(city, problem.locator(".history"), f"to {HOSTILE}")

    assert city.page.locator("img[src=x]").count() == 0
    assert city.page.evaluate("typeof window.__xss") == "undefined"
    assert not [r for r in city.requests if r.endswith("/x")], city.requests[-5:]
