"""Critical policies on the plan form: registered per metric with their own margins (in the metric's unit or % of
control), several per metric, shown again when a draft is edited, and problems placed next to the row they concern
with nothing typed lost."""

from __future__ import annotations

from sqlmodel import select

from pilots.models import Pilot
from tests.webui.setup_support import errors_by_field, post_form, signed_in
from tests.webui.test_pages_plan_form import FORM

CRITICAL = {
    "metric-accuracy-critical-0-policy": "violent_extremism",
    "metric-accuracy-critical-0-margin": "1",
    "metric-accuracy-critical-0-margin_kind": "absolute",
    "metric-accuracy-critical-1-policy": "child_safety",
    "metric-accuracy-critical-1-margin": "2.5",
    "metric-accuracy-critical-1-margin_kind": "relative",
    "metric-critical_error_rate-critical-0-policy": "violent_extremism",
    "metric-critical_error_rate-critical-0-margin": "0.2",
    "metric-critical_error_rate-critical-0-margin_kind": "absolute",
}


def _only_pilot(session) -> Pilot:
    session.rollback()
    [pilot] = session.exec(select(Pilot)).all()
    return pilot


def test_critical_policies_are_registered_and_come_back_when_editing(app, client, session):
    signed_in(app, client, "pm")
    blank = client.get("/pilots/new").get_data(as_text=True)
    assert "Critical policies (optional)" in blank and 'id="metric-accuracy-critical-0-policy"' in blank
    assert 'id="metric-accuracy-critical-1-policy"' not in blank  # one empty row until something is typed
    response = post_form(client, "/pilots/new", {**FORM, **CRITICAL})
    assert response.status_code == 302, errors_by_field(response.get_data(as_text=True))
    pilot = _only_pilot(session)
    accuracy, errors = pilot.metrics[0], pilot.metrics[1]
    # Typed in points (or % of control), stored as proportions, like the guardrail margins.
    assert accuracy["critical_policies"] == [
        {"policy": "violent_extremism", "margin": 0.01, "relative": False},
        {"policy": "child_safety", "margin": 0.025, "relative": True},
    ]
    assert errors["critical_policies"] == [{"policy": "violent_extremism", "margin": 0.002, "relative": False}]
    html = client.get(f"/pilots/{pilot.id}/edit").get_data(as_text=True)
    assert "Critical policies: 2 registered" in html and "Critical policies: 1 registered" in html
    for name, value in CRITICAL.items():
        if not name.endswith("margin_kind"):
            assert f'id="{name}" name="{name}" value="{value}"' in html, name
    assert 'id="metric-accuracy-critical-2-policy"' in html  # and one more empty row
    relative = html.split('id="metric-accuracy-critical-1-margin_kind"')[1].split("</select>")[0]
    assert '<option value="relative" selected>' in relative
    # Saving the edit form as shown keeps them; emptying a row drops it.
    edit = {**FORM, **CRITICAL, "metric-accuracy-critical-1-policy": "", "metric-accuracy-critical-1-margin": ""}
    response = post_form(client, f"/pilots/{pilot.id}/edit", edit)
    assert response.status_code == 302, errors_by_field(response.get_data(as_text=True))
    assert _only_pilot(session).metrics[0]["critical_policies"] == [
        {"policy": "violent_extremism", "margin": 0.01, "relative": False}
    ]


def test_critical_policy_problems_sit_next_to_their_row_and_nothing_is_lost(app, client, session):
    signed_in(app, client, "pm")
    bad = {
        **FORM,
        **CRITICAL,
        "metric-accuracy-critical-2-margin": "3",  # a margin without a policy
        "metric-handle_time-critical-0-policy": "spam",  # no margin
        "metric-handle_time-critical-1-policy": "hate_speech",
        "metric-handle_time-critical-1-margin": "lots",
    }
    response = post_form(client, "/pilots/new", bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = errors_by_field(html)
    assert errors == {
        "metric-accuracy-critical-2-policy": ["is required: the policy this margin is for"],
        "metric-handle_time-critical-0-margin": ["is required: how much worse this policy may get"],
        "metric-handle_time-critical-1-margin": ["must be a number"],
    }
    assert 'aria-invalid="true"' in html and "Nothing was saved" in html
    for value in ("lots", "hate_speech", "spam", "child_safety", "3"):
        assert f'value="{value}"' in html
    assert html.count('<details class="critical-form" open>') == 3  # accuracy, critical errors, handle time
    # Rules across rows come back once every field is well-formed.
    bad = {
        **FORM,
        **CRITICAL,
        "metric-accuracy-critical-1-policy": "violent_extremism",  # listed twice
        "metric-critical_error_rate-critical-0-margin": "150",  # 150 points: a proportion margin must be below 1
    }
    errors = errors_by_field(post_form(client, "/pilots/new", bad).get_data(as_text=True))
    assert set(errors) == {"metric-accuracy-critical-1-policy", "metric-critical_error_rate-critical-0-margin"}
    assert "listed twice" in errors["metric-accuracy-critical-1-policy"][0]
    assert "must be below 1" in errors["metric-critical_error_rate-critical-0-margin"][0]
    session.rollback()
    assert session.exec(select(Pilot)).all() == []


def test_critical_policies_need_a_measured_metric(app, client):
    signed_in(app, client, "pm")
    bad = {
        **{key: value for key, value in FORM.items() if not key.startswith("metric-handle_time")},
        "metric-handle_time-critical-0-policy": "spam",
        "metric-handle_time-critical-0-margin": "1",
    }
    response = post_form(client, "/pilots/new", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    assert errors_by_field(html)["metric-handle_time-critical"] == [
        "pick a role for this metric to register critical policies"
    ]


def test_the_overview_lists_the_registered_critical_policies(app, client, session):
    signed_in(app, client, "pm")
    assert post_form(client, "/pilots/new", {**FORM, **CRITICAL}).status_code == 302
    pilot = _only_pilot(session)
    page = client.get(f"/pilots/{pilot.id}").get_data(as_text=True)
    assert (
        "Violent extremism: 1 point worse at most; Child safety: 2.5% worse at most." in page
        and "Violent extremism: 0.2 points worse at most." in page
    )
