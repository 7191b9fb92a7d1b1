"""`/pilots/new` and a draft's `/pilots/<id>/edit`: every field of the plan, the API's validation with each message
next to its field, nothing typed lost, CSRF, and the roles that may use them."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pilots.models import Event, Pilot
from tests.webui.page_support import make_user, sign_in
from tests.webui.setup_support import READERS, WRITERS, draft, errors_by_field, post_form, running, signed_in, today

FORM = {
    "name": "AI suggestions in the review console",
    "kind": "tool",
    "unit": "moderator",
    "hypothesis": "Suggestions raise accuracy without slowing reviewers down.",
    "layer": "review-console",
    "arms-0-name": "control",
    "arms-0-display_name": "Current console",
    "arms-0-weight": "1",
    "arms-1-name": "ai_assist",
    "arms-1-display_name": "AI suggestions",
    "arms-1-weight": "2",
    "strata": "site, tenure_months",
    "metric-accuracy-role": "primary",
    "metric-critical_error_rate-role": "guardrail",
    "metric-critical_error_rate-margin": "0.5",
    "metric-critical_error_rate-margin_kind": "absolute",
    "metric-handle_time-role": "guardrail",
    "metric-handle_time-margin": "5",
    "metric-handle_time-margin_kind": "relative",
    "design-method": "group_sequential",
    "design-alpha": "0.05",
    "design-power": "0.8",
    "design-looks": "6",
    "design-spending": "obrien_fleming",
    "design-min_days": "14",
    "design-futility": "true",
    "start_date": "2027-01-04",
    "end_date": "2027-02-28",
    "pre_period_start": "2026-12-07",
}


def _pilots(session) -> list[Pilot]:
    session.rollback()  # a fresh snapshot: the page wrote through its own session
    return list(session.exec(select(Pilot)))


@pytest.mark.parametrize("role", WRITERS)
def test_a_writer_registers_a_pilot_with_every_field(app, client, session, role):
    signed_in(app, client, role)
    page = client.get("/pilots/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for help_line in ("false-go rate", "planned reviews", "minimum", "futility"):
        assert help_line in html.lower()
    response = post_form(client, "/pilots/new", FORM)
    assert response.status_code == 302
    [pilot] = _pilots(session)
    assert response.headers["Location"].endswith(f"/pilots/{pilot.id}/roster")
    assert pilot.status == "draft" and pilot.owner == f"{role}-person"
    assert pilot.layer == "review-console" and pilot.strata == ["site", "tenure_months"]
    assert pilot.arms == [
        {"name": "control", "weight": 1, "display_name": "Current console"},
        {"name": "ai_assist", "weight": 2, "display_name": "AI suggestions"},
    ]
    # Margins typed in the metric's own unit: 0.5 points of critical errors, 5% of the control's handle time.
    assert pilot.metrics == [
        {"name": "accuracy", "role": "primary", "margin": None, "relative": False, "critical_policies": []},
        {
            "name": "critical_error_rate",
            "role": "guardrail",
            "margin": 0.005,
            "relative": False,
            "critical_policies": [],
        },
        {"name": "handle_time", "role": "guardrail", "margin": 0.05, "relative": True, "critical_policies": []},
    ]
    assert pilot.design["looks"] == 6 and pilot.design["futility"] is True
    assert pilot.pre_period_start.isoformat() == "2026-12-07"
    [event] = session.exec(select(Event).where(Event.pilot_id == pilot.id)).all()
    assert (event.action, event.actor) == ("pilot.created", f"{role}-person")


@pytest.mark.parametrize("role", READERS)
def test_readers_cannot_open_or_post_the_form(app, client, session, role):
    signed_in(app, client, role)
    assert client.get("/pilots/new").status_code == 403
    assert client.post("/pilots/new", data=FORM).status_code in (400, 403)
    assert "New pilot" not in client.get("/").get_data(as_text=True)
    assert _pilots(session) == []


def test_the_form_needs_its_csrf_token(app, client, session):
    signed_in(app, client, "pm")
    response = client.post("/pilots/new", data=FORM)
    assert response.status_code == 400
    assert _pilots(session) == []


def test_problems_sit_next_to_their_fields_and_nothing_typed_is_lost(app, client, session):
    signed_in(app, client, "pm")
    bad = {**FORM, "name": "", "arms-0-weight": "two", "design-alpha": "0.9", "design-looks": "2.5", "layer": "a b"}
    response = post_form(client, "/pilots/new", bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = errors_by_field(html)
    assert set(errors) == {"name", "arms-0-weight", "design-alpha", "design-looks", "layer"}
    assert errors["arms-0-weight"] == ["must be a number"]
    assert errors["design-looks"] == ["must be a whole number"]
    assert "less than or equal to 0.5" in errors["design-alpha"][0]
    assert 'aria-invalid="true"' in html and "Nothing was saved" in html
    # Everything typed comes back.
    for value in ("Current console", "AI suggestions", "two", "0.9", "2.5", "a b", "2027-01-04", "site, tenure_months"):
        assert f'value="{value}"' in html
    assert "Suggestions raise accuracy without slowing reviewers down." in html
    assert _pilots(session) == []


def test_rules_across_fields_are_shown_by_the_fields_they_concern(app, client, session):
    signed_in(app, client, "pm")
    bad = {
        **FORM,
        "arms-1-name": "Control",  # the same name twice
        "metric-critical_error_rate-margin": "",  # a guardrail without a margin
        "end_date": "2027-01-10",  # fewer days than min_days
        "pre_period_start": "2027-02-01",  # after the start
        "strata": "site, site",
    }
    response = post_form(client, "/pilots/new", bad)
    assert response.status_code == 422
    errors = errors_by_field(response.get_data(as_text=True))
    assert set(errors) == {"arms-1-name", "metric-critical_error_rate-margin", "end_date", "pre_period_start", "strata"}
    assert "used twice" in errors["arms-1-name"][0]
    assert "needs a non-inferiority margin" in errors["metric-critical_error_rate-margin"][0]
    assert "fewer than design.min_days" in errors["end_date"][0]
    assert "before start_date" in errors["pre_period_start"][0]
    assert "listed twice" in errors["strata"][0]
    assert _pilots(session) == []


def test_a_plan_without_a_primary_metric_says_so(app, client, session):
    signed_in(app, client, "pm")
    response = post_form(client, "/pilots/new", {**FORM, "metric-accuracy-role": "secondary"})
    assert response.status_code == 422
    assert "at least one metric must have role 'primary'" in errors_by_field(response.get_data(as_text=True))["metrics"]


def test_a_blank_form_has_sensible_defaults(app, client):
    signed_in(app, client, "admin")
    html = client.get("/pilots/new").get_data(as_text=True)
    assert 'value="control"' in html and 'value="treatment"' in html
    assert today().isoformat() < html.split('id="start_date"')[1].split('value="')[1][:10]


@pytest.mark.parametrize("role", WRITERS)
def test_editing_a_draft_keeps_margins_in_their_units_and_records_the_change(app, client, session, role):
    pilot_id = draft(app)
    signed_in(app, client, role)
    html = client.get(f"/pilots/{pilot_id}/edit").get_data(as_text=True)
    assert 'id="metric-critical_error_rate-margin" name="metric-critical_error_rate-margin" value="0.5"' in html
    assert 'value="Policy hints"' in html
    assert "baseline_accuracy" in html  # the roster's own columns are offered as strata
    form = {
        key: value
        for key, value in (
            ("name", "Policy hints v2"),
            ("kind", "tool"),
            ("unit", "moderator"),
            ("arms-0-name", "control"),
            ("arms-1-name", "hints"),
            ("arms-1-display_name", "Inline hints"),
            ("strata", "site, language"),
            ("metric-accuracy-role", "primary"),
            ("metric-critical_error_rate-role", "guardrail"),
            ("metric-critical_error_rate-margin", "1"),
            ("metric-critical_error_rate-margin_kind", "absolute"),
            ("design-method", "always_valid"),
            ("design-alpha", "0.05"),
            ("design-power", "0.8"),
            ("design-looks", "4"),
            ("design-spending", "obrien_fleming"),
            ("design-min_days", "14"),
        )
    }
    stored = session.get(Pilot, pilot_id)
    form.update(
        start_date=stored.start_date.isoformat(),
        end_date=stored.end_date.isoformat(),
        pre_period_start=stored.pre_period_start.isoformat(),
    )
    response = post_form(client, f"/pilots/{pilot_id}/edit", form)
    assert response.status_code == 302, errors_by_field(response.get_data(as_text=True))
    session.rollback()
    pilot = session.get(Pilot, pilot_id)
    assert pilot.name == "Policy hints v2" and pilot.strata == ["site", "language"]
    assert pilot.arms[1] == {"name": "hints", "weight": 1, "display_name": "Inline hints"}
    assert pilot.metrics[1]["margin"] == 0.01 and pilot.design["method"] == "always_valid"
    assert pilot.seed == 7  # not on the form, so unchanged
    event = session.exec(select(Event).where(Event.action == "pilot.updated")).one()
    assert event.actor == f"{role}-person" and "name" in event.details["fields"]


def test_editing_with_problems_saves_nothing(app, client, session):
    pilot_id = draft(app)
    signed_in(app, client, "pm")
    response = post_form(
        client,
        f"/pilots/{pilot_id}/edit",
        {
            "name": "x",
            "kind": "tool",
            "unit": "team",
            "strata": "team",
            "arms-0-name": "control",
            "arms-1-name": "b",
            "metric-accuracy-role": "primary",
            "design-method": "group_sequential",
            "design-spending": "pocock",
            "start_date": "2027-01-01",
            "end_date": "2027-03-01",
        },
    )
    assert response.status_code == 422
    assert "cannot stratify by team" in errors_by_field(response.get_data(as_text=True))["strata"][0]
    session.rollback()
    assert session.get(Pilot, pilot_id).name == "Policy hints"


def test_a_launched_plan_cannot_be_edited_and_readers_cannot_edit(app, client):
    pilot_id = running(app)
    signed_in(app, client, "pm")
    response = client.get(f"/pilots/{pilot_id}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/pilots/{pilot_id}")
    other = draft(app)
    client.post("/logout", data={})
    viewer = app.test_client()
    signed_in(app, viewer, "viewer")
    assert viewer.get(f"/pilots/{other}/edit").status_code == 403
    assert viewer.get("/pilots/999/edit").status_code == 404
    admin = app.test_client()
    signed_in(app, admin, "admin")
    assert admin.get("/pilots/999/edit").status_code == 404


def test_a_group_row_without_a_name_is_not_silently_dropped(app, client, session):
    signed_in(app, client, "pm")
    response = post_form(client, "/pilots/new", {**FORM, "arms-2-display_name": "Third idea", "arms-2-weight": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_by_field(html) == {"arms-2-name": ["is required for a group with a display name or a weight"]}
    assert 'value="Third idea"' in html and 'id="arms-3-name"' in html  # kept, with a spare row after it
    assert _pilots(session) == []


def test_only_the_owner_a_collaborator_or_an_admin_may_change_a_draft(app, client):
    pilot_id = draft(app)  # owned by pm-person
    signed_in(app, client, "pm")
    assert client.get(f"/pilots/{pilot_id}/edit").status_code == 200
    other = app.test_client()
    make_user(app, "pm", "other-pm")
    sign_in(other, "other-pm")
    for page in ("edit", "roster", "launch"):
        assert other.get(f"/pilots/{pilot_id}/{page}").status_code == 403
    assert other.get(f"/pilots/{pilot_id}/planning").status_code == 200  # reading is open to every role
    assert "Edit the plan" not in other.get(f"/pilots/{pilot_id}").get_data(as_text=True)
