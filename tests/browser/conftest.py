"""The console in a real browser: one `kuaiche up --demo` for the session (the embedded default,
what `make run` serves) behind its gateway, and Debian's Chromium driven by Playwright.

Every page opened through the `console` fixture is watched from the first request: a console
message of type error (Chromium logs every 4xx/5xx answer as one), an uncaught exception, an
answer of 400 or more, or a request to any origin but the gateway's fails the test that opened
it. Each page is saved as `build/screenshots/<test>.png` when its test ends, passed or not.

No browser is downloaded: `/usr/bin/chromium` (Debian's `chromium`, installed by `.ci/run` with
`fonts-wqy-microhei` for the Chinese labels). Without it these tests skip, except in CI
(`KUAICHE_REQUIRE_INTEGRATION=1`), where a missing browser fails them.

Run them with `.venv/bin/pytest tests/browser` (about four minutes, one of them
loading the demo). While working on them, `KUAICHE_BROWSER_DEMO=http://127.0.0.1:PORT,DATA_DIR`
reuses a `kuaiche up --demo` already running with that gateway port and data dir.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kuaiche.services import SERVICES
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("KUAICHE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REQUIRE = os.environ.get("KUAICHE_REQUIRE_INTEGRATION") == "1"
# Loading the demo takes 11-17 s on a busy 2-core machine (bench row 7); a slow CI machine gets
# far more.
STARTUP_SECONDS = 300
READY_MS = 60_000
LAPTOP = {"width": 1366, "height": 768}
WALL = {"width": 1920, "height": 1080}
CONSOLE_URL = re.compile(r"(http://[^/\s]+)/#token=(\S+)")


# ---------------------------------------------------------------------------------------------
# The demo behind its gateway


@dataclass
class Demo:
    """The running `kuaiche up --demo`: its gateway's origin and a commander token."""

    base: str
    data_dir: Path
    env: dict[str, str]
    commander: str
    output: list[str]
    _tokens: dict[tuple[str, str | None, str | None], str] = field(default_factory=dict)

    def token(
        self, role: str = "commander", county: str | None = None, department: str | None = None
    ) -> str:
        """A token signed for this demo by `kuaiche token` with the same data dir."""
        if role == "commander" and county is None and department is None:
            return self.commander
        key = (role, county, department)
        if key not in self._tokens:
            self._tokens[key] = _run_token(self.env, self.data_dir, role, county, department)
        return self._tokens[key]

    def api(self, token: str | None = None) -> httpx.Client:
        """An HTTP client on the gateway (the console's own origin) with a bearer token."""
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {token or self.commander}"},
            timeout=30,
        )

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        """GET a JSON answer through the gateway; anything but 200 fails the test."""
        with self.api(token) as client:
            r = client.get(path, params={k: v for k, v in params.items() if v is not None})
        assert r.status_code == 200, f"GET {r.url}: {r.status_code} {r.text[:500]}"
        return r.json()


