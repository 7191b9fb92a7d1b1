"""Roster and outcome uploads from the site: the preview and counts, row-level errors with nothing stored, late
joiners on a running pilot, the outcome limit pointing to the CLI, the sample files, and who may upload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from pilots.ingestion import MAX_ROWS_PER_REQUEST
from pilots.models import Assignment, Event, Outcome, RosterEntry
from tests.webui.setup_support import (
    READERS,
    WRITERS,
    draft,
    outcomes_csv,
    roster_rows,
    running,
    sample,
    signed_in,
    today,
    upload,
)

BAD_ROSTER = b"""moderator_id,team,site,language,tenure_months
m-1,t1,Manila,en,14
m-2,t1,Manila,tl,lots
m-1,t2,Dublin,en,3
"""


def _count(session, model, **where) -> int:
    session.rollback()
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.exec(query).one()


def test_the_sample_files_are_served_and_match_the_repository(app, client):
    signed_in(app, client, "viewer")
    for name in ("roster.csv", "outcomes.csv"):
        response = client.get(f"/samples/{name}")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.data == sample(name)
    assert client.get("/samples/secret.txt").status_code == 404
    rows = roster_rows(sample("roster.csv"))
    assert len(rows) == 120 and {row["site"] for row in rows} == {"Manila", "Dublin", "Austin", "Hyderabad"}


@pytest.mark.parametrize("role", WRITERS)
def test_a_bad_roster_lists_each_problem_and_stores_nothing(app, client, session, role):
    pilot_id = draft(app, with_roster=False)
    signed_in(app, client, role)
    page = client.get(f"/pilots/{pilot_id}/roster").get_data(as_text=True)
    assert 'href="/samples/roster.csv"' in page and "No roster yet" in page
    response = upload(client, f"/pilots/{pilot_id}/roster", BAD_ROSTER)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert '<td class="num">2</td><td>tenure_months</td>' in html
    assert '<td class="num">3</td><td>moderator_id</td>' in html and "duplicates row 1" in html
    assert _count(session, RosterEntry, pilot_id=pilot_id) == 0


def test_a_good_roster_is_stored_with_a_preview_and_counts(app, client, session):
    pilot_id = draft(app, with_roster=False)
    signed_in(app, client, "pm")
    response = upload(client, f"/pilots/{pilot_id}/roster", sample("roster.csv"))
    assert response.status_code == 302
    assert _count(session, RosterEntry, pilot_id=pilot_id) == 120
    html = client.get(f"/pilots/{pilot_id}/roster").get_data(as_text=True)
    assert "Roster saved: 120 moderators." in html
    assert "Current roster: 120 moderators" in html
    rows = roster_rows(sample("roster.csv"))
    manila = sum(row["site"] == "Manila" for row in rows)
    assert f'<td>Manila</td><td class="num">{manila}</td>' in html
    under_six = sum(float(row["tenure_months"]) < 6 for row in rows)
    assert f'<td>&lt;6</td><td class="num">{under_six}</td>' in html
    first = sorted(rows, key=lambda row: row["moderator_id"])[0]["moderator_id"]
    assert f"<td>{first}</td>" in html and "First 10 rows" in html
    event = session.exec(select(Event).where(Event.action == "roster.replaced")).one()
    assert event.actor == "pm-person"


def test_uploading_without_a_file_says_so(app, client):
    pilot_id = draft(app, with_roster=False)
    signed_in(app, client, "pm")
    from tests.webui.setup_support import post_form

    response = post_form(client, f"/pilots/{pilot_id}/roster", {})
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)


def test_late_joiners_join_a_running_pilot(app, client, session):
    pilot_id = running(app)
    signed_in(app, client, "pm")
    html = client.get(f"/pilots/{pilot_id}/roster").get_data(as_text=True)
    assert "Add late joiners" in html
    joiners = b"moderator_id,team,site,language,tenure_months\nnew-1,man-t1,Manila,en,2\nnew-2,dub-t1,Dublin,en,30\n"
    response = upload(client, f"/pilots/{pilot_id}/roster", joiners)
    assert response.status_code == 302
    assert _count(session, Assignment, pilot_id=pilot_id, late_joiner=True) == 2
    html = client.get(f"/pilots/{pilot_id}/roster").get_data(as_text=True)
    assert "2 late joiners added" in html and "2 of them joined late" in html
    changed = b"moderator_id,team,site,language,tenure_months\nnew-1,man-t1,Austin,en,2\n"
    response = upload(client, f"/pilots/{pilot_id}/roster", changed)
    assert response.status_code == 409 and "already on the roster with other" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", READERS)
def test_readers_cannot_upload(app, client, session, role):
    pilot_id = draft(app, with_roster=False)
    signed_in(app, client, role)
    assert client.get(f"/pilots/{pilot_id}/roster").status_code == 403
    assert client.get(f"/pilots/{pilot_id}/outcomes").status_code == 403
    assert "Upload" not in client.get(f"/pilots/{pilot_id}").get_data(as_text=True)


def _moderators() -> list[str]:
    return [row["moderator_id"] for row in roster_rows(sample("roster.csv"))]


@pytest.mark.parametrize("role", WRITERS)
def test_outcomes_are_accepted_then_counted_as_duplicates(app, client, session, role):
    pilot_id = running(app)
    signed_in(app, client, role)
    page = client.get(f"/pilots/{pilot_id}/outcomes").get_data(as_text=True)
    assert f"{MAX_ROWS_PER_REQUEST:,} rows per file" in page and f"pilotlab outcomes import {pilot_id}" in page
    assert f'href="/pilots/{pilot_id}/samples/outcomes.csv"' in page  # a sample of its own moderators and dates
    when = datetime.combine(today() - timedelta(days=2), datetime.min.time(), UTC) + timedelta(hours=10)
    content = outcomes_csv(_moderators()[:30], when)
    response = upload(client, f"/pilots/{pilot_id}/outcomes", content)
    assert response.status_code == 200
    assert "<strong>60</strong> new audits accepted" in response.get_data(as_text=True)
    response = upload(client, f"/pilots/{pilot_id}/outcomes", content)
    assert "<strong>0</strong> new audits accepted" in response.get_data(as_text=True)
    assert "<strong>60</strong> duplicates" in response.get_data(as_text=True)
    assert _count(session, Outcome, pilot_id=pilot_id) == 60


def test_the_pilot_sample_is_its_own_moderators_in_its_window_and_uploads_cleanly(app, client, session):
    """The upload page's sample: simulated audits of the pilot's roster dated inside its pre-period (a pilot launched
    today has no whole pilot day yet), accepted whole, then counted as duplicates; refused once the pilot has
    outcomes; readers cannot fetch it."""
    pilot_id = running(app)
    signed_in(app, client, "pm")
    response = client.get(f"/pilots/{pilot_id}/samples/outcomes.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = roster_rows(response.data)
    assert len(rows) > 500
    assert {row["moderator_id"] for row in rows} <= set(_moderators())
    days = {row["audited_at"][:10] for row in rows}
    assert max(days) < today().isoformat() and min(days) >= (today() - timedelta(days=14)).isoformat()
    assert all(row["audit_id"].startswith("sample-") for row in rows)
    first = upload(client, f"/pilots/{pilot_id}/outcomes", response.data)
    assert first.status_code == 200, first.get_data(as_text=True)[:2000]
    assert f"<strong>{len(rows):,}</strong> new audits accepted" in first.get_data(as_text=True)
    again = upload(client, f"/pilots/{pilot_id}/outcomes", response.data)
    assert f"<strong>{len(rows):,}</strong> duplicates" in again.get_data(as_text=True)
    assert _count(session, Outcome, pilot_id=pilot_id) == len(rows)
    # Now the pilot has QA outcomes: no more samples (they would mix simulated audits into real data).
    refused = client.get(f"/pilots/{pilot_id}/samples/outcomes.csv")
    assert refused.status_code == 409 and "already has QA outcomes" in refused.get_data(as_text=True)
    page = client.get(f"/pilots/{pilot_id}/outcomes").get_data(as_text=True)
    assert f"/pilots/{pilot_id}/samples/outcomes.csv" not in page and 'href="/samples/outcomes.csv"' in page
    viewer = signed_in(app, app.test_client(), "viewer")
    assert viewer.get(f"/pilots/{pilot_id}/samples/outcomes.csv").status_code == 403


def test_bad_outcomes_list_each_row_and_store_nothing(app, client, session):
    pilot_id = running(app)
    signed_in(app, client, "pm")
    when = datetime.combine(today() - timedelta(days=1), datetime.min.time(), UTC)
    good = outcomes_csv(_moderators()[:3], when).decode().splitlines()
    bad = [*good, "x-1,nobody,2026-01-01T00:00:00Z,true,false,40", "x-2,mod-0001,yesterday,maybe,false,40"]
    response = upload(client, f"/pilots/{pilot_id}/outcomes", ("\n".join(bad) + "\n").encode())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert '<td class="num">7</td><td>moderator_id</td>' in html
    assert '<td class="num">8</td><td>audited_at</td>' in html and '<td class="num">8</td><td>correct</td>' in html
    assert _count(session, Outcome, pilot_id=pilot_id) == 0


def test_a_draft_takes_no_outcomes(app, client):
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    assert "once the pilot has launched" in client.get(f"/pilots/{pilot_id}/outcomes").get_data(as_text=True)
    response = upload(client, f"/pilots/{pilot_id}/outcomes", b"audit_id,moderator_id,audited_at,correct\n")
    assert response.status_code == 409
