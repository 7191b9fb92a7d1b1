"""Binds the domain's engine to the app: one session per request, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots.db import make_engine, session_factory

_EXTENSION = "pilotlab.db"


def init_app(app: Flask) -> None:
    """Create the engine for `DATABASE_URL` and register the session teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[_EXTENSION] = (engine, session_factory(engine))
    app.teardown_appcontext(_close_session)


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
    if exception is not None:
        session.rollback()
    session.close()
