"""End to end as a PM in a real headless Chromium against gunicorn: register a pilot through the form (a missing
name first), upload a roster with a bad row and then a good one, read what the pilot can detect, launch, upload QA
outcomes, open the results and record the decision. Every page is screenshotted (PILOTLAB_SCREENS, default /tmp) for
people to look at; the console stays clean and nothing is fetched from another host.

Skipped when /usr/bin/chromium is missing, unless PILOTLAB_REQUIRE_BROWSER=1 (CI)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pilots.models._time import utcnow
from tests.webui.browser.chromium import CHARTS_DRAWN, MARKS, WIDER_THAN_VIEWPORT
from tests.webui.setup_support import outcomes_csv, roster_rows, sample

SCREENS = Path(os.environ.get("PILOTLAB_SCREENS", "/tmp"))

pytestmark = MARKS


def _shot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"pm-{name}.png"), full_page=True)


def _outcomes(tmp_path: Path) -> Path:
    """Two weeks of pre-period audits and today's, for every moderator of the sample roster."""
    moderators = [row["moderator_id"] for row in roster_rows(sample("roster.csv"))]
    now = utcnow()
    midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
    lines: list[str] = []
    for day in range(1, 15):
        chunk = outcomes_csv(moderators, midnight - timedelta(days=day) + timedelta(hours=9), f"pre{day}")
        lines += chunk.decode().splitlines()[(1 if lines else 0) :]
    today_at = max(now - timedelta(minutes=30), midnight + timedelta(seconds=1))
    lines += outcomes_csv(moderators, today_at - timedelta(seconds=300), "now").decode().splitlines()[1:]
    path = tmp_path / "outcomes.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_pm_takes_a_pilot_from_nothing_to_a_decision(server, page, tmp_path):
    problems: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))
    today = utcnow().date()

    page.goto(server.url + "/login")
    page.get_by_label("User name").fill("demo-pm")
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")

    # 1. Register the pilot through the form; a missing name comes back next to its field, nothing else lost.
    page.get_by_role("link", name="New pilot").click()
    page.wait_for_url(server.url + "/pilots/new")
    page.get_by_label("Hypothesis").fill("Inline policy hints raise accuracy without slowing moderators down.")
    page.get_by_label("Group 2 display name").fill("Policy hints")
    page.locator("#metric-critical_error_rate-role").select_option("guardrail")
    page.locator("#metric-critical_error_rate-margin").fill("0.5")
    page.get_by_label("Pre-period from (optional)").fill((today - timedelta(days=14)).isoformat())
    page.get_by_label("Start").fill(today.isoformat())
    page.get_by_label("Planned end").fill((today + timedelta(days=28)).isoformat())
    page.get_by_role("button", name="Register the pilot").click()
    assert page.locator("#name-errors").inner_text().strip()
    assert page.get_by_label("Group 2 display name").input_value() == "Policy hints"
    _shot(page, "new-pilot-errors")
    page.get_by_label("Pilot name").fill("Policy hints in the console")
    page.get_by_role("button", name="Register the pilot").click()
    page.wait_for_url("**/roster")
    pilot_id = int(page.url.split("/")[-2])

    # 2. The roster: one bad row first (nothing saved, the row named), then the sample file.
    bad = tmp_path / "roster-bad.csv"
    bad.write_bytes(sample("roster.csv").replace(b",Manila,en,4,", b",Manila,en,four,", 1))
    page.get_by_label("Roster CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload roster").click()
    assert "tenure_months" in page.locator(".upload-problems").inner_text()
    assert "No roster yet" in page.content()
    _shot(page, "roster-errors")
    good = tmp_path / "roster.csv"
    good.write_bytes(sample("roster.csv"))
    page.get_by_label("Roster CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Upload roster").click()
    assert "Current roster: 120 moderators" in page.locator("main").inner_text()
    _shot(page, "roster")

    # 3. What it can detect: no pre-period audits yet, so the PM types the assumptions.
    page.get_by_role("link", name="Next: what the pilot can detect").click()
    page.get_by_label("Baseline today (%)").fill("92")
    page.get_by_label("ICC (0 to 1)").fill("0.1")
    page.get_by_label("QA audits per moderator a week").fill("12")
    page.get_by_role("button", name="Calculate").click()
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    assert "points or more" in page.locator(".plan-words").inner_text()
    assert page.locator(".plan-table tbody tr").count() == 5
    _shot(page, "planning")

    # 4. Launch with the confirmation, then the balance table.
    page.get_by_role("link", name="Next: launch").click()
    assert "SHA-256 fingerprint" in page.locator(".launch-confirm").inner_text()
    _shot(page, "launch")
    page.get_by_label("I have checked the plan and the roster").check()
    page.get_by_role("button", name="Launch the pilot").click()
    page.wait_for_url(f"{server.url}/pilots/{pilot_id}/balance")
    totals = page.locator(".balance-table tfoot td").all_inner_texts()
    assert len(totals) == 2 and sum(int(text) for text in totals) == 120
    _shot(page, "balance")

    # 5. QA outcomes.
    page.get_by_role("link", name="Upload QA outcomes").click()
    page.get_by_label("Outcomes CSV file").set_input_files(str(_outcomes(tmp_path)))
    page.get_by_role("button", name="Upload outcomes").click()
    assert "new audits accepted" in page.locator(".success").inner_text()
    _shot(page, "outcomes")

    # 6. Results: the verdict banner and every chart drawn.
    page.get_by_role("link", name="See the results").click()
    expected = page.locator("[data-figure]").count()
    assert expected >= 1
    page.wait_for_function(CHARTS_DRAWN, arg=expected)
    assert page.locator(".verdict h2").inner_text().strip()
    _shot(page, "results")

    # 7. Conclude with the decision record.
    page.goto(f"{server.url}/pilots/{pilot_id}")
    page.get_by_role("link", name="Conclude…").click()
    _shot(page, "conclude")
    page.get_by_role("radio", name="Roll out Make the change").check()
    page.get_by_label("Rationale").fill("Leadership wants the hints before the holiday peak.")
    page.get_by_role("button", name="Conclude the pilot").click()
    page.wait_for_url(f"{server.url}/pilots/{pilot_id}")
    assert "Decision: Roll out" in page.locator(".decision").inner_text()
    _shot(page, "overview-decision")
    page.goto(server.url + "/")
    assert page.locator(".decision-badge").count() == 1
    _shot(page, "list")

    page.set_viewport_size({"width": 390, "height": 844})
    for name, path in (("new-pilot", "/pilots/new"), ("roster", f"/pilots/{pilot_id}/roster"),
                       ("balance", f"/pilots/{pilot_id}/balance")):  # fmt: skip
        page.goto(server.url + path)
        assert page.evaluate(WIDER_THAN_VIEWPORT) == [], path
        _shot(page, f"{name}-phone")

    # The two rejected submits answer 422 on purpose (the form comes back with its problems); nothing else may fail.
    assert [text for text in problems if "status of 422" not in text] == []
    assert sum("status of 422" in text for text in problems) == 2
    assert hosts <= {"127.0.0.1"}
