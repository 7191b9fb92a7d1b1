"""Sign-in and sign-out: sessions, CSRF, safe redirects, inactive users, and the API accepting a page session."""

from __future__ import annotations

import pytest

from tests.webui.page_support import PASSWORD, csrf_token, make_pilot, make_user, set_active, sign_in
from webui.pages.auth import safe_next


def test_pages_redirect_to_sign_in(client):
    response = client.get("/pilots/1/results")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_in_and_out(client, app):
    make_user(app, "pm", "priya")
    response = sign_in(client, "priya")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "priya" in page and "Sign out" in page
    response = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, app):
    make_user(app, "pm", "priya")
    response = sign_in(client, "priya", "not the password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_sign_in(client, app):
    make_user(app, "pm", "gone", active=False)
    assert sign_in(client, "gone").status_code == 401


def test_deactivating_a_user_ends_their_session(client, app):
    user = make_user(app, "pm", "priya")
    sign_in(client, "priya")
    set_active(app, user.id, False)
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_is_rejected(client, app):
    make_user(app, "pm", "priya")
    response = client.post("/login", data={"name": "priya", "password": PASSWORD})
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert client.get("/").status_code == 302


def test_logout_without_csrf_token_keeps_the_session(client, app):
    make_user(app, "pm", "priya")
    sign_in(client, "priya")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_next_is_followed_only_for_local_paths(client, app):
    make_user(app, "pm", "priya")
    assert sign_in(client, "priya", next_url="/pilots/7").headers["Location"] == "/pilots/7"
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    assert sign_in(client, "priya", next_url="https://evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        None,
        "/ok\r\nSet-Cookie: x",
    ],
)
def test_safe_next_refuses_other_hosts(target):
    assert safe_next(target) is None


def test_safe_next_keeps_local_paths_with_queries():
    assert safe_next("/pilots/3/results?as_of=2025-03-10") == "/pilots/3/results?as_of=2025-03-10"


def test_api_accepts_a_signed_in_session_for_reads(client, app):
    make_user(app, "analyst", "ana")
    assert client.get("/api/v1/me").status_code == 401
    sign_in(client, "ana")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json == {"name": "ana", "role": "analyst"}


def test_api_does_not_accept_a_session_for_writes(client, app):
    make_user(app, "admin", "root")
    sign_in(client, "root")
    response = client.post("/api/v1/pilots", json={})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_unknown_page_is_a_friendly_html_404(client, app):
    make_user(app, "viewer", "vic")
    sign_in(client, "vic")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_api_404_stays_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code in (401, 404)
    assert response.is_json


def test_viewer_session_cannot_force_a_moderator_level_export(app, client):
    pilot = make_pilot(app)
    make_user(app, "viewer", "vic")
    sign_in(client, "vic")
    response = client.get(f"/api/v1/pilots/{pilot.id}/roster?format=csv")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_analyst_session_downloads_the_roster_csv(app, client):
    pilot = make_pilot(app)
    make_user(app, "analyst", "ana")
    sign_in(client, "ana")
    response = client.get(f"/api/v1/pilots/{pilot.id}/roster?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    response.close()
