"""Engines and sessions for SQLite and PostgreSQL from one code path.

Everything dialect-specific lives here: SQLite gets WAL journaling, foreign keys, a busy timeout and explicit
transaction control (so writers can take the write lock up front with `BEGIN IMMEDIATE`); PostgreSQL needs nothing
beyond its URL. The service function that owns a unit of work commits; helpers take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "pilotlab_begin_immediate"


def make_engine(url: str) -> Engine:
    """Create the engine for `url`, creating the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A writer that begins deferred and upgrades later can fail at once with SQLITE_BUSY when another
        # worker wrote in between; taking the write lock first makes concurrent writers queue instead.
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (results are serialized after the unit of work ends)."""
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction.

    Call it first in a unit of work that writes. On SQLite it issues `BEGIN IMMEDIATE`; on PostgreSQL it is a plain
    BEGIN (row locks and unique constraints do the rest).
    """
    if not session.in_transaction():
        session.connection(execution_options={_IMMEDIATE: True})


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """One write unit of work on an existing (request) session: commits on success, rolls back on any error.

    A request session has usually read already (the token lookup), which opened a deferred transaction; that read is
    committed first so the write transaction starts with the write lock (`BEGIN IMMEDIATE` on SQLite) and waits its
    turn instead of failing with "database is locked" when another worker writes in between.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
    begin_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A fresh session for one write unit of work: commits on success, rolls back on any error."""
    with factory() as session, write_transaction(session):
        yield session
