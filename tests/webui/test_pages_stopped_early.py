"""A pilot a person concluded before its planned end is described as of the stop: not the end-of-pilot verdict of a
pilot that ran its course, no "wait until" and no future date as the data's end, and a "Stopped before a decision"
badge; the API's conclude needs the decision record, as the page's form does."""

from __future__ import annotations

from html import unescape

from tests.webui.page_support import make_user, sign_in
from tests.webui.test_api_pilots import launched


def test_a_pilot_stopped_early_without_audits_gets_no_end_of_pilot_verdict(app, api, session, client):
    pilot = launched(api, session)
    concluded = api.as_("pm").post(
        f"/api/v1/pilots/{pilot['id']}/conclude",
        json={"decision": "stopped", "rationale": "The vendor withdrew the tool."},
    )
    assert concluded.status_code == 200, concluded.json
    stopped_on = concluded.json["concluded_at"][:10]

    document = api.get(f"/api/v1/pilots/{pilot['id']}/results").json
    assert document["end_reached"] is False
    assert document["stopped_early_on"] == stopped_on
    assert document["data_through"] is None
    assert document["decision"]["recommendation"] == "continue"
    reasons = " ".join(document["decision"]["reasons"])
    assert "planned end was reached" not in reasons
    assert f"concluded on {stopped_on}, before its planned end (2030-07-01)" in reasons
    assert "Stopped before a decision" in reasons and "keep collecting" not in reasons

    make_user(app, "viewer")
    sign_in(client, "viewer-person")
    page = unescape(client.get(f"/pilots/{pilot['id']}/results").get_data(as_text=True))
    page = page[page.index('<section class="verdict') :]
    page = page[: page.index("</section>")]  # the banner (the decision card quotes the recommendation at the stop)
    assert "Stopped before a decision" in page
    assert f"The pilot was stopped on {stopped_on}, before its planned end" in page
    for wrong in ("No-go", "Keep running", "wait until", "data through 20", "planned end was reached"):
        assert wrong not in page, wrong
    assert "Stopped early by pm-user" in page
    listing = unescape(client.get("/").get_data(as_text=True))
    assert "Stopped before a decision" in listing and "Keep running" not in listing


def test_conclude_through_the_api_needs_a_decision(api, session):
    pilot = launched(api, session)
    for body in ({}, {"note": "Enough data."}, None):
        response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/conclude", json=body)
        assert response.status_code == 422, (body, response.json)
        assert [d["field"] for d in response.json["error"]["details"]] == ["decision"]
    assert api.get(f"/api/v1/pilots/{pilot['id']}").json["status"] == "running"
