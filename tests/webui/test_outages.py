"""Operating the service: health endpoints, a database outage as a quick 503 with Retry-After (JSON on the API, a
page on the site), and the refusal to start on a missing or unmigrated database."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text
from sqlmodel import Session

from pilots import migrate
from pilots.db import begin_write, make_engine
from tests.conftest import ApiClient
from tests.pilots.ingestion_support import audit, make_pilot
from webui import ConfigurationError, create_app
from webui.database import engine

UNREACHABLE = "postgresql+psycopg://pilotlab@127.0.0.1:9/pilotlab"  # the discard port: connection refused


def _app(url: str, **config):
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test", **config})


def test_health_endpoints_are_public_and_terse(client):
    live = client.get("/healthz")
    assert (live.status_code, live.json) == (200, {"status": "ok"})
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json) == (200, {"status": "ready"})
    assert ready.headers["Cache-Control"] == "no-store"


def test_outage_is_503_with_retry_after_on_api_pages_and_readyz():
    app = _app(UNREACHABLE, DATABASE_CONNECT_TIMEOUT=2)
    client = app.test_client()
    api = client.get("/api/v1/me", headers={"Authorization": "Bearer plt_whatever"})
    assert api.status_code == 503 and api.headers["Retry-After"].isdigit()
    assert api.json["error"]["code"] == "database_unavailable"
    client.set_cookie("session", "x")
    page = client.get("/login")
    assert page.status_code in (200, 503)
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "1"
    page = client.get("/")
    assert page.status_code == 503 and page.mimetype == "text/html" and page.headers["Retry-After"]
    assert b"briefly unavailable" in page.data
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json) == (503, {"status": "unavailable"})
    assert client.get("/healthz").status_code == 200


def test_a_held_lock_is_a_503_after_the_timeout_not_a_hang(app, api, session, database_url):
    """Another connection holds the write lock (SQLite) or a table lock (PostgreSQL) longer than the database
    timeout: ingestion answers 503 after the timeout instead of waiting for the lock."""
    pilot = make_pilot(session)
    quick = _app(database_url, DATABASE_TIMEOUT=0.3)
    client = ApiClient(quick.test_client(), api._tokens)
    holder = make_engine(database_url)
    with Session(holder) as locker:
        begin_write(locker)  # SQLite: BEGIN IMMEDIATE, the write lock held until the rollback below
        if holder.dialect.name == "postgresql":
            locker.execute(text("LOCK TABLE outcome IN ACCESS EXCLUSIVE MODE"))
        response = client.post(f"/api/v1/pilots/{pilot}/outcomes", json={"outcomes": [audit("a1")]})
        locker.rollback()
    holder.dispose()
    again = client.post(f"/api/v1/pilots/{pilot}/outcomes", json={"outcomes": [audit("a1")]})
    with quick.app_context():
        engine().dispose()
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] and response.json["error"]["code"] == "database_unavailable"
    assert again.status_code == 200


def test_missing_sqlite_database_is_refused_and_not_created(tmp_path):
    path = tmp_path / "nothing-here.sqlite3"
    with pytest.raises(ConfigurationError, match="pilotlab db upgrade"):
        _app(f"sqlite:///{path}")
    assert not path.exists()


def test_unmigrated_or_outdated_database_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    make_engine(url).dispose()  # an empty SQLite file
    with pytest.raises(ConfigurationError, match="no PilotLab schema"):
        _app(url)
    migrate.upgrade(url, "0001")
    with pytest.raises(ConfigurationError, match="revision 0001"):
        _app(url)
    migrate.upgrade(url)
    assert _app(url).test_client().get("/readyz").status_code == 200


def test_the_cli_creates_the_database_private_to_the_service_user(tmp_path):
    from click.testing import CliRunner

    from pilots.cli import cli
    from pilots.commands import register

    folder = tmp_path / "instance"
    register(cli)
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{folder / 'p.sqlite3'}", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for name in ("p.sqlite3", "p.sqlite3-wal", "p.sqlite3-shm"):
        if (folder / name).exists():
            assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(folder / "p.sqlite3").st_mode) == 0o600
