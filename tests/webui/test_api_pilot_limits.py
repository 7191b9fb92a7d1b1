"""Plans the engine cannot serve are refused with a 422 naming the field, API and pages alike: dates longer than the
52 weeks it plans and analyses (and stored pilots that predate that rule, which must never tie up a worker), rosters
that leave an arm without units, and strata that no roster column can fill."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from pilots.models import Assignment, Pilot, RosterEntry
from pilots.schemas.horizon import MAX_PILOT_DAYS, MAX_WEEKS
from tests.webui.setup_support import errors_by_field, post_form, signed_in, upload
from tests.webui.test_api_pilots import add_roster, body, create
from tests.webui.test_pages_plan_form import FORM

START = date.fromisoformat(body()["start_date"])  # 2030-06-03
LAST_DAY = date.fromordinal(START.toordinal() + MAX_PILOT_DAYS - 1)  # the last end date allowed
PLAN_QUERY = "baseline=0.93&icc=0.05&audits_per_week=12"


def _fields(response) -> list[str]:
    return [detail["field"] for detail in response.json["error"]["details"]]


def _stored_with(session, pilot_id: int, **dates) -> None:
    """Give a stored pilot dates the API no longer accepts, as a row written before the rule would have them."""
    session.rollback()
    pilot = session.get(Pilot, pilot_id)
    for name, value in dates.items():
        setattr(pilot, name, date.fromisoformat(value))
    session.commit()


# --- dates -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "end_date", ["9999-12-31", "2207-03-01", "2999-04-01", date.fromordinal(LAST_DAY.toordinal() + 1)]
)
def test_create_refuses_an_end_date_beyond_52_weeks(api, session, end_date):
    response = api.as_("pm").post("/api/v1/pilots", json=body(end_date=str(end_date)))
    assert response.status_code == 422, response.json
    [detail] = response.json["error"]["details"]
    assert detail["field"] == "end_date"
    assert f"at most {MAX_WEEKS} weeks" in detail["message"] and LAST_DAY.isoformat() in detail["message"]
    session.rollback()
    assert session.exec(select(Pilot)).all() == []


def test_the_longest_pilot_allowed_is_52_weeks(api):
    pilot = create(api, end_date=LAST_DAY.isoformat())
    assert pilot["end_date"] == LAST_DAY.isoformat()


def test_create_refuses_a_pre_period_beyond_52_weeks(api):
    response = api.as_("pm").post("/api/v1/pilots", json=body(pre_period_start="1900-01-01"))
    assert response.status_code == 422
    assert _fields(response) == ["pre_period_start"]
    earliest = date.fromordinal(START.toordinal() - MAX_PILOT_DAYS)
    assert create(api, pre_period_start=earliest.isoformat())["pre_period_start"] == earliest.isoformat()


@pytest.mark.parametrize(
    "patch",
    [
        {"end_date": "9999-12-31"},
        {"start_date": "2001-01-01"},  # moving the start back stretches the pilot just the same
        {"pre_period_start": "0001-01-01"},
    ],
)
def test_editing_a_draft_refuses_dates_beyond_52_weeks(api, session, patch):
    pilot = create(api)
    response = api.as_("pm").patch(f"/api/v1/pilots/{pilot['id']}", json=patch)
    assert response.status_code == 422, response.json
    field = "pre_period_start" if "pre_period_start" in patch else "end_date"
    assert field in _fields(response)
    session.rollback()
    assert session.get(Pilot, pilot["id"]).end_date.isoformat() == body()["end_date"]


def test_the_plan_form_refuses_an_end_date_beyond_52_weeks(app, client, session):
    signed_in(app, client, "pm")
    response = post_form(client, "/pilots/new", {**FORM, "end_date": "2999-04-01"})
    assert response.status_code == 422
    errors = errors_by_field(response.get_data(as_text=True))
    assert set(errors) == {"end_date"} and f"at most {MAX_WEEKS} weeks" in errors["end_date"][0]
    session.rollback()
    assert session.exec(select(Pilot)).all() == []


@pytest.mark.timeout(60)
def test_a_stored_draft_with_a_far_end_date_cannot_be_planned_or_launched(api, session):
    pilot = create(api)
    add_roster(session, pilot["id"])
    _stored_with(session, pilot["id"], end_date="9999-12-31")
    plan = api.get(f"/api/v1/pilots/{pilot['id']}/plan?{PLAN_QUERY}")
    assert plan.status_code == 422 and _fields(plan) == ["end_date"]
    launch = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    assert launch.status_code == 422 and _fields(launch) == ["end_date"]
    session.rollback()
    assert session.get(Pilot, pilot["id"]).status == "draft"
    assert session.exec(select(Assignment)).all() == []
    # Any edit re-validates the whole plan, so the draft is fixed by moving its end date, and only that way.
    assert "end_date" in _fields(api.as_("pm").patch(f"/api/v1/pilots/{pilot['id']}", json={"name": "Renamed"}))
    fixed = api.as_("pm").patch(f"/api/v1/pilots/{pilot['id']}", json={"end_date": LAST_DAY.isoformat()})
    assert fixed.status_code == 200, fixed.json


@pytest.mark.timeout(60)
def test_the_planning_page_says_why_a_stored_far_end_date_cannot_be_planned(app, api, client, session):
    pilot = create(api)
    add_roster(session, pilot["id"])
    _stored_with(session, pilot["id"], end_date="9999-12-31")
    signed_in(app, client, "pm")
    response = client.get(f"/pilots/{pilot['id']}/planning?baseline=93&icc=0.05&audits_per_week=12")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "end_date: makes the pilot" in html and f"at most {MAX_WEEKS} weeks" in html


@pytest.mark.timeout(60)
def test_a_stored_running_pilot_with_a_far_end_date_never_ties_up_a_worker(app, api, client, session):
    pilot = create(api)
    add_roster(session, pilot["id"])
    assert api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch").status_code == 200
    _stored_with(session, pilot["id"], end_date="2207-03-01", pre_period_start="1900-01-01")
    results = api.get(f"/api/v1/pilots/{pilot['id']}/results")
    assert results.status_code == 422
    assert set(_fields(results)) == {"end_date", "pre_period_start"}
    assert "cannot be analysed" in results.json["error"]["message"]
    plan = api.get(f"/api/v1/pilots/{pilot['id']}/plan?{PLAN_QUERY}&weeks=4")
    assert plan.status_code == 422 and "end_date" in _fields(plan)
    signed_in(app, client, "pm")
    listing = client.get("/")
    assert listing.status_code == 200 and pilot["name"] in listing.get_data(as_text=True)
    page = client.get(f"/pilots/{pilot['id']}/results")
    assert page.status_code == 200 and "cannot be analysed" in page.get_data(as_text=True)


# --- a unit for every arm ----------------------------------------------------------------------------------------


def test_launch_refuses_fewer_moderators_than_arms(api, session):
    arms = [{"name": "control"}, {"name": "a"}, {"name": "b"}]
    pilot = create(api, arms=arms, strata=[])
    add_roster(session, pilot["id"], size=1)
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    assert response.status_code == 422, response.json
    [detail] = response.json["error"]["details"]
    assert detail["field"] == "roster"
    assert "1 moderator" in detail["message"] and "at least 3" in detail["message"]
    session.rollback()
    assert session.get(Pilot, pilot["id"]).status == "draft"
    assert session.exec(select(Assignment)).all() == []


def test_launch_refuses_a_team_pilot_with_one_team(api, session):
    pilot = create(api, unit="team", strata=["site"])
    for k in range(4):
        session.add(RosterEntry(pilot_id=pilot["id"], moderator_id=f"m{k}", team="only", site="dublin"))
    session.commit()
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    assert response.status_code == 422
    assert _fields(response) == ["roster"] and "1 team" in response.json["error"]["details"][0]["message"]


def test_launch_with_one_unit_per_arm_fills_every_arm(api, session):
    arms = [{"name": "control"}, {"name": "a"}, {"name": "b"}]
    pilot = create(api, arms=arms, strata=[])
    add_roster(session, pilot["id"], size=3)
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    if response.status_code == 200:  # the first block may hold two cycles, so three units can miss an arm
        assert response.json["assigned_units"] == 3
        session.rollback()
        assert {a.arm for a in session.exec(select(Assignment)).all()} == {"control", "a", "b"}
    else:
        assert response.status_code == 422 and _fields(response) == ["roster"]
        assert "without any" in response.json["error"]["details"][0]["message"]


# --- strata ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stratum", ["moderator_id", "arm", "stratum"])
def test_create_refuses_strata_no_roster_can_fill(api, stratum):
    response = api.as_("pm").post("/api/v1/pilots", json=body(strata=["site", stratum]))
    assert response.status_code == 422
    assert _fields(response) == ["strata.1"]


def test_extra_roster_attributes_remain_valid_strata(api):
    assert create(api, strata=["shift", "baseline_accuracy"])["strata"] == ["shift", "baseline_accuracy"]


def test_roster_upload_names_a_stratum_column_the_roster_lacks(api, session):
    pilot = create(api, strata=["site", "shoe_size"])
    rows = [{"moderator_id": f"m{k}", "team": "t", "site": "dublin"} for k in range(120)]
    response = api.as_("pm").put(f"/api/v1/pilots/{pilot['id']}/roster", json={"moderators": rows})
    assert response.status_code == 422, response.json
    [detail] = response.json["error"]["details"]
    assert detail["field"] == "shoe_size" and "no column of the roster" in detail["message"]
    header = "moderator_id,team,site,language,tenure_months\n"
    as_csv = header + "".join(f"m{k},t,dublin,en,3\n" for k in range(120))
    response = api.as_("pm").put(
        f"/api/v1/pilots/{pilot['id']}/roster", data=as_csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422 and _fields(response) == ["shoe_size"]
    session.rollback()
    assert session.exec(select(RosterEntry)).all() == []
    with_column = [{**row, "shoe_size": 40 + k % 5} for k, row in enumerate(rows)]
    stored = api.as_("pm").put(f"/api/v1/pilots/{pilot['id']}/roster", json={"moderators": with_column})
    assert stored.status_code == 200, stored.json


def test_launch_names_a_missing_stratum_column_once(api, session):
    pilot = create(api, strata=["site"])
    add_roster(session, pilot["id"], size=8)
    assert api.as_("pm").patch(f"/api/v1/pilots/{pilot['id']}", json={"strata": ["shoe_size"]}).status_code == 200
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    assert response.status_code == 422
    assert response.json["error"]["details"] == [
        {
            "field": "shoe_size",
            "message": "is a stratum of the pilot but no column of the roster (columns: team, site, language, "
            "tenure_months)",
            "row": None,
        }
    ]


def test_the_roster_page_names_a_stratum_column_the_roster_lacks(app, client, api, session):
    pilot = create(api, strata=["shoe_size"])
    signed_in(app, client, "admin")
    content = b"moderator_id,team,site,language,tenure_months\nm1,t,dublin,en,3\nm2,t,manila,en,4\n"
    response = upload(client, f"/pilots/{pilot['id']}/roster", content)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html and "shoe_size" in html and "no column of the roster" in html
    session.rollback()
    assert session.exec(select(RosterEntry)).all() == []
