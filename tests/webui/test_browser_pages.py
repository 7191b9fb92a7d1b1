"""The pages in a real headless Chromium against gunicorn, as leadership, a viewer and an analyst would use them:
the downloaded report opens with the network blocked and draws every chart, no link a viewer sees leads to a 403,
the list shows the verdict at phone width, and axe-core finds no serious or critical accessibility violation.

Screenshots of every page (desktop and 390 px) go to $PILOTLAB_SCREENSHOTS when set (else a temporary folder).
Skipped when /usr/bin/chromium is missing, unless PILOTLAB_REQUIRE_BROWSER=1 (CI), where that is a failure."""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.webui.browser.chromium import (
    CHARTS_DRAWN,
    DESKTOP,
    MARKS,
    PHONE,
    WIDER_THAN_VIEWPORT,
    launch,
    require_chromium,
)
from tests.webui.browser.server import running_server

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    with running_server(tmp_path_factory.mktemp("browser-pages")) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("PILOTLAB_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _signed_in(browser, server, user: str, viewport=DESKTOP, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(server.url + "/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    return context, page


def _draw(page) -> int:
    expected = page.locator("[data-figure]").count()
    if expected:
        page.wait_for_function(CHARTS_DRAWN, arg=expected)
    return expected


def test_a_leader_downloads_the_report_and_reads_it_offline(server, browser, tmp_path, shots):
    pilot_id, _ = server.pilots["group_sequential"]
    context, page = _signed_in(browser, server, "demo-viewer")
    page.goto(f"{server.url}/pilots/{pilot_id}/results")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download report (one HTML file)").click()
    download = info.value
    assert download.suggested_filename == f"pilot-{pilot_id}-report.html"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    context.close()

    offline = browser.new_context(viewport=DESKTOP)
    requested: list[str] = []
    offline.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    offline.on("request", lambda request: requested.append(request.url))
    page = offline.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(saved.as_uri())
    charts = _draw(page)
    assert charts >= 9 and page.locator(".js-plotly-plot").count() == charts
    assert page.locator(".verdict h2").inner_text().strip()
    assert [url for url in requested if not url.startswith("file:")] == []
    assert errors == []
    page.screenshot(path=str(shots / "report-offline.png"), full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(shots / "report-print.png"), full_page=True)
    offline.close()


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        url = urljoin(page.url, href)
        if urlsplit(url).netloc == urlsplit(origin).netloc and not href.startswith("#"):
            out.append(url.split("#")[0])
    return out


def test_no_link_a_viewer_sees_leads_to_a_refusal(server, browser):
    context, page = _signed_in(browser, server, "demo-viewer")
    seen: set[str] = set()
    queue = deque([server.url + "/"])
    statuses: dict[str, int] = {}
    while queue and len(seen) < 80:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = page.request.get(url)
        statuses[url] = response.status
        if response.ok and "text/html" in response.headers.get("content-type", "") and "/report.html" not in url:
            page.goto(url)
            queue.extend(link for link in _links(page, server.url) if link not in seen)
    refused = {url: status for url, status in statuses.items() if status >= 400}
    assert refused == {}
    assert any("/results?format=csv" in url for url in statuses)  # the aggregate table is theirs to download
    assert not any("/roster?" in url or "/outcomes?" in url for url in statuses)
    context.close()


def test_the_list_shows_the_verdict_on_a_phone(server, browser, shots):
    context, page = _signed_in(browser, server, "demo-viewer", viewport=PHONE)
    badges = page.locator(".pilot-list .verdict-cell .badge")
    running = page.locator(".pilot-list .status-running").count()
    assert running >= 2 and badges.count() == running  # every running demo pilot shows its verdict
    for index in range(running):
        box = badges.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert badges.nth(index).is_visible()
    assert page.evaluate(WIDER_THAN_VIEWPORT) == []
    page.screenshot(path=str(shots / "list-390.png"), full_page=True)
    context.close()


def _pages(server) -> dict[str, str]:
    sequential, _ = server.pilots["group_sequential"]
    team, _ = server.pilots["always_valid"]
    draft, _ = server.pilots["draft"]
    skewed, _ = server.pilots["skewed_auditors"]
    harm, _ = server.pilots["policy_harm"]
    return {
        "list": "/",
        "list-filtered": "/?kind=training&sort=name&order=asc",
        "overview": f"/pilots/{sequential}",
        "overview-draft": f"/pilots/{draft}",
        "results": f"/pilots/{sequential}/results",
        "results-team": f"/pilots/{team}/results",
        "results-as-of": f"/pilots/{sequential}/results?as_of=2026-10-29",
        "results-skewed-auditors": f"/pilots/{skewed}/results",
        "results-policy-harm": f"/pilots/{harm}/results",
        "report": f"/pilots/{sequential}/report.html",
        "exports": "/exports",
        "exports-pilot": f"/pilots/{sequential}/exports?since=2026-11-01",
        "exports-as-of": "/exports?as_of=2026-11-25",
        "api-reference": "/docs/api",
        "not-found": "/pilots/9999",
    }


# Pages only an admin may open, checked the same way (the trail then holds the sign-ins and downloads of the above).
ADMIN_PAGES = {"admin-audit": "/admin/audit", "admin-users": "/admin/users"}


def test_every_page_is_accessible_and_fits_a_phone(server, browser, shots):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    user = "demo-analyst"
    context, page = _signed_in(browser, server, user)
    problems: dict[str, list] = {}
    pages = [(name, path, False) for name, path in _pages(server).items()]
    pages += [(name, path, True) for name, path in ADMIN_PAGES.items()]
    for name, path, admin in pages:
        if admin and user != "demo-admin":
            context.close()
            user = "demo-admin"
            context, page = _signed_in(browser, server, user)
        for label, viewport in (("desktop", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(viewport)
            page.goto(server.url + path)
            _draw(page)
            if name == "api-reference":
                page.wait_for_selector(".swagger-ui .opblock")
            page.wait_for_timeout(150)
            page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
            if label == "390" and name not in ("api-reference", "report"):
                wide = page.evaluate(WIDER_THAN_VIEWPORT)
                assert wide == [], (name, wide)
                # A scrolling table passes the check above; the trail's rows must fit without it, Pilot column too.
                cells = page.locator("table.audit-list td")
                for index in range(min(cells.count(), 40)):
                    box = cells.nth(index).bounding_box()
                    assert box is None or box["x"] + box["width"] <= PHONE["width"] + 1, (name, index, box)
        if name == "api-reference":
            continue  # the third-party Swagger UI is not ours to fix; its content is checked below
        results = axe.run(page)
        serious = [
            (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            problems[name] = serious
    assert not problems, json.dumps(problems, indent=1)
    page.goto(server.url + "/login")
    context.close()


def test_the_api_reference_works_offline(server, browser):
    context = browser.new_context(viewport=DESKTOP)
    hosts: set[str] = set()
    context.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))
    page = context.new_page()
    page.goto(server.url + "/docs/api")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() >= 15
    assert "PilotLab API" in page.locator(".swagger-ui .info").inner_text()
    assert hosts <= {"127.0.0.1"}
    context.close()
