"""Logging in: the token from the URL's fragment (as `kuaiche up --demo` prints it) or pasted on
the login screen; a bad one is refused on that screen; logging out forgets it."""

from __future__ import annotations

import datetime as dt
import secrets

from shared.auth import Role, issue_token
from tests.browser.conftest import Demo, OpenConsole


def test_the_fragment_logs_in_and_leaves_the_address(console: OpenConsole, demo: Demo) -> None:
    c = console("commander", login="fragment")
    # The token is kept for the tab, not left in the address bar (or the history).
    assert "#token" not in c.page.url and "token=" not in c.page.url, c.page.url
    assert c.page.evaluate("Object.values(sessionStorage).join()").count(demo.commander) == 1
    assert c.page.locator("[data-testid=who]").inner_text().strip()
    # A reload keeps the session: no login screen.
    c.page.reload()
    c.wait_ready()


def test_pasting_a_token_logs_in(console: OpenConsole) -> None:
    c = console("commander", login="paste")
    assert c.page.locator("textarea[name=token]").is_hidden()
    assert c.page.locator('[data-figure="projects"]').first.is_visible()


def test_a_county_token_pasted_shows_its_county(console: OpenConsole) -> None:
    c = console("county", "371621", login="paste")
    assert "惠民县" in c.page.locator("[data-testid=who]").inner_text()


def test_without_a_token_the_login_screen_shows(console: OpenConsole) -> None:
    c = console(login=None)
    assert c.page.locator("textarea[name=token]").is_visible()
    assert c.page.locator("[data-testid=login-submit]").is_visible()
    # Nothing was asked of the APIs without a token (it would have been a 401).
    asked = [r for r in c.requests if "/v1/" in r]
    assert not asked, asked


def test_a_malformed_token_shows_the_login_error(console: OpenConsole) -> None:
    c = console(login=None)
    c.page.fill("textarea[name=token]", "这不是令牌 not-a-token")
    c.page.click("[data-testid=login-submit]")
    error = c.page.locator("[data-testid=login-error]")
    error.wait_for(state="visible")
    assert error.inner_text().strip()
    assert c.page.evaluate("document.body.dataset.state") == "login"


def test_a_token_signed_elsewhere_returns_to_the_login_screen(console: OpenConsole) -> None:
    """Well formed, so only the server can tell: its 401 brings the login screen back."""
    forged = issue_token(secrets.token_urlsafe(40), role=Role.COMMANDER, subject="mallory")
    c = console(login=None)
    # The APIs' 401s (and Chromium's console lines about them) are what this test provokes.
    c.allow(r"answer 401")
    c.allow(r"console error: Failed to load resource: the server responded with a status of 401")
    c.page.fill("textarea[name=token]", forged)
    c.page.click("[data-testid=login-submit]")
    c.page.locator("[data-testid=login-error]").wait_for(state="visible")
    assert c.wait_state("login") == "login"
    assert forged not in c.page.evaluate("Object.values(sessionStorage).join()")
    assert any(r.startswith("401 ") for r in c.responses), c.responses


def test_an_expired_token_shows_the_login_error(console: OpenConsole, demo: Demo) -> None:
    """Signed right but expired: the console says so without asking the APIs."""
    secret = (demo.data_dir / "dev-jwt-secret").read_text(encoding="utf-8").strip()
    expired = issue_token(
        secret,
        role=Role.COMMANDER,
        ttl=dt.timedelta(hours=1),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
    )
    c = console(login=None)
    c.page.fill("textarea[name=token]", expired)
    c.page.click("[data-testid=login-submit]")
    error = c.page.locator("[data-testid=login-error]")
    error.wait_for(state="visible")
    assert error.inner_text().strip()
    assert c.wait_state("login") == "login"
    assert not [r for r in c.requests if "/v1/" in r], c.requests


def test_logging_out_forgets_the_token(console: OpenConsole, demo: Demo) -> None:
    c = console("commander")
    c.page.click("[data-testid=logout]")
    assert c.wait_state("login") == "login"
    assert demo.commander not in c.page.evaluate("Object.values(sessionStorage).join()")
    c.page.reload()
    assert c.wait_state("login", "ready", "loading") == "login"
