"""Simulation mode: a launch (and late joiners) dated in the past, marked simulated everywhere; refused without it."""

from __future__ import annotations

import pytest

from tests.conftest import ApiClient
from tests.webui.page_support import make_user, sign_in
from tests.webui.test_api_pilots import add_roster, create
from webui import create_app
from webui.database import engine as app_engine

PAST = {"start_date": "2024-06-03", "end_date": "2024-07-01", "pre_period_start": "2024-05-06"}


def test_a_simulated_launch_records_the_given_time_and_is_marked(app, client, api, session):
    pilot = create(api, **PAST)
    add_roster(session, pilot["id"])
    response = api.as_("pm").post(
        f"/api/v1/pilots/{pilot['id']}/launch", json={"launched_at": "2024-06-03T02:00:00+02:00"}
    )
    assert response.status_code == 200, response.json
    launched = response.json
    assert launched["simulated"] is True
    assert launched["launched_at"].startswith("2024-06-03T00:00:00")
    assert launched["start_date"] == "2024-06-03" and launched["registered_start_date"] is None
    assignments = api.get(f"/api/v1/pilots/{pilot['id']}/assignments").json["assignments"]
    assert {a["assigned_at"][:19] for a in assignments} == {"2024-06-03T00:00:00"}
    events = api.get(f"/api/v1/pilots/{pilot['id']}/events").json["items"]
    launch = next(e for e in events if e["action"] == "pilot.launched")
    assert launch["details"]["simulated"] is True
    listed = api.get("/api/v1/pilots").json["items"][0]
    assert listed["simulated"] is True
    make_user(app, "viewer", "reader")
    sign_in(client, "reader")
    for page in ("/", f"/pilots/{pilot['id']}", f"/pilots/{pilot['id']}/results"):
        response = client.get(page)
        assert response.status_code == 200 and "simulated-tag" in response.get_data(as_text=True), page


def test_a_simulated_launch_in_the_future_is_refused(api, session):
    pilot = create(api, **PAST)
    add_roster(session, pilot["id"])
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch", json={"launched_at": "2999-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "launched_at"


@pytest.mark.parametrize("value", ["2024-06-03", "2024-06-03T00:00:00", "yesterday", 5])
def test_launched_at_must_be_a_time_with_a_zone(api, session, value):
    pilot = create(api, **PAST)
    add_roster(session, pilot["id"])
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch", json={"launched_at": value})
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "launched_at"


def test_without_simulation_mode_launched_at_and_joined_at_are_refused(database_url, tokens, api, session):
    pilot = create(api, **PAST)
    add_roster(session, pilot["id"])
    production = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x", "SIMULATION": False})
    real = ApiClient(production.test_client(), tokens)
    response = real.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch", json={"launched_at": "2024-06-03T00:00:00Z"})
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "launched_at"
    ok = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch", json={"launched_at": "2024-06-03T00:00:00Z"})
    assert ok.status_code == 200
    late = "moderator_id,team,site,language,tenure_months\nlate-1,team-0,dublin,en,3\n"
    refused = real.as_("pm").post(
        f"/api/v1/pilots/{pilot['id']}/roster?joined_at=2024-06-10T09:00:00Z",
        data=late,
        headers={"Content-Type": "text/csv"},
    )
    assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "joined_at"
    joined = api.as_("pm").post(
        f"/api/v1/pilots/{pilot['id']}/roster?joined_at=2024-06-10T09:00:00Z",
        data=late,
        headers={"Content-Type": "text/csv"},
    )
    assert joined.status_code == 201, joined.json
    assert joined.json["assignments"][0]["assigned_at"].startswith("2024-06-10T09:00:00")
    with production.app_context():
        app_engine().dispose()  # the second app's connections, closed before the garbage collector finds them
