"""Live: a change made through the gateway's API while the console is open arrives on the
stream, adds a line to the ticker and moves the figure it changes. These tests write to the
shared demo, so they run after the other browser tests (marker changes_demo)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.expected import same

HUIMIN = "371621"
BINCHENG = "371602"
REGISTERED = "kuaiche.project.registered.v1"
REPORTED = "kuaiche.issue.reported.v1"

pytestmark = pytest.mark.changes_demo


def register(demo: Demo, county: str) -> dict[str, Any]:
    body = {
        "name": f"实时测试项目-{uuid.uuid4().hex[:8]}",
        "county": county,
        "track": "implementation",
        "total_investment": "12000.5",
        "level": "county_key",
        "planned_start": "2020-03-01",
        "planned_completion": "2021-12-31",
        "owner": "滨州某某科技有限公司",
        "responsible_unit": "惠民县发改局",
        "industry": "高端装备",
    }
    with demo.api() as client:
        r = client.post("/registry/v1/projects", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def ticker(c: Console, event_type: str) -> Any:
    return c.page.locator(f'[data-testid=ticker] li[data-type="{event_type}"]')


def wait_figure(c: Console, key: str, value: Any, timeout: float = 20_000) -> None:
    c.page.wait_for_function(
        '([k, v]) => { const e = document.querySelector(`[data-figure="${k}"]`);'
        " return e && Number(e.dataset.value) === Number(v); }",
        arg=[key, str(value)],
        timeout=timeout,
    )


def test_a_registered_project_arrives_and_moves_the_count(console: OpenConsole, demo: Demo) -> None:
    city = console("commander")
    huimin = console("county", HUIMIN)
    bincheng = console("county", BINCHENG)
    before_city = int(city.figure("projects"))
    before_huimin = int(huimin.figure("projects"))
    before_bincheng = bincheng.figure("projects")
    lines = ticker(city, REGISTERED).count()
    for c in (city, huimin, bincheng):
        c.wait_live()

    project = register(demo, HUIMIN)

    ticker(city, REGISTERED).nth(lines).wait_for(state="attached", timeout=20_000)
    newest = city.page.locator("[data-testid=ticker] li").first
    assert newest.get_attribute("data-type") == REGISTERED
    assert project["name"] in newest.inner_text() or "惠民县" in newest.inner_text()
    wait_figure(city, "projects", before_city + 1)
    # The county's own screen moves too; another county's does not hear of it.
    ticker(huimin, REGISTERED).first.wait_for(state="attached", timeout=20_000)
    wait_figure(huimin, "projects", before_huimin + 1)
    bincheng.page.wait_for_timeout(1000)
    assert ticker(bincheng, REGISTERED).count() == 0
    assert same(bincheng.figure("projects"), before_bincheng)
    for c in (city, huimin):  # the screenshots show the ticker
        c.page.locator("[data-testid=ticker]").scroll_into_view_if_needed()


def test_a_reported_problem_arrives_on_the_ticker(console: OpenConsole, demo: Demo) -> None:
    city = console("commander")
    city.wait_live()
    lines = ticker(city, REPORTED).count()
    project = register(demo, HUIMIN)
    body = {
        "project_id": project["id"],
        "category": "land",
        "title": f"实时测试问题-{uuid.uuid4().hex[:6]}",
        "description": "用地手续办理缓慢",
        "source": "county",
    }
    # The issues service learns of the project from the registry's event, just now sent.
    deadline = time.monotonic() + 20
    with demo.api() as client:
        while True:
            r = client.post("/issues/v1/issues", json=body)
            if r.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert r.status_code == 201, r.text
    ticker(city, REPORTED).nth(lines).wait_for(state="attached", timeout=20_000)
    assert body["title"] in ticker(city, REPORTED).first.inner_text()
    city.page.locator("[data-testid=ticker]").scroll_into_view_if_needed()
