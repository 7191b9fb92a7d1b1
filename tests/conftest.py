"""Shared fixtures: an app on a migrated test database (SQLite by default, PostgreSQL when
`PILOTLAB_TEST_DATABASE_URL` is set), a client, a CLI runner, a session and users with API tokens.

Under pytest-xdist (`make test` runs one worker per core) every worker has a database of its own: SQLite files live
in each worker's temporary folder, and on PostgreSQL worker ``gw1`` of the suite's database ``test`` runs in
``test_gw1`` (created when missing; its schema is dropped and migrated at the start, as the suite's own is)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import pilots.models  # noqa: F401  (registers every table)
from pilots import accounts
from pilots.db import make_engine
from pilots.ingestion import context as ingestion_context
from pilots.migrate import upgrade
from pilots.results import units as results_units
from webui import create_app
from webui.database import engine as app_engine
from webui.database import sessions


def pytest_configure(config: pytest.Config) -> None:
    """Point an xdist worker at its own PostgreSQL database before any test reads the setting."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    suite = os.environ.get("PILOTLAB_TEST_DATABASE_URL", "")
    if worker and suite.startswith("postgresql"):
        os.environ["PILOTLAB_TEST_DATABASE_URL"] = _worker_database(suite, worker)


def _worker_database(suite: str, worker: str) -> str:
    """The URL of ``worker``'s own database beside the suite's, created when missing."""
    url = make_url(suite)
    name = f"{url.database}_{worker}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for the whole run."""
    url = os.environ.get("PILOTLAB_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    if url.startswith("postgresql"):
        _drop_everything(url)
    upgrade(url)
    yield url


def _drop_everything(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def truncate_all(engine) -> None:
    """Empty every table (fast reset between tests; the schema stays)."""
    tables = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def app(database_url: str):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "SIMULATION": True})
    yield app
    results_units.UNITS.clear()  # emptied tables restart their ids: a later test's pilot may match a fingerprint
    ingestion_context.ROSTERS.clear()
    with app.app_context():
        truncate_all(app_engine())
        app_engine().dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app) -> Iterator[Session]:
    """A session on the app's database (commit what a test sets up).

    No app context stays pushed: test-client requests then get their own request session (and teardown), as they
    would in production, instead of sharing this one's `g`.
    """
    with app.app_context():
        factory = sessions()
    with factory() as session:
        yield session


@pytest.fixture
def tokens(app) -> dict[str, str]:
    """One user per role, with an API token each: `tokens["pm"]`."""
    result = {}
    with app.app_context(), sessions()() as session:
        for role in accounts.ROLES:
            user = accounts.create_user(session, f"{role}-user", role)
            result[role] = accounts.issue_token(session, user)
        session.commit()
    return result


class ApiClient:
    """The test client with a role's bearer token on every request: `api.as_("pm").post(...)`."""

    def __init__(self, client, tokens: dict[str, str], role: str = "admin") -> None:
        self._client, self._tokens, self.role = client, tokens, role

    def as_(self, role: str) -> ApiClient:
        return ApiClient(self._client, self._tokens, role)

    def _headers(self, kwargs: dict) -> dict:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self._tokens[self.role]}")
        return headers

    def open(self, method: str, path: str, **kwargs):
        return self._client.open(path, method=method, headers=self._headers(kwargs), **kwargs)

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.open("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def api(client, tokens) -> ApiClient:
    return ApiClient(client, tokens)
