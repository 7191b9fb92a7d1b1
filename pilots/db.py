"""Engines and sessions for SQLite and PostgreSQL from one code path.

Everything dialect-specific lives here: SQLite gets WAL journaling, foreign keys, a busy timeout and explicit
transaction control (so writers can take the write lock up front with `BEGIN IMMEDIATE`), and a file private to the
service user; PostgreSQL gets a connect timeout and, for the web app, a statement timeout. The service function that
owns a unit of work commits; helpers take a session and never commit.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a statement may wait for a lock or run (SQLite busy timeout, PostgreSQL statement_timeout), and how long
# to wait for a connection. The web app passes its own (shorter) limits so that an outage answers 503 quickly; the CLI
# and migrations, which may rewrite large tables, keep these.
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
_IMMEDIATE = "pilotlab_begin_immediate"


def make_engine(
    url: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    statement_timeout: bool = False,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    create: bool = True,
) -> Engine:
    """Create the engine for `url`.

    `timeout_s` bounds lock waits (SQLite's busy timeout) and waiting for a pooled connection; with
    `statement_timeout` it also bounds every PostgreSQL statement. `connect_timeout_s` bounds a PostgreSQL connect.
    With `create` a missing SQLite file (and its folder) is created private to the service user (folder 0700, file
    0600); without it a missing file is a `MissingDatabase` error instead of an empty database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        options = f"-c statement_timeout={int(timeout_s * 1000)}" if statement_timeout else None
        connect_args = {"connect_timeout": max(1, round(connect_timeout_s))} | ({"options": options} if options else {})
        return create_engine(url, pool_pre_ping=True, pool_timeout=timeout_s, connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        _sqlite_file(Path(parsed.database), create)
    engine = create_engine(url, pool_timeout=timeout_s, connect_args={"check_same_thread": False, "timeout": timeout_s})
    _configure_sqlite(engine, int(timeout_s * 1000))
    return engine


class MissingDatabase(RuntimeError):
    """The configured SQLite file does not exist (and the caller may not create it)."""


def _sqlite_file(path: Path, create: bool) -> None:
    if path.exists():
        return
    if not create:
        raise MissingDatabase(f"The database file {path} does not exist.")
    private_folder(path.parent)
    # Created here, empty and 0600, so SQLite opens it instead of creating it with the umask's permissions; its -wal
    # and -shm files take the database file's permissions.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) readable only by the service user; an existing folder is left as is."""
    if folder.exists():
        return
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    folder.chmod(0o700)  # mkdir's mode is filtered by the umask (and parents get the default mode anyway)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
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


def write_each_best_effort(
    session: Session, items: Iterable[T], write: Callable[[Session, T], object], what: Callable[[T], str]
) -> None:
    """Write each of ``items`` in its own write transaction on a request session, after the response's work is done
    (the folds the results service keeps). Failing to (a busy database) never fails the request: the failure is
    logged with ``what(item)`` and a later read writes instead."""
    dbapi_error = session.get_bind().dialect.dbapi.Error
    for item in items:
        try:
            with write_transaction(session):
                write(session, item)
        except (SQLAlchemyError, dbapi_error):
            log.warning("could not write %s", what(item), exc_info=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A fresh session for one write unit of work: commits on success, rolls back on any error."""
    with factory() as session, write_transaction(session):
        yield session


def fetch_rows(session: Session, query: str, pilot_id: int, *dates: date) -> list[tuple]:
    """All rows of `query` (`{m}` marks the parameters: the pilot id, then `dates`) through the DBAPI cursor.

    For reads of thousands of rows: the ORM's (and Core's) per-row processing costs more than the query itself."""
    return select_rows(session, query, (pilot_id, *dates))


def select_rows(session: Session, query: str, params: tuple, *, binary: bool = False) -> list[tuple]:
    """All rows of `query` (`{m}` marks the parameters, given in order) through the DBAPI cursor.

    `binary`: on PostgreSQL, rows in the binary format, where `bytea` values cross as they are instead of as hex text
    (the 60 MB of rollup series of a 50,000-moderator pilot: 0.21 -> 0.09 s)."""
    connection = session.connection()
    raw = connection.connection
    cursor = raw.cursor(binary=True) if binary and connection.dialect.name == "postgresql" else raw.cursor()
    try:
        cursor.execute(*_bound(connection.dialect.name, query, params))
        return cursor.fetchall()
    finally:
        cursor.close()


def as_date(value: date | str) -> date:
    """A date column's value as a date (the sqlite3 driver hands back the stored ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_CURSOR_NAMES = itertools.count()


def fetch_chunks(
    session: Session, query: str, pilot_id: int, *dates: date, size: int = 100_000
) -> Iterator[list[tuple]]:
    """The rows of `query` (as `fetch_rows`) in lists of at most `size`, read as they are consumed.

    For reads of millions of rows: `fetch_rows` holds every row as Python objects at once (about 250 bytes a row of
    four values, 390 MB for the 1.6 million rollup rows of a 50,000-moderator pilot); a consumer that folds each chunk
    into arrays holds one chunk. On PostgreSQL the rows come through a server-side cursor (inside the session's
    transaction): a client-side one would receive the whole result into libpq's memory before the first chunk."""
    connection = session.connection()
    dialect, raw = connection.dialect.name, connection.connection
    cursor = raw.cursor() if dialect == "sqlite" else raw.cursor(name=f"pilotlab_chunks_{next(_CURSOR_NAMES)}")
    try:
        cursor.execute(*_bound(dialect, query, (pilot_id, *dates)))
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


# Rows a SQLite multi-row insert binds per statement (`sqlite_insert_rows`).
SQLITE_ROWS_PER_STATEMENT = 100


def sqlite_insert_rows(cursor: sqlite3.Cursor, head: str, row: str, rows: Sequence[Sequence], tail: str = "") -> int:
    """Run `{head} VALUES {row}{tail}` for every one of `rows`, in order (`row` is one row's `(?, ...)`, which may
    also hold constants); returns how many rows the statements changed.

    One statement per `SQLITE_ROWS_PER_STATEMENT` rows (`VALUES (...), (...), ...`), the rest one row a statement:
    `executemany` of a one-row statement resets the statement after every row, which closes its table and index
    cursors, so each row seeks every b-tree from the root again; within one statement the cursors stay open and
    appends land on the page the previous row left them on. For the 10,000 rows of an ingestion batch this takes
    about 40 % less time (outcomes: 23 -> 14 ms; `qa_day`: 23 -> 13 ms), and inserts the same rows in the same order
    with the same effect. A statement stays within the connection's limit on bound parameters.
    """
    per = _rows_per_statement(cursor, row)
    end = len(rows) - len(rows) % per
    flat = itertools.chain.from_iterable
    chunks = [tuple(flat(rows[start : start + per])) for start in range(0, end, per)]
    return _insert_chunks(cursor, head, row, per, chunks, rows[end:], tail)


def sqlite_insert_flat(cursor: sqlite3.Cursor, head: str, row: str, values: list, tail: str = "") -> int:
    """`sqlite_insert_rows` for rows given as one flat list, row after row (for a caller that can build that list
    at C level: cheaper than building the rows)."""
    per = _rows_per_statement(cursor, row)
    width = row.count("?")
    if not width or len(values) % width:
        raise ValueError(f"{len(values)} values do not make rows of {width}")
    count = len(values) // width
    end = (count - count % per) * width
    step = per * width
    chunks = [values[start : start + step] for start in range(0, end, step)]
    rest = [values[start : start + width] for start in range(end, len(values), width)]
    return _insert_chunks(cursor, head, row, per, chunks, rest, tail)


def _rows_per_statement(cursor: sqlite3.Cursor, row: str) -> int:
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(SQLITE_ROWS_PER_STATEMENT, limit // max(row.count("?"), 1)))


def _insert_chunks(
    cursor: sqlite3.Cursor, head: str, row: str, per: int, chunks: list[Sequence], rest: Sequence, tail: str
) -> int:
    """The statements of `sqlite_insert_rows`: `chunks` of `per` rows' values, then the `rest` one row a statement."""
    changed = 0
    if chunks:
        cursor.executemany(f"{head} VALUES {', '.join([row] * per)}{tail}", chunks)
        changed += cursor.rowcount
    if rest:
        cursor.executemany(f"{head} VALUES {row}{tail}", rest)
        changed += cursor.rowcount
    return changed


def _bound(dialect: str, query: str, params: tuple) -> tuple[str, tuple]:
    """`query` with the driver's parameter marks in place of `{m}`, and its parameters (SQLite: dates as ISO text)."""
    if dialect == "sqlite":
        return query.format(m="?"), tuple(p.isoformat() if isinstance(p, date) else p for p in params)
    return query.format(m="%s"), params
