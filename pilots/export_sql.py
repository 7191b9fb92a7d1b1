"""CSV exports written by the database: PostgreSQL `COPY (SELECT ...) TO STDOUT`, a bare cursor on SQLite.

The generic writer (`pilots.exports.csv_chunks`) pays for an ORM row, a dict and a Python formatting call per value;
here the SELECT itself produces the CSV text of every cell (ISO timestamps, `true`/`false`, escaped text through
`pilots.csv_safety.sql_escape`), so PostgreSQL's `COPY` writes the file on its own and SQLite's rows go straight
from the cursor into `csv.writer`. Both write exactly the bytes of the generic path (tests compare them).

Memory stays flat: SQLite steps its cursor `BATCH` rows at a time, `COPY` sends one row per message, and chunks of
about `CHUNK_BYTES` are handed to the web server as soon as they fill. `fetch_batches` and `copy_rows` are the only
places rows are read, so a test can watch that the first chunk leaves before the last row is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots import exports
from pilots.csv_safety import sql_escape
from pilots.exports import CsvBuffer

BATCH = 1000
# A PostgreSQL export is one long `COPY` statement that runs as fast as the client reads. The web app bounds every
# statement by a few seconds (an outage must answer 503 quickly), which would cut a large export off mid-file; the
# export's own transaction lifts that bound to this one.
EXPORT_STATEMENT_TIMEOUT_S = 3600

# Builds the SELECT for a dialect ("sqlite" or "postgresql"); `{p}` marks each parameter, in `params` order.
SelectFor = Callable[[str], str]


def text(column: str, dialect: str) -> str:
    """A text column, escaped against formula injection."""
    return sql_escape(column, dialect)


def boolean(column: str, dialect: str) -> str:
    """A boolean column as `true` / `false` (NULL stays empty)."""
    if dialect == "sqlite":
        return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"
    return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"


def timestamp(column: str, dialect: str) -> str:
    """A UTC timestamp as Python's `isoformat()` writes it: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`.

    SQLite holds `YYYY-MM-DD HH:MM:SS.ffffff` text (SQLAlchemy's storage format); PostgreSQL a timestamptz."""
    if dialect == "sqlite":
        fraction = f"CASE WHEN substr({column}, 21) IN ('', '000000') THEN '' ELSE '.' || substr({column}, 21) END"
        return f"substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || {fraction} || '+00:00'"
    utc = f"({column} AT TIME ZONE 'UTC')"
    fraction = f"CASE WHEN date_trunc('second', {utc}) = {utc} THEN '' ELSE to_char({utc}, '.US') END"
    return f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || {fraction} || '+00:00'"""


def day(column: str, dialect: str) -> str:
    """A date as `YYYY-MM-DD` (SQLite stores it so)."""
    return column if dialect == "sqlite" else f"to_char({column}, 'YYYY-MM-DD')"


def number(column: str, dialect: str) -> str:
    """A double as Python's `repr` writes it (`3.0`, `42.5`); PostgreSQL's shortest form is the same but for the
    `.0` of whole numbers (and the exponent of numbers beyond 1e15, which stay as PostgreSQL writes them)."""
    if dialect == "sqlite":
        return f"CAST({column} AS REAL)"
    return (
        f"CASE WHEN {column} = trunc({column}) AND abs({column}) < 1e15 "
        f"THEN trunc({column})::bigint::text || '.0' ELSE {column}::text END"
    )


def stream_csv(
    factory: sessionmaker[Session], header: Sequence[str], select_for: SelectFor, params: Sequence[Any]
) -> Iterator[bytes]:
    """The CSV of `select_for(dialect)` with `params`, header first, in chunks of about CHUNK_BYTES."""
    with factory() as session:
        connection = session.connection()
        dialect = connection.dialect.name
        cursor = connection.connection.cursor()
        try:
            if dialect == "sqlite":
                yield from _sqlite(cursor, header, select_for(dialect).format(p="?"), params)
            else:
                cursor.execute(f"SET LOCAL statement_timeout = '{EXPORT_STATEMENT_TIMEOUT_S}s'")
                # Follow an index that gives the order instead of sorting first: with the statistics of a freshly
                # loaded table PostgreSQL expects a few rows and sorts them all before the first byte leaves.
                cursor.execute("SET LOCAL enable_sort = off")
                yield from _copy(cursor, header, select_for(dialect).format(p="%s"), params)
        finally:
            cursor.close()


def fetch_batches(cursor: Any) -> Iterator[list[tuple]]:
    """The executed cursor's rows, `BATCH` at a time."""
    while rows := cursor.fetchmany(BATCH):
        yield rows


def copy_rows(copy: Any) -> Iterator[bytes]:
    """The rows a running `COPY ... TO STDOUT` sends, as bytes (one CSV line each)."""
    for data in copy:
        yield bytes(data)


def _sqlite(cursor: Any, header: Sequence[str], statement: str, params: Sequence[Any]) -> Iterator[bytes]:
    out = CsvBuffer()
    out.write([header])
    cursor.execute(statement, tuple(params))
    for rows in fetch_batches(cursor):
        out.write(rows)
        if out.full:
            yield out.take()
    yield out.take()


def _copy(cursor: Any, header: Sequence[str], statement: str, params: Sequence[Any]) -> Iterator[bytes]:
    parts = [(",".join(header) + "\n").encode()]
    size = 0
    with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT CSV)", tuple(params)) as copy:
        for line in copy_rows(copy):
            parts.append(line)
            size += len(line)
            if size >= exports.CHUNK_BYTES:
                yield b"".join(parts)
                parts.clear()
                size = 0
    yield b"".join(parts)
