"""Every export download is in the audit trail: who, which table of which pilot, format and date filters; the
pilot's own history stays about its changes."""

from __future__ import annotations

from sqlmodel import select

from pilots import events
from pilots.models import Event
from tests.webui.page_support import db, make_pilot


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
