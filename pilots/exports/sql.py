"""CSV exports written by the database: PostgreSQL `COPY (SELECT ...) TO STDOUT`, SQLite line by line.

The generic writer (`pilots.exports.table.csv_chunks`) pays for an ORM row, a dict and a Python formatting call per
value; here the SELECT itself produces the CSV text of every cell (ISO timestamps, `true`/`false`, escaped text through
`pilots.csv_safety.sql_escape`), so PostgreSQL's `COPY` writes the file on its own. On SQLite the SELECT can go one step
further and write each row's whole line (`line`, `SqliteLines`): the driver then hands Python one string per row instead
of a dozen values for `csv.writer`, and only the rare rows SQL cannot write exactly (a cell to quote, a double whose
`repr` SQL cannot be sure to match) go through `csv.writer`. Tables without `SqliteLines` go from the cursor into
`csv.writer`. Every path writes exactly the bytes of the generic path (tests compare them).

Memory stays flat: SQLite steps its cursor `BATCH` rows at a time, `COPY` sends one row per message, and chunks of
about `CHUNK_BYTES` are handed to the web server as soon as they fill. `fetch_batches` and `copy_rows` are the only
places rows are read, so a test can watch that the first chunk leaves before the last row is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots.csv_safety import sql_escape
from pilots.exports import table
from pilots.exports.table import CsvBuffer

BATCH = 1000
# A PostgreSQL export is one long `COPY` statement that runs as fast as the client reads. The web app bounds every
# statement by a few seconds (an outage must answer 503 quickly), which would cut a large export off mid-file; the
# export's own transaction lifts that bound to this one.
EXPORT_STATEMENT_TIMEOUT_S = 3600

# Builds the SELECT for a dialect ("sqlite" or "postgresql"); `{p}` marks each parameter, in `params` order.
SelectFor = Callable[[str], str]

# A SQLite line that starts with this character was not written by the database: the rest of it is the row's key,
# and the row is written by `csv.writer` instead (identifiers cannot hold control characters, so no real line
# starts with it).
FALLBACK = "\x00"
# Cells holding any of these need CSV quoting, which the line the database writes leaves to `csv.writer`.
_QUOTING_GLOB = "'*[,\"' || char(10) || char(13) || ']*'"


@dataclass(frozen=True)
class SqliteLines:
    """How SQLite writes a table's CSV lines itself (see `line`): `select` yields one column, each row's line
    without its line end (or FALLBACK and the row's key), in the export's order; `cells_by_key` selects the cells of
    the rows whose keys replace `{keys}`, the row's key last, for `csv.writer`. Both take the export's `params`."""

    select: str
    cells_by_key: str


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

    SQLite holds `YYYY-MM-DD HH:MM:SS.ffffff` text (SQLAlchemy's storage format; the fraction is the only `.`, and
    `isoformat` leaves out a zero one); PostgreSQL a timestamptz."""
    if dialect == "sqlite":
        return f"replace(replace({column}, '.000000', ''), ' ', 'T') || '+00:00'"
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


def exact_number(column: str) -> str:
    """SQLite: a double as Python's `repr` writes it, `''` for NULL, and NULL where SQL cannot be sure to match.

    `printf('%!.15g')` writes 15 significant digits without trailing zeros but with `.0` for whole numbers. When
    those digits read back as the same double, they are its shortest round-trip digits (two 15-digit decimals are
    further apart than a double's precision, so only one can round to it), which are `repr`'s; and from 1e-4 to
    1e15 both write them in positional notation. Elsewhere (zero, whose sign printf drops, tiny, huge and
    17-digit values) the row falls back to `csv.writer`."""
    written = f"printf('%!.15g', {column})"
    exact = f"abs({column}) >= 0.0001 AND abs({column}) < 1e15 AND CAST({written} AS REAL) = {column}"
    return f"CASE WHEN {column} IS NULL THEN '' WHEN {exact} THEN {written} END"


def line(cells: Sequence[str], quotable: Sequence[str], key: str) -> str:
    """SQLite: a row's whole CSV line from the CSV text of its `cells` (NULL cells empty), or FALLBACK and the
    row's `key` when a cell is NULL on purpose (`exact_number`) or one of the `quotable` text columns holds a
    character that needs quoting. Writing the line in SQL spares the driver a Python object per cell and
    `csv.writer` a formatting call per value: the export's rows then cost about what the bare cursor's do."""
    joined = " || ',' || ".join(cells)
    needs_quoting = " || ".join(f"ifnull({column}, '')" for column in quotable)
    written = f"CASE WHEN ({needs_quoting}) GLOB {_QUOTING_GLOB} THEN NULL ELSE {joined} END"
    return f"coalesce({written}, char(0) || {key})"


def stream_csv(
    factory: sessionmaker[Session],
    header: Sequence[str],
    select_for: SelectFor,
    params: Sequence[Any],
    sqlite_lines: SqliteLines | None = None,
) -> Iterator[bytes]:
    """The CSV of `select_for(dialect)` with `params`, header first, in chunks of about CHUNK_BYTES; on SQLite
    written line by line by the database itself when `sqlite_lines` says how."""
    with factory() as session:
        connection = session.connection()
        dialect = connection.dialect.name
        cursor = connection.connection.cursor()
        try:
            if dialect == "sqlite" and sqlite_lines is not None:
                yield from _sqlite_lines(connection.connection, cursor, header, sqlite_lines, params)
            elif dialect == "sqlite":
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


def _sqlite_lines(
    connection: Any, cursor: Any, header: Sequence[str], lines: SqliteLines, params: Sequence[Any]
) -> Iterator[bytes]:
    out = CsvBuffer()
    out.write([header])
    cursor.execute(lines.select.format(p="?"), tuple(params))
    for rows in fetch_batches(cursor):
        text = "\n".join([row[0] for row in rows])
        if FALLBACK in text:
            text = _written_by_csv_writer(connection, lines, params, text)
        out.write_text(text + "\n")
        if out.full:
            yield out.take()
    yield out.take()


def _written_by_csv_writer(connection: Any, lines: SqliteLines, params: Sequence[Any], text: str) -> str:
    """`text` with each FALLBACK line replaced by the line `csv.writer` writes for its row's cells."""
    written = text.split("\n")
    fallback = {written[at][1:]: at for at in range(len(written)) if written[at].startswith(FALLBACK)}
    statement = lines.cells_by_key.format(p="?", keys=", ".join("?" * len(fallback)))
    cursor = connection.cursor()
    try:
        for *cells, key in cursor.execute(statement, (*params, *fallback)):
            out = CsvBuffer()
            out.write([cells])
            written[fallback[str(key)]] = out.take().decode()[:-1]
    finally:
        cursor.close()
    return "\n".join(written)


def _copy(cursor: Any, header: Sequence[str], statement: str, params: Sequence[Any]) -> Iterator[bytes]:
    parts = [(",".join(header) + "\n").encode()]
    size = 0
    with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT CSV)", tuple(params)) as copy:
        for line in copy_rows(copy):
            parts.append(line)
            size += len(line)
            if size >= table.CHUNK_BYTES:
                yield b"".join(parts)
                parts.clear()
                size = 0
    yield b"".join(parts)
