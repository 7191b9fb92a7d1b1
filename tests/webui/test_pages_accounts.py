"""The users & tokens pages: "My tokens" for every role, the admin-only users section and audit trail; each form
with its CSRF token, invalid input answered next to the field with nothing stored, and no inline script."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from pilots.models import ApiToken, Event, User
from tests.webui.page_support import PASSWORD, csrf_token, db, make_pilot, make_user, sign_in

ROLES = ("admin", "pm", "analyst", "viewer")


def signed_in(app, role: str, name: str | None = None):
    client = app.test_client()
    make_user(app, role, name or f"{role}-person")
    assert sign_in(client, name or f"{role}-person").status_code == 302
    return client


def post_form(client, page: str, action: str, data: dict):
    """Submit a form the way a browser does: CSRF token from the page that shows the form."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def secret_in(html: str) -> str | None:
    match = re.search(r'<code class="hash secret">(plt_[^<]+)</code>', html)
    return match.group(1) if match else None


def assert_no_inline_script(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> on the page"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler on the page"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_issues_and_revokes_its_own_tokens(app, role):
    client = signed_in(app, role)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    assert_no_inline_script(page.get_data(as_text=True))
    issued = post_form(client, "/account/tokens", "/account/tokens", {"name": "laptop", "expires_in_days": "30"})
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    secret = secret_in(issued.get_data(as_text=True))
    assert (
        secret
        and app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json["name"]
        == f"{role}-person"
    )
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and "laptop" in again, "shown once, listed by name afterwards"

    with db(app) as session:
        token_id = session.exec(select(ApiToken.id).where(ApiToken.name == "laptop")).one()
    revoked = post_form(client, "/account/tokens", f"/tokens/{token_id}/revoke", {"next": "/account/tokens"})
    assert revoked.status_code == 302 and revoked.headers["Location"] == "/account/tokens"
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x", "expires_in_days": "0"}, "Number must be between 1 and 3650."),
        ({"name": "x", "expires_in_days": "soon"}, "Not a valid integer value."),
        ({"name": "x", "pilot_id": "999"}, "Not a valid choice."),
        ({"name": "line\nbreak"}, "must be"),
    ],
)
def test_invalid_token_forms_are_answered_next_to_the_field(app, data, message):
    client = signed_in(app, "pm")
    response = post_form(client, "/account/tokens", "/account/tokens", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with db(app) as session:
        assert session.exec(select(ApiToken)).all() == []


def test_a_token_scoped_to_a_pilot_from_the_page(app):
    pilot = make_pilot(app)
    client = signed_in(app, "pm")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert f'value="{pilot.id}"' in page
    issued = post_form(client, "/account/tokens", "/account/tokens", {"name": "feed", "pilot_id": str(pilot.id)})
    assert f"may only send outcomes to pilot {pilot.id}" in issued.get_data(as_text=True)
    secret = secret_in(issued.get_data(as_text=True))
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 403


def test_forms_without_csrf_are_refused(app):
    client = signed_in(app, "admin")
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 400
    assert client.post("/admin/users", data={"name": "x", "role": "pm", "password": PASSWORD}).status_code == 400
    with db(app) as session:
        assert session.exec(select(ApiToken)).all() == []
        assert session.exec(select(User).where(User.name == "x")).first() is None


def test_nobody_revokes_someone_elses_token_but_an_admin(app):
    owner = signed_in(app, "pm", "owner")
    post_form(owner, "/account/tokens", "/account/tokens", {"name": "mine"})
    with db(app) as session:
        token_id = session.exec(select(ApiToken.id)).one()
    other = signed_in(app, "analyst", "other")
    assert post_form(other, "/account/tokens", f"/tokens/{token_id}/revoke", {}).status_code == 404
    assert "mine" not in other.get("/account/tokens").get_data(as_text=True)
    admin = signed_in(app, "admin", "root")
    response = post_form(admin, "/admin/users", f"/tokens/{token_id}/revoke", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/tokens"
    with db(app) as session:
        assert session.get(ApiToken, token_id).revoked_at is not None


@pytest.mark.parametrize("role", ["pm", "analyst", "viewer"])
def test_the_admin_section_is_for_admins_only(app, role):
    client = signed_in(app, role)
    target = make_user(app, "viewer", "target")
    nav = client.get("/").get_data(as_text=True)
    assert "/admin/users" not in nav and "/account/tokens" in nav
    for path in ("/admin/users", f"/admin/users/{target.id}", "/admin/audit", "/admin/audit/export?format=csv"):
        response = client.get(path)
        assert response.status_code == 403 and "text/html" in response.content_type, path
    for action in ("role", "password", "deactivate", "tokens"):
        response = post_form(client, "/account/tokens", f"/admin/users/{target.id}/{action}", {"role": "admin"})
        assert response.status_code == 403, action
    with db(app) as session:
        assert session.get(User, target.id).role == "viewer"


def test_admin_lists_and_creates_users(app):
    admin = signed_in(app, "admin", "root")
    page = admin.get("/admin/users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "root" in html and "Create a user" in html
    assert_no_inline_script(html)
    created = post_form(admin, "/admin/users", "/admin/users", {"name": "priya", "role": "pm", "password": PASSWORD})
    assert created.status_code == 302
    assert sign_in(app.test_client(), "priya").status_code == 302
    duplicate = post_form(admin, "/admin/users", "/admin/users", {"name": "priya", "role": "pm", "password": PASSWORD})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    short = post_form(admin, "/admin/users", "/admin/users", {"name": "sam", "role": "pm", "password": "short"})
    assert short.status_code == 422 and "between 8 and 200" in short.get_data(as_text=True)
    bad_role = post_form(admin, "/admin/users", "/admin/users", {"name": "sam", "role": "boss", "password": PASSWORD})
    assert bad_role.status_code == 422 and "Not a valid choice" in bad_role.get_data(as_text=True)
    with db(app) as session:
        assert session.exec(select(User).where(User.name == "sam")).first() is None


def test_admin_changes_role_resets_password_and_deactivates(app):
    admin = signed_in(app, "admin", "root")
    priya = make_user(app, "pm", "priya")
    priya_client = app.test_client()
    sign_in(priya_client, "priya")
    page = f"/admin/users/{priya.id}"
    assert_no_inline_script(admin.get(page).get_data(as_text=True))

    assert post_form(admin, page, f"{page}/role", {"role": "analyst"}).status_code == 302
    assert "(analyst)" in priya_client.get("/").get_data(as_text=True), "the new role applies at once"

    mismatch = post_form(admin, page, f"{page}/password", {"password": "new password 1", "confirm": "other one"})
    assert mismatch.status_code == 422 and "The two passwords differ." in mismatch.get_data(as_text=True)
    assert post_form(admin, page, f"{page}/password", {"password": "new password 1", "confirm": "new password 1"})
    assert priya_client.get("/").status_code == 302, "a password reset ends their sessions"
    assert sign_in(priya_client, "priya", "new password 1").status_code == 302

    issued = post_form(admin, page, f"{page}/tokens", {"name": "for priya"})
    secret = secret_in(issued.get_data(as_text=True))
    assert secret and "for priya" in issued.get_data(as_text=True)

    unconfirmed = post_form(admin, page, f"{page}/deactivate", {})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.get_data(as_text=True)
    assert post_form(admin, page, f"{page}/deactivate", {"confirm": "y"}).status_code == 302
    assert priya_client.get("/").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "is deactivated" in admin.get(page).get_data(as_text=True)
    with db(app) as session:
        actions = [e.action for e in session.exec(select(Event).where(Event.actor == "root").order_by(Event.id))]
    assert actions == [
        "auth.signed_in",
        "user.role_changed",
        "user.password_reset",
        "token.issued",
        "user.deactivated",
    ]


def test_the_last_admin_cannot_demote_or_deactivate_themselves(app):
    admin = signed_in(app, "admin", "root")
    with db(app) as session:
        root_id = session.exec(select(User.id).where(User.name == "root")).one()
    page = f"/admin/users/{root_id}"
    demote = post_form(admin, page, f"{page}/role", {"role": "viewer"})
    assert demote.status_code == 422 and "last active admin" in demote.get_data(as_text=True)
    leave = post_form(admin, page, f"{page}/deactivate", {"confirm": "y"})
    assert leave.status_code == 422 and "last active admin" in leave.get_data(as_text=True)
    assert admin.get("/admin/users").status_code == 200


def test_unknown_users_are_404_pages(app):
    admin = signed_in(app, "admin")
    assert admin.get("/admin/users/9999").status_code == 404
    assert post_form(admin, "/admin/users", "/admin/users/9999/role", {"role": "pm"}).status_code == 404


def test_the_audit_trail_page_filters_and_reads_as_sentences(app):
    admin = signed_in(app, "admin", "root")
    make_user(app, "pm", "priya")
    sign_in(app.test_client(), "priya", "wrong password")
    page = admin.get("/admin/audit?category=security").get_data(as_text=True)
    assert_no_inline_script(page)
    assert "Failed sign-in from 127.0.0.1" in page and "Signed in from 127.0.0.1" in page
    only_priya = admin.get("/admin/audit?actor=priya").get_data(as_text=True)
    assert "Failed sign-in" in only_priya and "Signed in from" not in only_priya
    assert "No events match" in admin.get("/admin/audit?category=pilots").get_data(as_text=True)
    assert "No events match" in admin.get("/admin/audit?since=2999-01-01").get_data(as_text=True)
    for bad in ("category=nope", "since=yesterday", "page=0", "page=x"):
        assert admin.get(f"/admin/audit?{bad}").status_code == 400, bad


def test_the_audit_trail_exports_and_records_the_download(app):
    admin = signed_in(app, "admin", "root")
    csv_file = admin.get("/admin/audit/export?format=csv&category=security")
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    assert "attachment" in csv_file.headers["Content-Disposition"]
    lines = csv_file.get_data(as_text=True).splitlines()
    assert lines[0] == "id,at,actor,action,pilot_id,details" and ",root,auth.signed_in," in lines[1]
    json_file = admin.get("/admin/audit/export?format=json")
    assert 'filename="pilotlab-audit-trail.json"' in json_file.headers["Content-Disposition"]
    events = json.loads(json_file.get_data(as_text=True))["events"]
    assert [e["action"] for e in events] == ["auth.signed_in", "export.downloaded", "export.downloaded"]
    assert [e["details"]["format"] for e in events[1:]] == ["csv", "json"]  # this download is in its own file
    assert events[1]["details"] == {"table": "audit", "pilot": None, "format": "csv"} and events[1]["actor"] == "root"
    assert admin.get("/admin/audit/export?format=xml").status_code == 400
