"""`/api/v1/tokens`: issue (shown once), list (admins see all), revoke (401 from then on); expiry, deactivation,
pilot-scoped tokens (403 outside their pilot's ingestion), last use recorded at most once a minute, and failed
lookups throttled per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from pilots.models import ApiToken, Event, User
from pilots.models._time import utcnow
from tests.webui.page_support import db, make_pilot
from webui.api.openapi import BODY_ROUTES, DATABASE_ROUTES, EVERY_ROUTE

TOKENS = "/api/v1/tokens"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _issue(api, role: str = "pm", **body) -> dict:
    response = api.as_(role).post(TOKENS, json={"name": "pipeline", **body})
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize("role", ["admin", "pm", "analyst", "viewer"])
def test_every_role_issues_lists_and_revokes_its_own_tokens(api, client, role):
    issued = _issue(api, role)
    assert issued["token"].startswith("plt_") and issued["state"] == "active" and issued["user"] == f"{role}-user"
    assert issued["pilot_id"] is None and issued["name"] == "pipeline"
    assert client.get("/api/v1/me", headers=bearer(issued["token"])).json["role"] == role

    listed = api.as_(role).get(TOKENS).json["tokens"]
    assert issued["id"] in {token["id"] for token in listed}
    assert all("token" not in token for token in listed), "a listed token never carries its secret"

    assert api.as_(role).delete(f"{TOKENS}/{issued['id']}").status_code == 204
    refused = client.get("/api/v1/me", headers=bearer(issued["token"]))
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.as_(role).delete(f"{TOKENS}/{issued['id']}").status_code == 204  # idempotent
    assert [t["state"] for t in api.as_(role).get(TOKENS).json["tokens"] if t["id"] == issued["id"]] == ["revoked"]


def test_default_and_chosen_expiry(api, app):
    default = _issue(api)
    chosen = _issue(api, expires_in_days=7)
    gap = lambda token: token["expires_at"][:10]  # noqa: E731
    today = utcnow().date()
    assert gap(default) == str(today + timedelta(days=app.config["TOKEN_DEFAULT_DAYS"]))
    assert gap(chosen) == str(today + timedelta(days=7))


def test_admins_see_and_revoke_everyones_tokens_others_do_not(api, client):
    pm_token = _issue(api, "pm")
    analyst_token = _issue(api, "analyst")
    admin_view = {token["id"]: token["user"] for token in api.as_("admin").get(TOKENS).json["tokens"]}
    assert admin_view[pm_token["id"]] == "pm-user" and admin_view[analyst_token["id"]] == "analyst-user"
    assert pm_token["id"] not in {token["id"] for token in api.as_("analyst").get(TOKENS).json["tokens"]}

    assert api.as_("analyst").delete(f"{TOKENS}/{pm_token['id']}").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(pm_token["token"])).status_code == 200
    assert api.as_("admin").delete(f"{TOKENS}/{pm_token['id']}").status_code == 204
    assert client.get("/api/v1/me", headers=bearer(pm_token["token"])).status_code == 401
    assert api.as_("admin").delete(f"{TOKENS}/999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "a", "expires_in_days": 3651}, "expires_in_days"),
        ({"name": "a", "expires_in_days": "7"}, "expires_in_days"),
        ({"name": "a", "pilot_id": 0}, "pilot_id"),
        ({"name": "a", "pilot_id": 424242}, "pilot_id"),
        ({"name": "a", "user": "admin-user"}, "user"),
    ],
)
def test_invalid_requests_name_the_field_and_store_nothing(api, app, body, field):
    response = api.as_("pm").post(TOKENS, json=body)
    assert response.status_code == 422, response.json
    assert field in {problem["field"] for problem in response.json["error"]["details"]}
    with db(app) as session:
        assert session.exec(select(ApiToken).where(ApiToken.name == "a")).first() is None


def test_a_token_body_in_another_format_is_415(api):
    assert api.as_("pm").post(TOKENS, data="name=x", content_type="text/plain").status_code == 415


def test_no_token_and_a_page_session_cannot_issue(client):
    assert client.post(TOKENS, json={"name": "x"}).status_code == 401


def test_expired_tokens_are_refused(api, app, client):
    issued = _issue(api, expires_in_days=1)
    with db(app) as session:
        session.get(ApiToken, issued["id"]).expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 401
    assert [t["state"] for t in api.as_("pm").get(TOKENS).json["tokens"] if t["id"] == issued["id"]] == ["expired"]


def test_tokens_from_before_expiry_existed_stay_valid(api, app, client):
    issued = _issue(api)
    with db(app) as session:
        session.get(ApiToken, issued["id"]).expires_at = None
    assert client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 200


def test_deactivating_the_user_refuses_every_token(api, app, client):
    first, second = _issue(api), _issue(api)
    with db(app) as session:
        from pilots.accounts.users import deactivate

        deactivate(session, session.exec(select(User).where(User.name == "pm-user")).one(), "admin-user")
    for issued in (first, second):
        assert client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 401
    with db(app) as session:
        states = {token.revoked_at is not None for token in session.exec(select(ApiToken).join(User)).all()}
        assert True in states


def test_pilot_scoped_token_may_only_ingest_into_its_pilot(api, app, client):
    pilot = make_pilot(app)
    other = make_pilot(app, name="Another pilot")
    issued = _issue(api, "pm", pilot_id=pilot.id)
    assert issued["pilot_id"] == pilot.id
    headers = bearer(issued["token"])
    ingest = client.post(f"/api/v1/pilots/{pilot.id}/outcomes", json={"outcomes": []}, headers=headers)
    assert ingest.status_code not in (401, 403), ingest.json
    for method, path in [
        ("POST", f"/api/v1/pilots/{other.id}/outcomes"),
        ("GET", f"/api/v1/pilots/{pilot.id}/outcomes"),
        ("GET", f"/api/v1/pilots/{pilot.id}"),
        ("GET", "/api/v1/me"),
        ("GET", TOKENS),
        ("POST", TOKENS),
        ("POST", f"/api/v1/pilots/{pilot.id}/conclude"),
    ]:
        response = client.open(path, method=method, headers=headers, json={"name": "x"})
        assert response.status_code == 403, (method, path, response.status_code)
        assert f"pilot {pilot.id}" in response.json["error"]["message"]


def test_last_use_is_recorded_at_most_once_a_minute(api, app, client):
    issued = _issue(api)
    headers = bearer(issued["token"])

    def last_used():
        with db(app) as session:
            return session.get(ApiToken, issued["id"]).last_used_at

    assert last_used() is None
    client.get("/api/v1/me", headers=headers)
    first = last_used()
    assert first is not None
    recent = utcnow() - timedelta(seconds=30)
    with db(app) as session:
        session.get(ApiToken, issued["id"]).last_used_at = recent
    client.get("/api/v1/me", headers=headers)
    assert last_used() == recent, "used again within the minute: no write"
    stale = utcnow() - timedelta(minutes=2)
    with db(app) as session:
        session.get(ApiToken, issued["id"]).last_used_at = stale
    client.get("/api/v1/me", headers=headers)
    assert last_used() > stale
    listed = [t for t in api.as_("pm").get(TOKENS).json["tokens"] if t["id"] == issued["id"]]
    assert listed[0]["last_used_at"] is not None


def test_guessing_tokens_is_throttled_per_address(app, api, client):
    limit = app.config["TOKEN_MAX_FAILURES_PER_ADDRESS"]
    for attempt in range(limit):
        assert client.get("/api/v1/me", headers=bearer(f"plt_guess{attempt}")).status_code == 401
    blocked = client.get("/api/v1/me", headers=bearer("plt_one-more"))
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60 * app.config["TOKEN_FAILURE_WINDOW_MINUTES"]
    assert blocked.json["error"]["code"] == "too_many_requests"
    # A correct guess from that address is refused too; another address is unaffected.
    assert api.as_("pm").get("/api/v1/me").status_code == 429
    other = api.as_("pm").get("/api/v1/me", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200


def test_issue_and_revoke_are_in_the_audit_trail(api, app):
    issued = _issue(api, "analyst")
    api.as_("admin").delete(f"{TOKENS}/{issued['id']}")
    with db(app) as session:
        trail = [(e.actor, e.action, e.details.get("token_id")) for e in session.exec(select(Event).order_by(Event.id))]
    assert ("analyst-user", "token.issued", issued["id"]) in trail
    assert ("admin-user", "token.revoked", issued["id"]) in trail


def test_the_token_routes_are_documented_with_their_statuses(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    general = {str(code) for code in (*EVERY_ROUTE, *DATABASE_ROUTES)}  # server, body and outage statuses
    body_statuses = {str(code) for code in BODY_ROUTES}
    post = {"201", "401", "403", "415", "422", "429"} | general | body_statuses
    assert set(paths[TOKENS]["post"]["responses"]) == post
    assert set(paths[TOKENS]["get"]["responses"]) == {"200", "401", "403", "429"} | general
    assert set(paths[f"{TOKENS}/{{token_id}}"]["delete"]["responses"]) == {"204", "401", "403", "404", "429"} | general
    body = paths[TOKENS]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/TokenCreate")
    issued = paths[TOKENS]["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert issued.endswith("/TokenIssued")
