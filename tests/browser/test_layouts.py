"""The wall screen at 1920x1080 (everything on one screen, no scrollbars) and the laptop layout."""

from __future__ import annotations

from tests.browser.conftest import LAPTOP, WALL, OpenConsole

NO_SCROLL = (
    "[document.scrollingElement.scrollHeight, innerHeight,"
    " document.scrollingElement.scrollWidth, innerWidth]"
)


def test_the_wall_layout_fits_the_screen(console: OpenConsole) -> None:
    c = console("commander", viewport=WALL)
    assert c.page.evaluate("document.body.classList.contains('wall')")
    assert not c.page.evaluate("document.body.classList.contains('laptop')")
    c.page.wait_for_timeout(500)  # the map's first paint
    height, inner_height, width, inner_width = c.page.evaluate(NO_SCROLL)
    assert height <= inner_height, (height, inner_height)
    assert width <= inner_width, (width, inner_width)


def test_the_laptop_layout(console: OpenConsole) -> None:
    c = console("commander", viewport=LAPTOP)
    assert c.page.evaluate("document.body.classList.contains('laptop')")
    assert not c.page.evaluate("document.body.classList.contains('wall')")
    # No sideways scrolling on a laptop either.
    _, _, width, inner_width = c.page.evaluate(NO_SCROLL)
    assert width <= inner_width, (width, inner_width)


def test_the_layout_follows_the_window(console: OpenConsole) -> None:
    c = console("commander", viewport=LAPTOP)
    c.page.set_viewport_size(WALL)
    c.page.wait_for_function("document.body.classList.contains('wall')")
    c.page.set_viewport_size(LAPTOP)
    c.page.wait_for_function("document.body.classList.contains('laptop')")


def test_the_county_wall_layout_fits_the_screen(console: OpenConsole) -> None:
    c = console("county", "371621", viewport=WALL)
    assert c.page.evaluate("document.body.classList.contains('wall')")
    height, inner_height, width, inner_width = c.page.evaluate(NO_SCROLL)
    assert height <= inner_height and width <= inner_width, (height, width)
