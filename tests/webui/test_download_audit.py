"""Every export download is in the audit trail: who, which table of which pilot, format and date filters; the
pilot's own history stays about its changes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pilots import events
from pilots.models import Event
from tests.pilots.results_support import make_pilot as results_pilot
from tests.pilots.results_support import settings, write_unit_days
from tests.webui.page_support import db, make_pilot
from tests.webui.setup_support import signed_in


def _downloads(app) -> list[tuple]:
    with db(app) as session:
        rows = session.exec(select(Event).where(Event.action == "export.downloaded").order_by(Event.id))
        return [(e.actor, e.details["table"], e.details["pilot"], e.details["format"], e.pilot_id) for e in rows]


def test_downloads_are_recorded_with_who_and_what(app, api):
    pilot = make_pilot(app).id
    assert api.as_("analyst").get(f"/api/v1/pilots/{pilot}/roster?format=csv").status_code == 200
    assert api.as_("pm").get(f"/api/v1/pilots/{pilot}/assignments").status_code == 200
    assert api.as_("analyst").get(f"/api/v1/pilots/{pilot}/outcomes?since=2025-03-03&format=csv").status_code == 200
    assert api.as_("admin").get(f"/api/v1/pilots/{pilot}/units").status_code == 200
    assert _downloads(app) == [
        ("analyst-user", "roster", pilot, "csv", None),
        ("pm-user", "assignments", pilot, "json", None),
        ("analyst-user", "outcomes", pilot, "csv", None),
        ("admin-user", "units", pilot, "json", None),
    ]
    with db(app) as session:
        outcomes = session.exec(select(Event).where(Event.action == "export.downloaded").offset(2)).first()
        assert outcomes.details["since"] == "2025-03-03"
        assert events.history(session, pilot) == []


def test_refused_downloads_are_not_recorded(app, api):
    pilot = make_pilot(app).id
    assert api.as_("viewer").get(f"/api/v1/pilots/{pilot}/roster").status_code == 403
    assert api.as_("analyst").get("/api/v1/pilots/9999/roster").status_code == 404
    assert _downloads(app) == []


@pytest.mark.parametrize("file_format", ["json", "csv"])
def test_every_export_route_is_recorded_in_both_formats(app, api, session, file_format):
    """Rosters, assignments, outcomes, units, balance and results: JSON downloads are recorded like CSV ones."""
    sim = settings(n_moderators=20, weeks=2, pre_weeks=1)
    pilot, roster = results_pilot(session, sim, metrics=[{"name": "accuracy"}])
    write_unit_days(session, pilot, roster, sim)
    tables = ("roster", "assignments", "outcomes", "units", "balance", "results")
    for table in tables:
        response = api.as_("analyst").get(f"/api/v1/pilots/{pilot}/{table}?format={file_format}")
        body = response.get_data(as_text=True)  # streamed: read it whole so the stream closes
        assert response.status_code == 200, (table, body[:300])
    recorded = _downloads(app)
    assert recorded[: len(tables)] == [("analyst-user", table, pilot, file_format, None) for table in tables]


def test_reading_the_verdict_through_the_api_is_not_a_download(app, api, session):
    """A bare JSON read of results or balance (a client polling the verdict) writes nothing; naming the format, as
    the Downloads page's links do, is a download."""
    sim = settings(n_moderators=20, weeks=2, pre_weeks=1)
    pilot, roster = results_pilot(session, sim, metrics=[{"name": "accuracy"}])
    write_unit_days(session, pilot, roster, sim)
    for table in ("balance", "results"):
        assert api.as_("analyst").get(f"/api/v1/pilots/{pilot}/{table}").status_code == 200
    assert _downloads(app) == []


def test_the_html_report_is_recorded(app, client, session):
    sim = settings(n_moderators=20, weeks=2, pre_weeks=1)
    pilot, roster = results_pilot(session, sim, metrics=[{"name": "accuracy"}])
    write_unit_days(session, pilot, roster, sim)
    signed_in(app, client, "viewer")
    assert client.get(f"/pilots/{pilot}/report.html").status_code == 200
    assert _downloads(app) == [("viewer-person", "report", pilot, "html", None)]
