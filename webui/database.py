"""Binds the domain's engine to the app: one session per request, closed at teardown.

The app refuses to start on a database it cannot serve: a SQLite file that does not exist (it is never created here,
so a typo in the path cannot become an empty database that answers 500) or a schema that is not at the newest
migration. A database that cannot be reached at start is only logged: `/readyz` says so and requests answer 503
until it is back. `DATABASE_TIMEOUT` (seconds) bounds lock waits, PostgreSQL statements and waits for a pooled
connection; `DATABASE_CONNECT_TIMEOUT` bounds connecting.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots import migrate
from pilots.db import MissingDatabase, make_engine, session_factory

_EXTENSION = "pilotlab.db"
UPGRADE_HINT = (
    "Run `pilotlab db upgrade` (with the same PILOTLAB_DATABASE_URL) to create or migrate it, then start again."
)


def init_app(app: Flask) -> None:
    """Create the engine for `DATABASE_URL`, check its schema and register the session teardown."""
    from webui import ConfigurationError

    app.config.setdefault("DATABASE_TIMEOUT", 10.0)
    app.config.setdefault("DATABASE_CONNECT_TIMEOUT", 5.0)
    try:
        engine = make_engine(
            app.config["DATABASE_URL"],
            timeout_s=float(app.config["DATABASE_TIMEOUT"]),
            statement_timeout=True,
            connect_timeout_s=float(app.config["DATABASE_CONNECT_TIMEOUT"]),
            create=False,
        )
    except MissingDatabase as error:
        raise ConfigurationError(f"{error} {UPGRADE_HINT}") from None
    _check_schema(app, engine, ConfigurationError)
    app.extensions[_EXTENSION] = (engine, session_factory(engine))
    app.teardown_appcontext(_close_session)


def _check_schema(app: Flask, engine: Engine, refuse: type[Exception]) -> None:
    head = migrate.head_revision()
    try:
        with engine.connect() as connection:
            found = migrate.revision_of(connection)
    except SQLAlchemyError as error:
        app.logger.warning("The database cannot be reached at start (%s); requests answer 503 until it can.", error)
        return
    if found is None:
        raise refuse(f"The database has no PilotLab schema. {UPGRADE_HINT}")
    if found != head:
        raise refuse(f"The database schema is at revision {found}, this PilotLab needs {head}. {UPGRADE_HINT}")


def schema_ready() -> bool:
    """The database answers and its schema is at the newest migration (for `/readyz`)."""
    try:
        with engine().connect() as connection:
            return migrate.revision_of(connection) == migrate.head_revision()
    except SQLAlchemyError:
        return False


def engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions[_EXTENSION][0]


def sessions() -> sessionmaker[Session]:
    """The current app's session factory (for work that needs its own sessions, like streaming exports)."""
    return current_app.extensions[_EXTENSION][1]


def get_session() -> Session:
    """The request's session, created on first use."""
    if "db_session" not in g:
        g.db_session = sessions()()
    return g.db_session


def _close_session(exception: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exception is not None:
            session.rollback()
    except SQLAlchemyError:  # the connection is gone (an outage): closing below returns it to the pool invalidated
        pass
    finally:
        session.close()
