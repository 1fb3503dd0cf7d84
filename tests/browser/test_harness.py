"""The console fixture itself: what it must fail a test for, it does record."""

from __future__ import annotations

from tests.browser.conftest import OpenConsole


def test_the_watch_records_what_would_fail_a_test(console: OpenConsole) -> None:
    c = console(login=None)
    c.page.evaluate("console.error('出错了')")
    c.page.evaluate("setTimeout(() => { throw new Error('未捕获') }, 0)")
    # Another origin (nothing listens there), and an API without a token (401).
    c.page.evaluate("fetch('http://127.0.0.2:9/elsewhere').catch(() => {})")
    c.page.evaluate("fetch('/registry/v1/projects').catch(() => {})")
    c.page.wait_for_timeout(1000)
    seen = "\n".join(c.problems)
    assert "console error: 出错了" in seen, seen
    assert "uncaught exception" in seen and "未捕获" in seen, seen
    assert "request leaving the origin: GET http://127.0.0.2:9/elsewhere" in seen, seen
    assert "answer 401: GET" in seen and "/registry/v1/projects" in seen, seen
    # A blob: or data: URL is the page's own.
    c.page.evaluate("fetch(URL.createObjectURL(new Blob(['x']))).then(r => r.text())")
    c.page.evaluate("fetch('data:text/plain,x').then(r => r.text())")
    c.page.wait_for_timeout(300)
    assert not [p for p in c.problems if "blob:" in p or "data:" in p], c.problems
    c.problems.clear()  # provoked on purpose: this test must not fail for them


def test_an_expected_problem_counts(console: OpenConsole) -> None:
    """`expect(pattern, times)` takes exactly that many problems: one more, or one fewer, is
    still reported."""
    c = console(login=None)
    for _ in range(2):
        c.page.evaluate("fetch('/registry/v1/projects').catch(() => {})")
    c.page.wait_for_timeout(1000)
    answers = [p for p in c.problems if p.startswith("answer 401")]
    assert len(answers) == 2, c.problems
    c.allow(r"^console error: Failed to load resource")
    for times, left in ((2, []), (1, [answers[1]]), (3, ["expected 1 more like '^answer 401'"])):
        c.expected.clear()
        c.expect(r"^answer 401", times)
        assert c.unexpected() == left, (times, c.unexpected())
    c.problems.clear()  # provoked on purpose: this test must not fail for them
    c.expected.clear()
