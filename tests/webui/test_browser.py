"""End to end in a real browser: sign in, open the list, the pilot and the results page; charts render from the
locally served plotly.js, the console stays clean and nothing is fetched from another host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.webui.browser.server import running_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp")

# Elements whose right edge sticks out past the viewport (tag, class, right edge), innermost first.
WIDER_THAN_VIEWPORT = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll, svg'))
  .map(e => [e.tagName, e.className && e.className.baseVal === undefined ? e.className : '',
             Math.round(e.getBoundingClientRect().right)])
  .reverse().slice(0, 8)
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as server:
        yield server


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()


def test_sign_in_and_read_the_results(server, page):
    problems: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))
    page.on(
        "response",
        lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )

    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    page.screenshot(path=str(SHOTS / "pilotlab-login.png"))
    page.get_by_label("User name").fill(server.user)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("heading", name="Pilots").is_visible()
    assert page.locator(".badge-go").count() == 1
    page.screenshot(path=str(SHOTS / "pilotlab-list.png"), full_page=True)

    page.get_by_role("link", name="Policy hints in the review tool").click()
    page.wait_for_url(f"{server.url}/pilots/{server.pilot_id}")
    assert page.get_by_text("Locked").first.is_visible()
    assert page.locator("a[href*='/roster?']").count() == 0  # a viewer gets no moderator-level downloads
    page.screenshot(path=str(SHOTS / "pilotlab-overview.png"), full_page=True)

    page.get_by_role("link", name="See results").click()
    page.wait_for_url(f"{server.url}/pilots/{server.pilot_id}/results")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 10")
    charts = page.locator(".js-plotly-plot")
    assert charts.count() == 10
    assert page.locator(".js-plotly-plot svg.main-svg").count() >= 10
    assert page.locator(".verdict-go h2").inner_text().startswith("Go")
    page.screenshot(path=str(SHOTS / "pilotlab-results.png"), full_page=True)

    page.goto(f"{server.url}/pilots/{server.pilot_id}/results?as_of=2025-03-10")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 10")
    assert "what we knew on 2025-03-10" in page.locator(".as-of").inner_text()
    page.screenshot(path=str(SHOTS / "pilotlab-results-as-of.png"), full_page=False)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may push the page sideways
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "pilotlab-results-phone.png"), full_page=True)
    wide = page.evaluate(WIDER_THAN_VIEWPORT)
    assert wide == [], wide

    download = page.request.get(f"{server.url}/api/v1/pilots/{server.pilot_id}/roster?format=csv")
    assert download.status == 403  # the session works for the API, but viewers may not export moderator rows

    assert problems == []
    assert hosts <= {"127.0.0.1"}
