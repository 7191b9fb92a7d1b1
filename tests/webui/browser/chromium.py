"""What every browser test shares: Debian's Chromium, the marks that skip without it (a failure in CI, where
PILOTLAB_REQUIRE_BROWSER=1), the page checks, and function-scoped `server` / `page` fixtures (a fresh demo server
and a 1280 px page). Modules import the fixtures they use: `from tests.webui.browser.chromium import page, server`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.webui.browser.server import running_server

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("PILOTLAB_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED, reason="Debian's Chromium is not installed at /usr/bin/chromium"
    ),
]

# Elements whose right edge sticks out past the viewport (tag, class, right edge), innermost first; scrolling tables,
# charts and the API reference may.
WIDER_THAN_VIEWPORT = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll, svg, .api-docs'))
  .map(e => [e.tagName, e.className && e.className.baseVal === undefined ? e.className : '',
             Math.round(e.getBoundingClientRect().right)])
  .reverse().slice(0, 8)
"""
CHARTS_DRAWN = "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n"


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"PILOTLAB_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")


def launch(playwright):
    """Debian's Chromium, headless, offline from anything but the served app."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


@pytest.fixture
def server(tmp_path):
    require_chromium()
    with running_server(tmp_path) as server:
        yield server


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()
