"""End to end in a real browser on the demo's real results: sign in, open the list, a pilot and both running pilots'
results pages; charts render from the locally served plotly.js, the console stays clean, nothing is fetched from
another host and a phone-width page does not scroll sideways.

Skipped when /usr/bin/chromium is missing, unless PILOTLAB_REQUIRE_BROWSER=1 (CI), where that is a failure."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.webui.browser.chromium import CHARTS_DRAWN, MARKS, WIDER_THAN_VIEWPORT

SHOTS = Path("/tmp")

pytestmark = MARKS


def _open_results(page, server, pilot_id: int, query: str = "") -> int:
    """Open a results page and wait until every chart on it is drawn; returns the number of charts."""
    page.goto(f"{server.url}/pilots/{pilot_id}/results{query}")
    expected = page.locator("[data-figure]").count()
    assert expected >= 6
    page.wait_for_function(CHARTS_DRAWN, arg=expected)
    assert page.locator(".js-plotly-plot").count() == expected
    assert page.locator(".verdict h2").inner_text().strip()
    return expected


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
    sequential_id, sequential_name = server.pilots["group_sequential"]
    team_id, _ = server.pilots["always_valid"]

    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    page.get_by_label("User name").fill(server.user)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("heading", name="Pilots").is_visible()
    running = page.locator("td[data-label=Status] .status-running").count()
    assert running >= 2 and page.locator(".verdict-cell .badge").count() == running  # every running pilot has a verdict
    assert page.locator(".verdict-cell", has_text="No results yet").count() == 1  # the draft has none
    page.screenshot(path=str(SHOTS / "pilotlab-list.png"), full_page=True)

    page.get_by_role("link", name=sequential_name).click()
    page.wait_for_url(f"{server.url}/pilots/{sequential_id}")
    assert page.locator("a[href*='/roster?']").count() == 0  # a viewer gets no moderator-level downloads
    page.screenshot(path=str(SHOTS / "pilotlab-overview.png"), full_page=True)

    page.get_by_role("link", name="See results").click()
    page.wait_for_url(f"{server.url}/pilots/{sequential_id}/results")
    _open_results(page, server, sequential_id)
    assert "Review 3 of 6 done" in page.locator(".verdict").inner_text()
    page.screenshot(path=str(SHOTS / "pilotlab-results.png"), full_page=True)

    _open_results(page, server, team_id)
    assert "Robustness check" in page.locator(".result-notes").first.inner_text()
    page.screenshot(path=str(SHOTS / "pilotlab-results-team.png"), full_page=True)

    _open_results(page, server, sequential_id, "?as_of=2026-10-29")  # before the first planned review
    assert "what we knew on 2026-10-29" in page.locator(".as-of").inner_text()
    assert "no design-valid interval" in page.locator(".verdict").inner_text()

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may push the page sideways
    for pilot_id in (sequential_id, team_id):
        _open_results(page, server, pilot_id)
        page.wait_for_timeout(300)
        wide = page.evaluate(WIDER_THAN_VIEWPORT)
        assert wide == [], wide
    page.screenshot(path=str(SHOTS / "pilotlab-results-phone.png"), full_page=True)

    download = page.request.get(f"{server.url}/api/v1/pilots/{sequential_id}/roster?format=csv")
    assert download.status == 403  # the session works for the API, but viewers may not export moderator rows

    assert problems == []
    assert hosts <= {"127.0.0.1"}