def _run_token(
    env: dict[str, str],
    data_dir: Path,
    role: str,
    county: str | None = None,
    department: str | None = None,
    days: int | None = None,
) -> str:
    cmd = [sys.executable, "-m", "kuaiche.cli", "token", "--role", role]
    cmd += ["--data-dir", str(data_dir)]
    if county:
        cmd += ["--county", county]
    if department:
        cmd += ["--department", department]
    if days is not None:
        cmd += ["--days", str(days)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _reader(stream: Any, lines: list[str], seen: threading.Event) -> None:
    for line in iter(stream.readline, ""):
        lines.append(line.rstrip("\n"))
        if CONSOLE_URL.search(line):
            seen.set()
    seen.set()  # the process ended: let the waiter look


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    reuse = os.environ.get("KUAICHE_BROWSER_DEMO")
    if reuse:
        # For working on these tests: `KUAICHE_BROWSER_DEMO=http://127.0.0.1:PORT,DATA_DIR` uses a
        # `kuaiche up --demo` already running (the tests marked changes_demo write to it).
        base, _, data = reuse.partition(",")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUAICHE_")}
        env["KUAICHE_DATA_DIR"] = data
        commander = _run_token(env, Path(data), "commander")
        yield Demo(base=base, data_dir=Path(data), env=env, commander=commander, output=[])
        return
    data_dir = tmp_path_factory.mktemp("console-demo")
    ports = {name: free_port() for name in SERVICES}
    gateway = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUAICHE_")}
    env |= {f"KUAICHE_{name.upper()}_PORT": str(p) for name, p in ports.items()}
    env |= {"KUAICHE_GATEWAY_PORT": str(gateway), "KUAICHE_DATA_DIR": str(data_dir)}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuaiche.cli", "up", "--demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    lines: list[str] = []
    seen = threading.Event()
    assert proc.stdout is not None
    threading.Thread(target=_reader, args=(proc.stdout, lines, seen), daemon=True).start()
    try:
        if not seen.wait(STARTUP_SECONDS):
            pytest.fail(f"`kuaiche up --demo` printed no console URL in {STARTUP_SECONDS} s")
        found = next((m for line in lines if (m := CONSOLE_URL.search(line))), None)
        assert found, "`kuaiche up --demo` ended without a console URL:\n" + "\n".join(lines)
        base, commander = found.group(1), found.group(2)
        assert base == f"http://127.0.0.1:{gateway}", (base, gateway)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/registry/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway does not answer:\n" + "\n".join(lines)
            time.sleep(0.2)
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"], (
            f"the gateway does not serve the console at /: {page.status_code}"
        )
        yield Demo(base=base, data_dir=data_dir, env=env, commander=commander, output=lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Console:
    """One browser page on the console, and what went wrong on it."""

    page: Any
    context: Any
    origin: str
    shot: Path
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # "<status> <url>" of every answer, in order
    responses: list[str] = field(default_factory=list)
    # Problems a test provokes on purpose (a forged token's 401), as regular expressions.
    allowed: list[str] = field(default_factory=list)
    # Problems a test provokes a known number of times: [pattern, how many times].
    expected: list[list[Any]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(pattern)

    def expect(self, pattern: str, times: int) -> None:
        """Exactly `times` problems matching `pattern` (a regular expression) are provoked on
        purpose: fewer or more fail the test, like any problem matching no pattern."""
        self.expected.append([pattern, times])

    def unexpected(self) -> list[str]:
        left = [[pattern, times] for pattern, times in self.expected]
        out: list[str] = []
        for p in self.problems:
            if any(re.search(a, p) for a in self.allowed):
                continue
            match = next((e for e in left if e[1] > 0 and re.search(e[0], p)), None)
            if match is None:
                out.append(p)
            else:
                match[1] -= 1
        out += [f"expected {times} more like {pattern!r}" for pattern, times in left if times]
        return out

    def wait_state(self, *states: str, timeout: float = READY_MS) -> str:
        """Wait until body[data-state] is one of `states`; answers the state reached."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            handle = self.page.wait_for_function(
                "states => states.includes(document.body && document.body.dataset.state)",
                arg=list(states),
                timeout=timeout,
            )
        except PlaywrightTimeout:
            state = self.page.evaluate("document.body && document.body.dataset.state")
            raise AssertionError(
                f"the console stayed {state!r}, not {' or '.join(states)}, for {timeout} ms; "
                f"went wrong: {self.problems}; last requests: {self.requests[-5:]}"
            ) from None
        handle.dispose()
        return str(self.page.evaluate("document.body.dataset.state"))

    def wait_ready(self, timeout: float = READY_MS) -> None:
        state = self.wait_state("ready", "error", "login", timeout=timeout)
        assert state == "ready", f"the console is {state!r}, not ready: {self.problems}"

    def wait_live(self, timeout: float = 20.0) -> None:
        """Wait until the live stream (notifications' SSE through the gateway) has answered."""
        deadline = time.monotonic() + timeout
        while not any(
            r.startswith("200 ") and "/notifications/v1/stream" in r for r in self.responses
        ):
            assert time.monotonic() < deadline, f"no live stream opened: {self.requests[-5:]}"
            self.page.wait_for_timeout(100)

    def figure(self, key: str) -> str:
        """The raw machine value of `[data-figure=key]` (the first one if it is shown twice)."""
        loc = self.page.locator(f'[data-figure="{key}"]').first
        value = loc.get_attribute("data-value", timeout=10_000)
        assert value is not None, f"[data-figure={key}] has no data-value"
        return str(value)

    def figures(self) -> dict[str, str]:
        """Every figure on the screen: key -> data-value (the first of a key)."""
        pairs = self.page.eval_on_selector_all(
            "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value])"
        )
        out: dict[str, str] = {}
        for key, value in pairs:
            out.setdefault(key, value)
        return out

    def reset(self) -> None:
        """Back to the board: the drawer closed, the console ready."""
        drawer = self.page.locator("[data-testid=drawer]")
        if drawer.is_visible():
            self.page.click("[data-testid=drawer-close]")
            drawer.wait_for(state="hidden")
        self.wait_ready()

    def save(self) -> None:
        if self.page.is_closed():
            return
        self.shot.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.page.screenshot(path=str(self.shot), full_page=False, timeout=15_000)
        except Exception as exc:  # a screenshot must not hide the test's own failure
            self.problems.append(f"screenshot failed: {exc}")


def _watch(console: Console) -> None:
    page, origin = console.page, console.origin

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc.get("url") else ""
            console.problems.append(f"console error: {msg.text}{where}")

    def on_pageerror(exc: Any) -> None:
        console.problems.append(f"uncaught exception: {exc}")

    def on_request(request: Any) -> None:
        url = request.url
        console.requests.append(f"{request.method} {url}")
        parts = urlsplit(url)
        if parts.scheme in ("blob", "data", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != origin:
            console.problems.append(f"request leaving the origin: {request.method} {url}")

    def on_response(response: Any) -> None:
        console.responses.append(f"{response.status} {response.url}")
        if response.status >= 400:
            console.problems.append(
                f"answer {response.status}: {response.request.method} {response.url}"
            )

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    console.context.on("request", on_request)
    page.on("response", on_response)


def _shot_name(item: pytest.Item, n: int) -> str:
    name = re.sub(r"[^\w.-]+", "_", item.name).strip("_")
    return f"{name}.png" if n == 0 else f"{name}-{n + 1}.png"


OpenConsole = Callable[..., Console]


def _open(
    browser: Any,
    demo: Demo,
    shot: Path,
    role: str = "commander",
    county: str | None = None,
    *,
    department: str | None = None,
    viewport: dict[str, int] | None = None,
    login: str | None = "fragment",
    token: str | None = None,
    ready: bool = True,
    prepare: Callable[[Console], None] | None = None,
) -> Console:
    context = browser.new_context(
        viewport=viewport or LAPTOP, accept_downloads=True, locale="zh-CN"
    )
    page = context.new_page()
    c = Console(page=page, context=context, origin=demo.base, shot=shot)
    _watch(c)
    if prepare is not None:  # routes, init scripts, a fake clock: before the first request
        prepare(c)
    tok = token or demo.token(role, county, department)
    if login == "fragment":
        page.goto(f"{demo.base}/#token={tok}")
    else:
        page.goto(f"{demo.base}/")
        c.wait_state("login")
        if login == "paste":
            page.fill("textarea[name=token]", tok)
            page.click("[data-testid=login-submit]")
    if ready and login is not None:
        c.wait_ready()
    return c


def _consoles(item: pytest.Item) -> list[Console]:
    if not hasattr(item, "_consoles"):
        item._consoles = []  # type: ignore[attr-defined]
    return item._consoles  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def console(browser: Any, demo: Demo, request: pytest.FixtureRequest) -> Iterator[OpenConsole]:
    """`console(role="commander", county=None, viewport=LAPTOP, login="fragment"|"paste"|None)`
    opens the console in a fresh browser context as that role and waits until it is ready (or,
    with `login=None`, opens it without a token, at the login screen). `prepare(c)` runs on the
    new page before it loads (routes, init scripts, a fake clock); `ready=False` does not wait."""
    opened = _consoles(request.node)
    mine: list[Console] = []

    def open_console(*args: Any, **kwargs: Any) -> Console:
        shot = SCREENSHOTS / _shot_name(request.node, len(opened))
        c = _open(browser, demo, shot, *args, **kwargs)
        opened.append(c)
        mine.append(c)
        return c

    yield open_console
    for c in mine:
        try:
            c.context.close()
        except Exception:
            pass


@pytest.fixture(scope="module")
def _module_consoles(browser: Any, demo: Demo) -> Iterator[dict[tuple[str, str | None], Console]]:
    opened: dict[tuple[str, str | None], Console] = {}
    yield opened
    for c in opened.values():
        try:
            c.context.close()
        except Exception:
            pass


@pytest.fixture
def shared_console(
    browser: Any,
    demo: Demo,
    request: pytest.FixtureRequest,
    _module_consoles: dict[tuple[str, str | None], Console],
) -> OpenConsole:
    """Like `console`, but the page of a role is opened once per test module and shared by its
    tests (loading the console takes seconds): each test gets it with the drawer closed, and
    what goes wrong on it while the test runs fails that test."""

    def get(role: str = "commander", county: str | None = None) -> Console:
        opened = _consoles(request.node)
        shot = SCREENSHOTS / _shot_name(request.node, len(opened))
        key = (role, county)
        if key not in _module_consoles:
            _module_consoles[key] = _open(browser, demo, shot, role, county)
        c = _module_consoles[key]
        c.shot = shot
        c.reset()
        opened.append(c)
        return c

    return get


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Screenshot every page the test used, then fail it for what went wrong on them."""
    consoles = _consoles(item)
    try:
        result = yield
    except BaseException:
        for c in consoles:
            c.save()
            c.problems.clear()
            c.expected.clear()
        raise
    for c in consoles:
        if not c.page.is_closed():
            c.page.wait_for_timeout(300)  # let answers still in flight arrive
        c.save()
    problems = [p for c in consoles for p in c.unexpected()]
    for c in consoles:  # a shared page starts the next test clean
        c.problems.clear()
        c.expected.clear()
    if problems:
        pytest.fail("the console went wrong:\n  " + "\n  ".join(problems), pytrace=False)
    return result


def _is_mine(item: pytest.Item) -> bool:
    return Path(__file__).parent in Path(str(item.path)).parents


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that change the demo (a live event registers a project) run after the other
    browser tests, which compare the screen with the demo as loaded."""
    changing = [i for i in items if _is_mine(i) and i.get_closest_marker("changes_demo")]
    if not changing:
        return
    rest = [i for i in items if i not in changing]
    last = max((n for n, i in enumerate(rest) if _is_mine(i)), default=len(rest) - 1)
    items[:] = rest[: last + 1] + changing + rest[last + 1 :]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "changes_demo: writes to the shared demo; runs last")
