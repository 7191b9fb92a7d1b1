"""Every page on documents the real results engine produces: the demo's pilots (group-sequential and always-valid
team pilots) at several `as_of` dates, a running pilot with no outcomes and a pilot whose treatment arm has no
audits. Nothing may return a 500, and the page must explain missing numbers instead of hiding them."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from html import unescape

import pytest

from pilots.demo import DEMO_PASSWORD, seed_demo
from pilots.models import Pilot
from pilots.models._time import utcnow
from tests.pilots import results_support
from tests.webui.page_support import db, make_user, sign_in
from webui.database import sessions

TODAY = date(2026, 11, 25)


def _figures(page: str) -> list[dict]:
    """The chart figures embedded in a page (raw HTML, before unescaping)."""
    return [json.loads(unescape(raw)) for raw in re.findall(r'data-figure="([^"]*)"', page)]


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


@pytest.fixture
def demo(app, client):
    """The demo seeded through the real services, and the client signed in as its viewer."""
    with app.app_context():
        factory = sessions()
    summary = seed_demo(factory, today=TODAY, moderators=60)
    sign_in(client, "demo-viewer", DEMO_PASSWORD)
    with db(app) as session:
        pilots = {pilot_id: session.get(Pilot, pilot_id) for pilot_id, *_ in summary.pilots}
    by_method = {}
    for pilot in pilots.values():  # the first pilot of each design (the QA demo pilots come later)
        by_method.setdefault(pilot.design["method"] if pilot.status == "running" else "draft", pilot)
    by_method["qa"] = [p for p in pilots.values() if p.status == "running"][2:]
    return by_method


def test_list_and_overviews_of_the_demo(demo, client):
    page = _get(client, "/")
    singles = [pilot for key, pilot in demo.items() if key != "qa"]
    for pilot in singles + demo["qa"]:
        assert pilot.name in page
    assert page.count('class="badge badge-') == 4  # the running pilots have a verdict, the draft none
    for pilot in singles:
        assert pilot.name in _get(client, f"/pilots/{pilot.id}")
    assert "has not launched yet" in _get(client, f"/pilots/{demo['draft'].id}/results")


def test_group_sequential_results_explain_the_schedule_and_the_adjustment(demo, client):
    pilot = demo["group_sequential"]
    html = _get(client, f"/pilots/{pilot.id}/results")
    page = unescape(html)
    assert 'class="verdict verdict-' in page
    assert "Review 3 of 6 done (on 2026-11-17). Next planned review: 2026-11-27 (review 4 of 6)." in page
    assert re.search(r"Adjusted for pre-pilot accuracy \(variance reduced by \d+%\)", page)
    assert "Guardrail" in page and "allowed margin" in page
    assert "Handle time went down by" in page
    assert "Robustness check:" not in page  # 60 moderators: no randomization test
    figures = _figures(html)
    assert len(figures) >= 9 and page.count('<figcaption class="chart-title">') == len(figures)


def test_team_pilot_results_show_the_robustness_check(demo, client):
    pilot = demo["always_valid"]
    page = unescape(_get(client, f"/pilots/{pilot.id}/results"))
    assert "Robustness check: a randomization test (re-running the random assignment 999 times; read at" in page
    assert '<th scope="col" class="num">Teams</th>' in page
    assert "Results may be checked any day without raising false alarms." in page
    assert "Teams were randomized" in page  # the engine's notes, under "How to read this page"


def _cuts(start: date, through: date) -> list[date]:
    """The start date, the end of every week since, and the last day."""
    days = [start + timedelta(days=7 * week - 1) for week in range(1, 8)]
    return [start, *(d for d in days if d < through), through]


def test_results_as_of_every_week_render(demo, client):
    for method in ("group_sequential", "always_valid"):
        pilot = demo[method]
        for cut in _cuts(pilot.start_date, TODAY - timedelta(days=1)):
            html = _get(client, f"/pilots/{pilot.id}/results?as_of={cut.isoformat()}")
            assert f"what we knew on {cut.isoformat()}" in html
            assert 'class="verdict verdict-' in html
            assert len(_figures(html)) >= 6


def test_before_the_first_planned_review_says_there_is_no_interval_yet(demo, client):
    pilot = demo["group_sequential"]
    first_review = date(2026, 10, 30)
    page = unescape(_get(client, f"/pilots/{pilot.id}/results?as_of={(first_review - timedelta(days=1)).isoformat()}"))
    assert "The first of 6 planned reviews is on 2026-10-30; until then there is no design-valid interval." in page
    assert "Interval not yet available: No planned look with a usable estimate has happened yet" in page
    assert "verdict-continue" in page


def test_as_of_before_the_start_is_explained(demo, client):
    pilot = demo["always_valid"]
    page = _get(client, f"/pilots/{pilot.id}/results?as_of={(pilot.start_date - timedelta(days=3)).isoformat()}")
    assert "is before the pilot started" in page
    tomorrow = (utcnow().date() + timedelta(days=1)).isoformat()
    page = _get(client, f"/pilots/{pilot.id}/results?as_of={tomorrow}")
    assert f"as_of {tomorrow} is in the future" in page


@pytest.fixture
def viewer(app, client):
    make_user(app, "viewer", "director")
    sign_in(client, "director")
    return client


def test_running_pilot_without_outcomes(app, viewer):
    sim = results_support.settings(n_moderators=40)
    with db(app) as session:
        pilot_id, _ = results_support.make_pilot(session, sim, method="group_sequential")
    for path in ("/", f"/pilots/{pilot_id}", f"/pilots/{pilot_id}/results"):
        _get(viewer, path)
    page = unescape(_get(viewer, f"/pilots/{pilot_id}/results"))
    assert "No QA audits have arrived since the pilot started" in page
    assert "verdict-continue" in page
    assert "no comparison of the Treatment group with Control yet" in page


def test_pilot_whose_treatment_arm_has_no_audits(app, viewer):
    sim = results_support.settings(n_moderators=40, weeks=3)
    with db(app) as session:
        pilot_id, roster = results_support.make_pilot(session, sim)
        results_support.write_unit_days(session, pilot_id, roster, sim, keep=lambda _moderator, arm: arm == "control")
    for path in (
        "/",
        f"/pilots/{pilot_id}",
        f"/pilots/{pilot_id}/results",
        f"/pilots/{pilot_id}/results?as_of=2026-03-04",
    ):
        _get(viewer, path)
    page = unescape(_get(viewer, f"/pilots/{pilot_id}/results"))
    assert 'class="verdict verdict-' in page
    assert "no audits" in page  # the treatment arm's mean in the table
    assert "One of the arms has no moderators with audits yet" in page
