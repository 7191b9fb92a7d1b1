"""`pilotlab users create|list|role|password|deactivate` and `pilotlab tokens create|list|revoke`, plus what
`pilotlab demo` says on an already seeded database."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import select

from pilots.accounts.tokens import digest
from pilots.cli import cli
from pilots.commands import register
from pilots.errors import Conflict, NotFound, ValidationFailed
from pilots.models import ApiToken, Event, User, UserSession
from tests.webui.page_support import db, make_pilot, make_user, sign_in


def run(database_url: str, *args: str, stdin: str | None = None):
    register(cli)
    return CliRunner().invoke(cli, ["--database-url", database_url, *args], input=stdin)


def test_create_then_list_users(app, database_url):
    created = run(database_url, "users", "create", "priya", "--role", "pm", "--password-stdin", stdin="long enough\n")
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("plt_")
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["name"] == "priya"
    run(database_url, "users", "create", "ana", "--role", "analyst")
    listing = run(database_url, "users", "list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split()[:4] == ["name", "role", "state", "tokens"]
    assert lines[1].split()[:4] == ["ana", "analyst", "active", "1"]
    assert lines[2].split()[:4] == ["priya", "pm", "active", "1"]
    assert "never" in lines[2]


def test_role_password_and_deactivate(app, database_url, client):
    make_user(app, "admin", "root")
    user = make_user(app, "pm", "priya")
    assert run(database_url, "users", "role", "priya", "analyst").exit_code == 0
    assert run(database_url, "users", "password", "priya", stdin="another password\n").exit_code == 0
    assert sign_in(client, "priya", "another password").status_code == 302
    assert run(database_url, "users", "deactivate", "priya").exit_code == 0
    assert client.get("/").status_code == 302
    with db(app) as session:
        stored = session.get(User, user.id)
        assert (stored.role, stored.active) == ("analyst", False)
        assert all(record.ended_at for record in session.exec(select(UserSession)))
        actions = [event.action for event in session.exec(select(Event).where(Event.actor == "cli"))]
    assert actions == ["user.role_changed", "user.password_reset", "user.deactivated"]
    assert "deactivated" in run(database_url, "users", "list").output


def test_bad_user_commands_fail_with_domain_errors(app, database_url):
    make_user(app, "admin", "root")
    assert isinstance(run(database_url, "users", "role", "nobody", "pm").exception, NotFound)
    assert isinstance(run(database_url, "users", "deactivate", "root").exception, Conflict)  # the last admin
    assert isinstance(run(database_url, "users", "password", "root", stdin="short\n").exception, ValidationFailed)
    assert run(database_url, "users", "role", "root", "boss").exit_code == 2  # not a role


def test_tokens_create_list_revoke(app, database_url, client):
    make_user(app, "pm", "priya")
    pilot = make_pilot(app)
    created = run(database_url, "tokens", "create", "priya", "--name", "nightly", "--expires-in-days", "3")
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    scoped = run(database_url, "tokens", "create", "priya", "--name", "feed", "--pilot", str(pilot.id))
    assert f"pilot {pilot.id} ingestion only" in scoped.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    listing = run(database_url, "tokens", "list", "--user", "priya").output.splitlines()
    assert [line.split()[1:4] for line in listing[1:]] == [["priya", "feed", "active"], ["priya", "nightly", "active"]]
    assert secret not in "".join(listing)
    with db(app) as session:
        token = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(secret))).one()
    assert run(database_url, "tokens", "revoke", str(token.id)).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "revoked" in run(database_url, "tokens", "list").output
    assert isinstance(run(database_url, "tokens", "revoke", "99999").exception, NotFound)
    bad = run(database_url, "tokens", "create", "priya", "--expires-in-days", "0")
    assert isinstance(bad.exception, ValidationFailed)


def test_demo_on_a_seeded_database_says_how_to_sign_in_and_get_a_token(app, database_url):
    with db(app) as session:
        from pilots import events

        events.record(session, "demo", "demo.seeded", pilots=[])
    result = run(database_url, "demo")
    assert result.exit_code == 0
    assert "already seeded" in result.output
    assert "demo-admin" in result.output and "pilotlab-demo" in result.output
    assert "pilotlab tokens create demo-admin" in result.output and "/account/tokens" in result.output
