"""Server-side sessions: signing out kills a copied cookie, idle sessions expire, each sign-in gets a new session
id, the cookie is `Secure` over HTTPS (also behind a configured proxy), and activity is recorded at most once a
minute."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from pilots.models import UserSession
from pilots.models._time import utcnow
from tests.webui.page_support import another_app, csrf_token, db, make_user, sign_in


def _cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _sign_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})


def _records(app) -> list[UserSession]:
    with db(app) as session:
        return list(session.exec(select(UserSession).order_by(UserSession.id)))


def test_a_copied_cookie_stops_working_after_sign_out(app, client):
    make_user(app, "pm", "priya")
    sign_in(client, "priya")
    copied = _cookie(client)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/").status_code == 200  # the copy works while the session lives...

    _sign_out(client)
    assert thief.get("/").status_code == 302  # ...and not after signing out
    assert thief.get("/api/v1/pilots").status_code == 401
    [record] = _records(app)
    assert record.ended_at is not None


def test_sessions_expire_after_the_idle_time(app, client):
    make_user(app, "pm", "priya")
    sign_in(client, "priya")
    assert client.get("/").status_code == 200
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    with db(app) as session:
        for record in session.exec(select(UserSession)):
            record.last_seen_at = utcnow() - idle - timedelta(seconds=1)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_activity_keeps_a_session_alive_and_is_recorded_at_most_once_a_minute(app, client):
    make_user(app, "pm", "priya")
    sign_in(client, "priya")
    recent = utcnow() - timedelta(seconds=30)
    with db(app) as session:
        session.exec(select(UserSession)).one().last_seen_at = recent
    client.get("/")
    assert _records(app)[0].last_seen_at == recent
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    almost = utcnow() - idle + timedelta(minutes=1)
    with db(app) as session:
        session.exec(select(UserSession)).one().last_seen_at = almost
    assert client.get("/").status_code == 200
    assert _records(app)[0].last_seen_at > almost


def test_the_session_id_rotates_at_sign_in(app, client):
    make_user(app, "pm", "priya")
    client.get("/login")
    before = _cookie(client)  # an anonymous session (the CSRF token) from before signing in
    sign_in(client, "priya")
    first = _cookie(client)
    assert first != before
    with client.session_transaction() as cookie_session:
        first_id = cookie_session["_user_id"]
        assert "csrf_token" not in cookie_session, "nothing from before sign-in survives it"
    _sign_out(client)
    sign_in(client, "priya")
    with client.session_transaction() as cookie_session:
        second_id = cookie_session["_user_id"]
    assert first_id != second_id and len(second_id) >= 40
    records = _records(app)
    assert len(records) == 2 and records[0].ended_at is not None and records[1].ended_at is None
    assert all(first_id not in record.secret_hash for record in records), "only a hash of the id is stored"
    planted = app.test_client()  # an old cookie with a guessed user id (the pre-server-session format)
    with planted.session_transaction() as cookie_session:
        cookie_session["_user_id"] = str(records[0].user_id)
    assert planted.get("/").status_code == 302


def test_the_cookie_is_secure_over_https_only(app, database_url):
    """(`app` only so its teardown empties the database.)"""
    with another_app(database_url) as direct:
        _check_secure_cookie(direct)
    with another_app(database_url, TRUSTED_PROXIES=1) as proxied:
        assert "Secure" in proxied.test_client().get("/login", headers=FORWARDED).headers["Set-Cookie"]


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def _check_secure_cookie(app) -> None:
    plain = app.test_client().get("/login")
    assert "Secure" not in plain.headers["Set-Cookie"]
    https = app.test_client().get("/login", base_url="https://pilotlab.example")
    assert "Secure" in https.headers["Set-Cookie"]
    assert "HttpOnly" in https.headers["Set-Cookie"] and "SameSite=Lax" in https.headers["Set-Cookie"]
    # Forwarded headers are ignored unless a proxy is configured (and honoured behind one: see the caller).
    assert "Secure" not in app.test_client().get("/login", headers=FORWARDED).headers["Set-Cookie"]


def test_password_reset_and_deactivation_end_sessions(app, client):
    user = make_user(app, "pm", "priya")
    sign_in(client, "priya")
    with db(app) as session:
        from pilots.accounts.users import get_user, reset_password

        reset_password(session, get_user(session, user.id), "a brand new password", "admin-user")
    assert client.get("/").status_code == 302
    assert sign_in(client, "priya", "a brand new password").status_code == 302
    assert client.get("/").status_code == 200
