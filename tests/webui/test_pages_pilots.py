"""The pilots list and a pilot's overview: what is shown, filtering, and which downloads each role sees."""

from __future__ import annotations

from datetime import date

from pilots import events
from tests.webui.page_support import db, make_pilot, make_user, sign_in
from tests.webui.sample_results import sample_document


def _signed_in(app, client, role: str = "pm"):
    make_user(app, role, f"{role}-person")
    sign_in(client, f"{role}-person")


def test_list_shows_pilots_with_their_verdicts(app, client, monkeypatch):
    monkeypatch.setattr(
        "pilots.results.summary.results_document", lambda session, pilot_id, as_of=None: sample_document(pilot_id)
    )
    running = make_pilot(app)
    make_pilot(
        app,
        name="Calibration training",
        kind="training",
        status="draft",
        plan_hash=None,
        start_date=date(2025, 5, 1),
        end_date=date(2025, 6, 1),
    )
    _signed_in(app, client, "viewer")
    page = client.get("/").get_data(as_text=True)
    assert "Policy hints in the review tool" in page and "Calibration training" in page
    assert 'data-label="Layer"' in page and 'data-label="Data through"' in page
    assert page.count("badge-go") == 1  # the draft has no results
    assert ">Go</span>" in page and "No results yet" in page
    assert f'href="/pilots/{running.id}/results"' in page


def test_list_filters_by_status(app, client):
    make_pilot(app)
    make_pilot(app, name="Calibration training", status="draft", plan_hash=None)
    _signed_in(app, client)
    page = client.get("/?status=draft").get_data(as_text=True)
    assert "Calibration training" in page and "Policy hints" not in page
    assert "No pilots" in client.get("/?status=concluded").get_data(as_text=True)


def test_list_rejects_an_unknown_status_with_a_page(app, client):
    _signed_in(app, client)
    response = client.get("/?status=bogus")
    assert response.status_code == 400
    assert "status must be one of draft, running, concluded" in response.get_data(as_text=True)


def test_list_survives_a_failing_results_service(app, client, monkeypatch):
    def broken(session, pilot_id, as_of=None, **options):
        raise RuntimeError("boom")

    monkeypatch.setattr("pilots.results.summary.results_document", broken)
    make_pilot(app)
    _signed_in(app, client)
    response = client.get("/")
    assert response.status_code == 200
    assert "Policy hints" in response.get_data(as_text=True)


def test_overview_shows_the_plan(app, client):
    pilot = make_pilot(app)
    with db(app) as session:
        events.record(session, "pm-user", "pilot_launched", pilot.id, plan_hash="a" * 64, units=200)
    _signed_in(app, client)
    page = client.get(f"/pilots/{pilot.id}").get_data(as_text=True)
    for text in (
        "Inline policy hints raise decision accuracy",
        "Treatment",
        "50%",
        "Accuracy",
        "Primary metric",
        "Critical error rate",
        "0.5 points worse at most",
        "5% worse at most",
        "Group sequential (planned reviews)",
        "O&#39;Brien-Fleming",
        "Minimum runtime (days)",
        "Locked",
        "a" * 64,
        "pm-user pilot launched.",
    ):
        assert text in page, text


def test_overview_counts_roster_and_assignments(app, client):
    from pilots.models import Assignment, RosterEntry

    pilot = make_pilot(app)
    with db(app) as session:
        for index in range(5):
            moderator = f"m{index}"
            session.add(RosterEntry(pilot_id=pilot.id, moderator_id=moderator))
            arm = "control" if index < 3 else "treatment"
            session.add(
                Assignment(
                    pilot_id=pilot.id, moderator_id=moderator, unit_id=moderator, arm=arm, stratum="all", sequence=index
                )
            )
    _signed_in(app, client)
    page = client.get(f"/pilots/{pilot.id}").get_data(as_text=True)
    assert "Roster: 5 moderators" in page
    assert '<td class="num">3</td>' in page and '<td class="num">2</td>' in page


def test_draft_overview_says_the_plan_is_not_locked(app, client):
    pilot = make_pilot(app, status="draft", plan_hash=None)
    _signed_in(app, client)
    assert "Not locked" in client.get(f"/pilots/{pilot.id}").get_data(as_text=True)


def test_export_links_follow_the_role(app, client):
    pilot = make_pilot(app)
    _signed_in(app, client, "analyst")
    page = client.get(f"/pilots/{pilot.id}").get_data(as_text=True)
    assert f"/api/v1/pilots/{pilot.id}/roster?format=csv" in page
    assert f"/api/v1/pilots/{pilot.id}/outcomes?format=json" in page

    viewer = client.application.test_client()
    make_user(app, "viewer", "vic")
    sign_in(viewer, "vic")
    page = viewer.get(f"/pilots/{pilot.id}").get_data(as_text=True)
    for moderator_level in ("roster", "assignments", "outcomes", "units"):
        assert f"/{moderator_level}?format" not in page
    assert f"/api/v1/pilots/{pilot.id}/results?format=csv" in page
    assert f"/api/v1/pilots/{pilot.id}/balance?format=csv" in page


def test_unknown_pilot_is_a_friendly_404(app, client):
    _signed_in(app, client)
    response = client.get("/pilots/999")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_id_beyond_any_pilot_is_a_404_not_a_database_error(app, client):
    _signed_in(app, client)
    for path in (f"/pilots/{2**40}", f"/pilots/{2**40}/results"):
        assert client.get(path).status_code == 404, path
