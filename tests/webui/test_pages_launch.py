"""The planning panel, the launch confirmation and the balance table: plain words, the same calculator as
`GET /pilots/{id}/plan`, the past-start wording, the plan lock, and who may do what."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from pilots import lifecycle
from pilots.models import Assignment, Pilot
from pilots.roster import replace_roster
from pilots.roster.upload import parse_upload
from pilots.schemas import PilotUpdate
from tests.webui.page_support import db
from tests.webui.setup_support import (
    OWNER,
    READERS,
    WRITERS,
    draft,
    outcomes_csv,
    post_form,
    roster_rows,
    running,
    sample,
    signed_in,
    today,
)
from webui.pages.planning_view import _amount

PARAMETERS = "baseline=92&icc=0.1&audits_per_week=12"


def _figure(html: str) -> dict:
    raw = re.search(r'data-figure="([^"]+)"', html).group(1)
    return json.loads(raw.replace("&#34;", '"').replace("&quot;", '"').replace("&#39;", "'").replace("&amp;", "&"))


@pytest.mark.parametrize("role", ["admin", "pm", "analyst", "viewer"])
def test_planning_without_pre_period_asks_for_assumptions_then_matches_the_api(app, client, api, role):
    pilot_id = draft(app)
    signed_in(app, client, role)
    first = client.get(f"/pilots/{pilot_id}/planning")
    assert first.status_code == 200
    assert "There are no pre-period QA audits yet" in first.get_data(as_text=True)
    response = client.get(f"/pilots/{pilot_id}/planning?{PARAMETERS}&target_effect=3")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    reference = (
        api.as_("viewer")
        .get(f"/api/v1/pilots/{pilot_id}/plan?baseline=0.92&icc=0.1&audits_per_week=12&target_effect=0.03")
        .json
    )
    last = reference["weeks"][-1]
    assert f"of {100 * last['mde']:.1f} points or more" in html
    assert "120 moderators (60 / 60 per group)" in html
    figure = _figure(html)
    assert figure["data"][0]["y"] == pytest.approx([100 * w["mde"] for w in reference["weeks"]])
    table_rows = re.findall(r'<tr><td class="num">(\d+)</td>', html)
    assert [int(w) for w in table_rows] == [w["week"] for w in reference["weeks"]]
    if reference["saturation_week"] is not None:
        assert f"After week {reference['saturation_week']} more time barely helps" in html
    assert f"inflation factor {reference['design_inflation_factor']:.3f}" in html
    week = reference["detectable_week"]
    assert (f"becomes detectable in week {week}" if week else "smaller than the pilot can detect") in html
    assert "<script>" not in html  # charts are drawn by static files only


def test_planning_with_bad_inputs_names_the_field(app, client):
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    response = client.get(f"/pilots/{pilot_id}/planning?baseline=abc&icc=2&audits_per_week=12")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="baseline-errors"><li>must be a number' in html
    assert 'value="abc"' in html


def test_planning_uses_the_pre_period_when_there_is_one(app, client, api):
    pilot_id = running(app)
    moderators = [row["moderator_id"] for row in roster_rows(sample("roster.csv"))]
    stored = api.as_("admin").post(
        f"/api/v1/pilots/{pilot_id}/outcomes",
        data=outcomes_csv(
            moderators, datetime.combine(today() - timedelta(days=5), datetime.min.time(), UTC), per_moderator=6
        ),
        content_type="text/csv",
    )
    assert stored.status_code == 200, stored.json
    signed_in(app, client, "viewer")
    html = client.get(f"/pilots/{pilot_id}/planning").get_data(as_text=True)
    assert "Estimated from the pre-period QA audits" in html
    reference = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/plan").json
    assert f"of {100 * reference['weeks'][-1]['mde']:.1f} points or more" in html


@pytest.mark.parametrize("role", WRITERS)
def test_launch_confirms_what_locks_then_randomizes(app, client, session, role):
    pilot_id = draft(app)
    signed_in(app, client, role)
    page = client.get(f"/pilots/{pilot_id}/launch").get_data(as_text=True)
    assert "SHA-256 fingerprint" in page and "Nobody is ever reassigned" in page
    assert "has already passed" not in page  # the plan starts in three days
    assert "120 moderators on the roster" in page and "Policy hints (weight 1)" in page
    unconfirmed = post_form(client, f"/pilots/{pilot_id}/launch", {})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.get_data(as_text=True)
    session.rollback()
    assert session.get(Pilot, pilot_id).status == "draft"
    response = post_form(client, f"/pilots/{pilot_id}/launch", {"confirm": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/pilots/{pilot_id}/balance")
    session.rollback()
    pilot = session.get(Pilot, pilot_id)
    assert pilot.status == "running" and pilot.plan_hash
    assert len(session.exec(select(Assignment).where(Assignment.pilot_id == pilot_id)).all()) == 120
    balance = client.get(f"/pilots/{pilot_id}/balance").get_data(as_text=True)
    assert "Launched: the roster is randomized" in balance and pilot.plan_hash in balance
    assert '<th scope="col" class="num">Control</th><th scope="col" class="num">Policy hints</th>' in balance
    assert "<td>Manila</td>" in balance
    assert "largest standardized difference is" in balance and "Tenure" in balance
    assert client.get(f"/pilots/{pilot_id}/launch").status_code == 302  # launched once


def test_a_past_start_date_is_announced_before_launch(app, client):
    past = today() - timedelta(days=3)
    pilot_id = draft(
        app,
        start_date=past.isoformat(),
        end_date=(past + timedelta(days=30)).isoformat(),
        pre_period_start=(past - timedelta(days=10)).isoformat(),
    )
    signed_in(app, client, "pm")
    page = client.get(f"/pilots/{pilot_id}/launch").get_data(as_text=True)
    assert f"The planned start date, {past.isoformat()}, has already passed." in page
    assert f"moves the start to the launch day, <strong>{today().isoformat()}</strong>" in page
    assert "starting today" in page


def test_launch_problems_are_shown_on_the_page(app, client, session):
    pilot_id = draft(app)
    with db(app) as other:  # strata edited after the upload: the sample roster has no `shift` column
        lifecycle.update_pilot(other, pilot_id, PilotUpdate(strata=["shift"]), OWNER)
    signed_in(app, client, "pm")
    response = post_form(client, f"/pilots/{pilot_id}/launch", {"confirm": "yes"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page and "shift" in page
    assert page.count("no column of the roster") == 1  # once for the column, not once per moderator
    session.rollback()
    assert session.get(Pilot, pilot_id).status == "draft"
    empty = draft(app, with_roster=False)
    assert "There is no roster yet" in client.get(f"/pilots/{empty}/launch").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "roster", "says"),
    [
        ({"arms": [{"name": "control"}, {"name": "a"}, {"name": "b"}]}, "mod-0001,man-t1,Manila,en,4\n", "1 moderator"),
        ({"unit": "team", "strata": []}, "mod-0001,man-t1,Manila,en,4\nmod-0002,man-t1,Manila,tl,13\n", "1 team"),
    ],
)
def test_launch_page_refuses_a_roster_that_leaves_an_arm_empty(app, client, session, changes, roster, says):
    pilot_id = draft(app, with_roster=False, **changes)
    with db(app) as other:
        header = "moderator_id,team,site,language,tenure_months\n"
        replace_roster(other, pilot_id, parse_upload((header + roster).encode(), "text/csv"), OWNER)
    signed_in(app, client, "pm")
    response = post_form(client, f"/pilots/{pilot_id}/launch", {"confirm": "yes"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page and says in page and "needs at least one" in page
    session.rollback()
    assert session.get(Pilot, pilot_id).status == "draft"
    assert session.exec(select(Assignment).where(Assignment.pilot_id == pilot_id)).all() == []


@pytest.mark.parametrize("role", READERS)
def test_readers_see_the_balance_but_cannot_launch(app, client, role):
    pilot_id = draft(app)
    signed_in(app, client, role)
    assert client.get(f"/pilots/{pilot_id}/launch").status_code == 403
    assert client.post(f"/pilots/{pilot_id}/launch", data={"confirm": "yes"}).status_code in (400, 403)
    launched = running(app)
    assert client.get(f"/pilots/{launched}/balance").status_code == 200
    overview = client.get(f"/pilots/{launched}").get_data(as_text=True)
    assert "Balance" in overview and "Conclude" not in overview and "Upload QA outcomes" not in overview
    with db(app) as session:
        assert session.get(Pilot, pilot_id).status == "draft"


def test_planning_refuses_fractions_typed_as_percent_and_suggests_the_percentages(app, client):
    """The API's units (0.93, 0.02) typed into a form in percent and points: refused, naming the field, with a link
    that plans for 93% and 2 points; never a plan for 0.93%."""
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    page = client.get(f"/pilots/{pilot_id}/planning").get_data(as_text=True)
    assert "Baseline today (%)" in page and "The change you hope for (percentage points)" in page
    response = client.get(
        f"/pilots/{pilot_id}/planning?metric=accuracy&baseline=0.93&icc=0.03&audits_per_week=40&target_effect=0.02"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="baseline-errors"><li>is in percent: 0.93 would mean 0.93% of audits, not 93%. Did you mean 93?' in html
    assert "from about 0.9%" not in html and "Week by week" not in html
    assert "Plan for a baseline of 93% and a change of 2 points" in html
    link = re.search(r'<a class="button" href="([^"]+)">Plan for a baseline', html).group(1).replace("&amp;", "&")
    fixed = client.get(link)
    assert fixed.status_code == 200
    fixed_html = fixed.get_data(as_text=True)
    assert "from about 93.0%" in fixed_html and "The change you hope for (2.0 points)" in fixed_html


def test_planning_refuses_a_change_typed_as_a_fraction(app, client):
    pilot_id = draft(app)
    signed_in(app, client, "analyst")
    response = client.get(f"/pilots/{pilot_id}/planning?{PARAMETERS}&target_effect=0.02")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="target_effect-errors"><li>is in percentage points: 0.02 would mean 92% to 92.02%' in html
    assert "Did you mean 2 points?" in html and "Plan for a baseline of 92% and a change of 2 points" in html
    # A small change that a pilot could plausibly hope for is planned as typed.
    assert client.get(f"/pilots/{pilot_id}/planning?{PARAMETERS}&target_effect=0.5").status_code == 200


@pytest.mark.parametrize("baseline", ["150", "-3"])
def test_planning_baseline_outside_0_to_100_percent_names_the_unit(app, client, baseline):
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    response = client.get(f"/pilots/{pilot_id}/planning?baseline={baseline}&icc=0.1&audits_per_week=12")
    assert response.status_code == 422
    assert "is a percentage of audits, between 0 and 100 (type 93 for 93%)" in response.get_data(as_text=True)


def test_planning_a_critical_error_rate_under_one_percent_is_planned_with_a_note(app, client, api):
    """Critical errors are rare, so 0.5% is a real baseline: planned as typed, with a note saying how it was read."""
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    response = client.get(
        f"/pilots/{pilot_id}/planning?metric=critical_error_rate&baseline=0.5&icc=0.05&audits_per_week=40"
        "&target_effect=-0.2"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Baseline read as 0.5% of audits (about 1 audit in 200). If you meant 50%, type 50." in html
    assert "from about 0.5%" in html and "The change you hope for (0.2 points)" in html
    assert "-0.5 means 2% to 1.5%" in html


def test_a_small_hoped_for_change_keeps_its_digits():
    """0.02 points of a critical-error rate must not read "0.0 points" beside "smaller than the pilot can detect"."""
    assert [_amount(v, 100.0, "points") for v in (0.0002, 0.00093, 0.02, 0.0, None)] == [
        "0.02 points",
        "0.093 points",
        "2.0 points",
        "0.0 points",
        "n/a",
    ]
