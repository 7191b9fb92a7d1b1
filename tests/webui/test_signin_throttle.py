"""Sign-in throttling (per account and per address, 429 with Retry-After, shared through the database), the same
code path for unknown and known users (one scrypt check either way), and sign-in events in the audit trail."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pilots.accounts import access
from pilots.models import Event
from tests.webui.page_support import PASSWORD, another_app, csrf_token, db, make_user, sign_in


def _attempt(client, name: str, password: str = "wrong password", address: str = "127.0.0.1"):
    token = csrf_token(client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True))
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_account_is_throttled_after_repeated_failures(app, client):
    make_user(app, "pm", "priya")
    limit = app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert _attempt(client, "priya").status_code == 401
    blocked = _attempt(client, "priya", PASSWORD)  # even the right password, while blocked
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60 * app.config["SIGNIN_WINDOW_MINUTES"]
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # The block is per account: from another address the same account is still blocked, another account is not.
    assert _attempt(app.test_client(), "priya", PASSWORD, address="10.1.1.1").status_code == 429
    make_user(app, "analyst", "ana")
    assert _attempt(app.test_client(), "ana", PASSWORD).status_code == 302


def test_an_address_is_throttled_across_accounts(app):
    limit = app.config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]
    client = app.test_client()
    for number in range(limit):
        assert _attempt(client, f"nobody-{number}", address="198.51.100.7").status_code == 401
    make_user(app, "pm", "priya")
    assert _attempt(client, "priya", PASSWORD, address="198.51.100.7").status_code == 429
    assert _attempt(app.test_client(), "priya", PASSWORD, address="198.51.100.8").status_code == 302


def test_throttling_is_shared_by_every_worker(app, database_url):
    """A second app on the same database (another gunicorn worker) sees the same failures."""
    make_user(app, "pm", "priya")
    for _ in range(app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]):
        _attempt(app.test_client(), "priya")
    with another_app(database_url) as other_worker:
        assert _attempt(other_worker.test_client(), "priya", PASSWORD).status_code == 429


def test_a_successful_sign_in_clears_the_account_failures(app, client):
    make_user(app, "pm", "priya")
    limit = app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit - 1):
        _attempt(client, "priya")
    assert sign_in(client, "priya").status_code == 302
    other = app.test_client()
    for _ in range(limit - 1):
        assert _attempt(other, "priya").status_code == 401


@pytest.mark.parametrize("case", ["unknown", "inactive", "no password", "wrong password", "right password"])
def test_unknown_and_known_users_take_the_same_path(app, client, monkeypatch, case):
    """Exactly one scrypt check per attempt, whoever the name belongs to (no timing difference to measure)."""
    if case == "inactive":
        make_user(app, "pm", "priya", active=False)
    elif case == "no password":
        with db(app) as session:
            from pilots.accounts.users import create_user

            create_user(session, "priya", "pm")
    elif case != "unknown":
        make_user(app, "pm", "priya")
    calls = []
    real = access.check_password_hash
    monkeypatch.setattr(access, "check_password_hash", lambda *args: calls.append(args[0]) or real(*args))
    response = _attempt(client, "priya", PASSWORD if case == "right password" else "not it")
    assert response.status_code == (302 if case == "right password" else 401)
    assert len(calls) == 1
    assert calls[0].startswith("scrypt:"), "the dummy hash has the same method and cost as real ones"


def test_sign_ins_are_in_the_audit_trail(app, client):
    make_user(app, "pm", "priya")
    _attempt(client, "priya")
    _attempt(client, "ghost")
    sign_in(client, "priya")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    with db(app) as session:
        trail = [(e.actor, e.action, e.details.get("address")) for e in session.exec(select(Event).order_by(Event.id))]
    assert trail == [
        ("priya", "auth.sign_in_failed", "127.0.0.1"),
        ("ghost", "auth.sign_in_failed", "127.0.0.1"),
        ("priya", "auth.signed_in", "127.0.0.1"),
        ("priya", "auth.signed_out", "127.0.0.1"),
    ]


def test_the_address_comes_from_the_proxy_only_when_configured(app, database_url):
    """(`app` only so its teardown empties the database these apps write to.)"""
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    for proxies, expected in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        with another_app(database_url, TRUSTED_PROXIES=proxies) as proxied:
            client = proxied.test_client()
            token = csrf_token(client.get("/login").get_data(as_text=True))
            client.post("/login", data={"name": "ghost", "password": "x", "csrf_token": token}, headers=forwarded)
            with db(proxied) as session:
                event = session.exec(select(Event).order_by(Event.id.desc())).first()
                assert event.details["address"] == expected
