"""When things go wrong around the console: the live stream answered 502 while notifications
restarts, a token that expires while the screen stays open, an answer for a period no longer
chosen arriving late, a service that does not answer. Each provokes only the failures it names
(Console.expect / Console.allow); anything else still fails the test."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.browser.conftest import Console, Demo, OpenConsole, _run_token
from tests.browser.expected import expected_figures, mismatches, same
from tests.browser.test_live import REGISTERED, register, ticker

HUIMIN = "371621"
STREAM = "/notifications/v1/stream"
# How Chromium reports an answer of this status on the console ("Failed to load resource").
FAILED_502 = (
    r"console error: Failed to load resource: the server responded with a status of 502"
    r" \(Bad Gateway\)"
)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def bad_gateway(route: Any) -> None:
    route.fulfill(
        status=502,
        content_type="application/problem+json",
        body=json.dumps(
            {"status": 502, "title": "Bad Gateway", "detail": "the service did not answer"}
        ),
    )


@pytest.mark.changes_demo
def test_the_stream_opens_again_after_502s(console: OpenConsole, demo: Demo) -> None:
    """The gateway answers the stream 502 twice (notifications restarting): the console opens
    it again, the live dot comes back on and the next event reaches the ticker."""
    failed: list[str] = []

    def stream(route: Any) -> None:
        if len(failed) < 2:
            failed.append(route.request.url)
            bad_gateway(route)
        else:
            route.continue_()

    def prepare(c: Console) -> None:
        c.page.route(f"**{STREAM}*", stream)
        base = re.escape(demo.base + STREAM)
        c.expect(rf"^answer 502: GET {base}\?", 2)
        c.expect(rf"^{FAILED_502} \({base}\?", 2)

    city = console("commander", prepare=prepare)
    city.page.wait_for_function(
        "document.getElementById('live-dot').classList.contains('on')", timeout=30_000
    )
    assert len(failed) == 2, failed
    opened = [r for r in city.responses if STREAM in r]
    assert [r.split()[0] for r in opened] == ["502", "502", "200"], opened

    lines = ticker(city, REGISTERED).count()
    project = register(demo, HUIMIN)
    ticker(city, REGISTERED).nth(lines).wait_for(state="attached", timeout=20_000)
    assert project["name"] in ticker(city, REGISTERED).first.inner_text()


def test_an_expiring_token_returns_to_the_login_screen(console: OpenConsole, demo: Demo) -> None:
    """A wall screen stays open for days: when its token expires (here one minted for a day)
    the console goes back to the login screen, says why, and forgets the token."""
    token = _run_token(demo.env, demo.data_dir, "commander", days=1)

    city = console(token=token, prepare=lambda c: c.page.clock.install())
    left_ms = claims(token)["exp"] * 1000 - city.page.evaluate("Date.now()")
    assert 23 * 3600_000 < left_ms <= 24 * 3600_000, left_ms

    city.page.clock.fast_forward(int(left_ms) - 60_000)  # a minute before: still on the board
    city.page.wait_for_timeout(300)
    assert city.page.evaluate("document.body.dataset.state") == "ready"

    city.page.clock.fast_forward(120_000)
    assert city.wait_state("login", timeout=10_000) == "login"
    error = city.page.locator("[data-testid=login-error]")
    assert "令牌已过期" in error.inner_text(), error.inner_text()
    assert city.page.locator("#app").is_hidden()
    assert token not in city.page.evaluate("Object.values(sessionStorage).join()")
    assert city.page.evaluate("sessionStorage.getItem('kuaiche.token')") is None


# Every fetch for March is held until the test calls window.__release() (an init script: a
# routed request cannot wait without holding up the others); window.__held counts those asked
# and not answered yet.
HOLD_MARCH = """
(() => {
  const fetch = window.fetch;
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  window.__release = () => release();
  window.__held = 0;
  window.fetch = (url, options) => {
    if (!/[?&]month=3(&|$)/.test(String(url))) return fetch(url, options);
    window.__held += 1;
    return gate.then(() => fetch(url, options)).finally(() => { window.__held -= 1; });
  };
})();
"""


def test_a_late_answer_for_another_period_is_not_drawn(console: OpenConsole, demo: Demo) -> None:
    """March chosen, then April at once: March's answers, arriving after April's, are dropped,
    and the board shows April's figures and exposure counts."""
    expected = expected_figures(demo)  # the default period: the demo publishes 2020-04
    march = demo.get("/scoring/v1/figures", year=2020, month=3)["figures"]
    april = demo.get("/scoring/v1/figures", year=2020, month=4)["figures"]
    differ = [k for k in ("start_rate", "schedule_rate") if not same(str(march[k]), april[k])]
    assert differ, "March and April must differ for this test to tell them apart"
    lagging = {"kind": "lagging", "year": 2020, "limit": 1}
    march_lagging = demo.get("/scoring/v1/exposure", month=3, **lagging)["total"]
    assert march_lagging != expected["exposure-lagging"], "the exposure counts must differ too"

    city = console("commander", prepare=lambda c: c.page.add_init_script(HOLD_MARCH))
    assert city.page.input_value("[data-testid=period]") == "2020-04"
    city.page.select_option("[data-testid=period]", "2020-03")
    city.page.wait_for_timeout(300)
    city.page.select_option("[data-testid=period]", "2020-04")
    city.wait_ready()  # April drawn, March's answers still held
    assert city.page.evaluate("window.__held") > 0, "March's answers were not held"
    city.page.evaluate("window.__release()")  # now they arrive, late
    city.page.wait_for_function("window.__held === 0", timeout=15_000)
    city.page.wait_for_timeout(1000)  # March's answers parsed and (not) drawn

    assert city.page.evaluate("document.body.dataset.state") == "ready"
    assert city.page.input_value("[data-testid=period]") == "2020-04"
    assert any("month=3" in r for r in city.responses), "March was never asked for"
    wrong = mismatches(city, expected)
    assert not wrong, "\n".join(wrong)


def test_a_service_down_shows_the_error_banner(console: OpenConsole, demo: Demo) -> None:
    """Scoring does not answer (the gateway's 502): the console says so in its banner and
    shows what the other services answered."""

    def prepare(c: Console) -> None:
        c.page.route("**/scoring/v1/**", bad_gateway)
        base = re.escape(demo.base + "/scoring/v1/")
        c.allow(rf"^answer 502: GET {base}")
        c.allow(rf"^{FAILED_502} \({base}")

    city = console("commander", ready=False, prepare=prepare)
    assert city.wait_state("ready", "error", "login") == "error"
    banner = city.page.locator("#banner")
    assert banner.is_visible()
    assert "加载失败" in banner.inner_text(), banner.inner_text()
    assert city.page.locator("#app").is_visible()
    assert city.page.locator("#login").is_hidden()
    assert city.page.locator("[data-testid=who]").inner_text().strip()
    # Every failure was scoring's; the rest of the board is there.
    failed = [r for r in city.responses if not r.startswith(("200 ", "204 ", "304 "))]
    assert failed and all(r.startswith("502 ") and "/scoring/v1/" in r for r in failed), failed
    assert city.page.locator("[data-testid=ticker]").is_visible()
    assert city.page.locator("#panel-problems").is_visible()
