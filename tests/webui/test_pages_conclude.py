"""Concluding from the site with a decision record, and the decision on the list, the overview and the results
page (through the `decision_of` presenter and the `_decision.html` macros)."""

from __future__ import annotations

import pytest

from pilots import decisions
from pilots.models import Pilot
from tests.webui.page_support import db
from tests.webui.setup_support import READERS, WRITERS, draft, errors_by_field, post_form, running, signed_in


@pytest.mark.parametrize("role", WRITERS)
def test_concluding_records_the_decision_with_the_recommendation(app, client, session, role):
    pilot_id = running(app)
    signed_in(app, client, role)
    page = client.get(f"/pilots/{pilot_id}/conclude").get_data(as_text=True)
    assert "What the results say now" in page and "Stopped for another reason" in page
    missing = post_form(client, f"/pilots/{pilot_id}/conclude", {})
    assert missing.status_code == 422 and errors_by_field(missing.get_data(as_text=True)) == {
        "decision": ["Choose what was decided."]
    }
    typed = {"decision": "roll_out", "note": "End of quarter."}
    needs_why = post_form(client, f"/pilots/{pilot_id}/conclude", typed)
    assert needs_why.status_code == 422
    html = needs_why.get_data(as_text=True)
    assert "differs from the results" in errors_by_field(html)["rationale"][0]
    assert 'value="roll_out" checked' in html and "End of quarter." in html  # nothing typed is lost
    session.rollback()
    assert session.get(Pilot, pilot_id).status == "running"
    done = post_form(client, f"/pilots/{pilot_id}/conclude", {**typed, "rationale": "Leadership accepts the risk."})
    assert done.status_code == 302
    session.rollback()
    pilot = session.get(Pilot, pilot_id)
    assert pilot.status == "concluded" and pilot.decision == "roll_out"
    assert pilot.decision_by == f"{role}-person" and pilot.decision_rationale == "Leadership accepts the risk."
    overview = client.get(f"/pilots/{pilot_id}").get_data(as_text=True)
    assert "Decision: Roll out" in overview and "Leadership accepts the risk." in overview
    assert f"decided by {role}-person on" in overview and "This differs from the results at that moment" in overview
    assert client.get(f"/pilots/{pilot_id}/conclude").status_code == 302  # concluded once


def test_following_the_recommendation_needs_no_rationale(app, client, session, monkeypatch):
    monkeypatch.setattr(decisions, "current_recommendation", lambda session, pilot_id: ("no_go", False))
    pilot_id = running(app)
    signed_in(app, client, "pm")
    page = client.get(f"/pilots/{pilot_id}/conclude").get_data(as_text=True)
    assert "badge-no-go" in page and "(follows the results)" in page
    assert post_form(client, f"/pilots/{pilot_id}/conclude", {"decision": "do_not_roll_out"}).status_code == 302
    overview = client.get(f"/pilots/{pilot_id}").get_data(as_text=True)
    assert "This follows the results at that moment: No-go." in overview


@pytest.mark.parametrize("role", READERS)
def test_readers_see_the_decision_but_cannot_conclude(app, client, role):
    pilot_id = running(app)
    with db(app) as session:
        from pilots import lifecycle

        lifecycle.conclude_pilot(session, pilot_id, "pm-person", decision="stopped", rationale="Vendor withdrew.")
    signed_in(app, client, role)
    other = running(app, name="Another", layer="other-layer")
    assert client.get(f"/pilots/{other}/conclude").status_code == 403
    listing = client.get("/").get_data(as_text=True)
    assert "Stopped for another reason" in listing
    results = client.get(f"/pilots/{pilot_id}/results").get_data(as_text=True)
    assert "Decision taken: Stopped for another reason" in results and "Vendor withdrew." in results


def test_old_concluded_pilots_without_a_decision_still_render(app, client):
    pilot_id = running(app)
    with db(app) as session:
        from pilots import lifecycle

        lifecycle.conclude_pilot(session, pilot_id, "pm-person", "old style")
    signed_in(app, client, "viewer")
    assert client.get("/").status_code == 200
    overview = client.get(f"/pilots/{pilot_id}")
    assert overview.status_code == 200 and "Decision recorded" not in overview.get_data(as_text=True)
    assert client.get(f"/pilots/{pilot_id}/results").status_code == 200


def test_a_draft_cannot_be_concluded_from_the_page(app, client):
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    response = client.get(f"/pilots/{pilot_id}/conclude")
    assert response.status_code == 302
    assert "only a running pilot can be concluded" in client.get(f"/pilots/{pilot_id}").get_data(as_text=True)
