"""The write path: store a validated batch, exactly once, with its rollups, in the caller's transaction.

Guarantees under concurrent writers (several gunicorn workers, the CLI):

* The pilot row is locked first (SQLite: `BEGIN IMMEDIATE` already holds the database write lock; PostgreSQL:
  `SELECT ... FOR NO KEY UPDATE`), and its status is re-checked under the lock, so a batch never lands in a pilot
  that was concluded meanwhile, and batches for one pilot are stored one after the other.
* Rows are inserted with `ON CONFLICT (pilot_id, audit_id) DO NOTHING`; the audits that were already stored are then
  read back and compared field by field: identical -> duplicate, different -> `Conflict` (409) naming them, and the
  caller's transaction is rolled back, so nothing of the batch is written.
* Rollups are computed in Python from the rows this batch inserted (never the duplicates) and added with an upsert.

SQLite inserts with multi-row statements (`pilots.db.sqlite_insert_rows`); which rows were skipped is found only when
the row count says some were (rows this transaction inserted have ids above the previous maximum, because it holds the
write lock). PostgreSQL `COPY`s the batch (binary format) straight into the table inside a savepoint; only if an audit
id is already stored does it roll back to the savepoint, `COPY` into a temporary table and insert from it with
`ON CONFLICT DO NOTHING RETURNING audit_id`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from itertools import repeat
from operator import add, itemgetter
from typing import Any

import psycopg
from sqlalchemy import Connection

from pilots.db import sqlite_insert_rows
from pilots.errors import Conflict, problem
from pilots.ingestion.context import ensure_accepting
from pilots.ingestion.fields import FIELDS, canonical

# One audit as `ParsedBatch.values` holds it: `Outcome` field order, booleans as 0/1.
Row = tuple[Any, ...]

_COLUMNS = (
    "pilot_id, audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, policy, queue, auditor_id, "
    "item_id"
)
_CONTENT = (
    "audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, policy, queue, auditor_id, item_id"
)
# The pilot id and ingestion time are the same for every row: they are written into the statement (an int and a
# timestamp we formatted) so the batch's tuples are bound as they are.
_SQLITE_INSERT = f"INSERT INTO outcome ({_COLUMNS}, ingested_at)"
_SQLITE_ROW = "({pilot_id:d}, {marks}, '{stamp}')"
_SQLITE_CONFLICT = " ON CONFLICT (pilot_id, audit_id) DO NOTHING"
# The optional fields of a `Row` (critical .. item_id): a column that is None in every row of the batch is written as
# NULL in the statement instead of bound. The sqlite3 module looks for an adapter for every None it binds (no
# adapter is registered for None, so the lookup fails through two attribute probes): about 3,300 instructions a value,
# 4 % of a batch's whole request when, say, no audit names an item.
_WIDTH = len(FIELDS) + 1  # with the day
_OPTIONAL = range(5, _WIDTH)
_UTC = "audited_at AT TIME ZONE 'UTC'"  # the staged text is UTC without an offset
_STAGE = (
    "CREATE TEMPORARY TABLE outcome_stage (audit_id text, moderator_id text, audited_at timestamp, day date, "
    "correct boolean, critical boolean, handle_time_s double precision, policy text, queue text, auditor_id text, "
    "item_id text) "
    "ON COMMIT DROP"
)
_PG_INSERT = (
    f"INSERT INTO outcome ({_COLUMNS}, ingested_at) SELECT %s, {_CONTENT.replace('audited_at', _UTC)}, %s "
    "FROM outcome_stage "
    "ON CONFLICT (pilot_id, audit_id) DO NOTHING RETURNING audit_id"
)
_SQLITE_CHUNK = 500
# Column types of `_COLUMNS, ingested_at` for binary COPY, and 0/1/None as PostgreSQL booleans.
_BINARY_TYPES = (
    *("int4", "text", "text", "timestamptz", "date", "bool", "bool", "float8", "text", "text", "text", "text"),
    "timestamptz",
)
_BOOLEAN = {1: True, 0: False}


def lock_pilot(connection: Connection, pilot_id: int) -> int:
    """Lock the pilot against concurrent ingestion and conclusion; raise unless it is running. Returns its data
    version (batches of a pilot are serialized by this lock, so the next version is this one plus one)."""
    if connection.dialect.name == "sqlite":
        row = connection.exec_driver_sql("SELECT status, data_version FROM pilot WHERE id = ?", (pilot_id,)).first()
    else:
        row = connection.exec_driver_sql(
            "SELECT status, data_version FROM pilot WHERE id = %s FOR NO KEY UPDATE", (pilot_id,)
        ).first()
    ensure_accepting(pilot_id, row[0] if row else None)
    return row[1]


def insert(
    connection: Connection, pilot_id: int, rows: Sequence[Row], row_numbers: Sequence[int], ingested_at: datetime
) -> tuple[list[Row], int]:
    """Insert the batch; return the rows actually inserted and the number of duplicates of stored audits.

    Raises Conflict (and the caller must roll back) when a stored audit has different content.
    """
    if connection.dialect.name == "sqlite":
        skipped = _insert_sqlite(connection, pilot_id, rows, ingested_at)
    else:
        skipped = _insert_postgresql(connection, pilot_id, rows, ingested_at)
    if not skipped:
        return list(rows), 0
    stored = _stored_content(connection, pilot_id, [rows[i][0] for i in skipped])
    conflicts = []
    for i in skipped:
        differing = _differences(connection.dialect.name, rows[i], stored.get(rows[i][0]))
        if differing:
            conflicts.append(
                problem(
                    "audit_id",
                    f"{rows[i][0]!r} is already stored with different {', '.join(differing)}",
                    row_numbers[i],
                )
            )
    if conflicts:
        noun = "audit is" if len(conflicts) == 1 else "audits are"
        raise Conflict(
            f"{len(conflicts)} {noun} already stored with different content (first: {rows[skipped[0]][0]!r}); "
            "nothing of the batch was written. Corrections need new audit ids.",
            conflicts[:100],
        )
    skipped_set = set(skipped)
    return [row for i, row in enumerate(rows) if i not in skipped_set], len(skipped)


def _insert_sqlite(connection: Connection, pilot_id: int, rows: Sequence[Row], ingested_at: datetime) -> list[int]:
    cursor = connection.connection.cursor()
    try:
        before = cursor.execute("SELECT coalesce(max(id), 0) FROM outcome").fetchone()[0]
        absent = _absent_columns(rows)
        marks = ", ".join("NULL" if j in absent else "?" for j in range(_WIDTH))
        row = _SQLITE_ROW.format(pilot_id=pilot_id, marks=marks, stamp=canonical(ingested_at))
        bound = list(map(itemgetter(*(j for j in range(_WIDTH) if j not in absent)), rows)) if absent else rows
        if sqlite_insert_rows(cursor, _SQLITE_INSERT, row, bound, _SQLITE_CONFLICT) == len(rows):
            return []
        # We hold the write lock, so the rows with ids above the previous maximum are exactly this batch's.
        cursor.execute("SELECT audit_id FROM outcome WHERE id > ?", (before,))
        inserted = {r[0] for r in cursor.fetchall()}
    finally:
        cursor.close()
    return [i for i, row in enumerate(rows) if row[0] not in inserted]


def _absent_columns(rows: Sequence[Row]) -> frozenset[int]:
    """The optional fields that are None in every row (only columns None in the first row are scanned)."""
    if not rows:
        return frozenset()
    return frozenset(j for j in _OPTIONAL if rows[0][j] is None and set(map(itemgetter(j), rows)) == {None})


def _insert_postgresql(connection: Connection, pilot_id: int, rows: Sequence[Row], ingested_at: datetime) -> list[int]:
    cursor = connection.connection.cursor()
    try:
        # Optimistic path, the bulk-load case: COPY straight into the table. Another batch cannot insert these ids
        # meanwhile (we hold the pilot lock), so the only failure is an audit already stored: then undo to the
        # savepoint and take the path that sorts out which ones. Binary COPY with declared types costs a quarter of
        # the client time of text COPY (which looks up a dumper for every value) and less server time too.
        cursor.execute("SAVEPOINT pilotlab_copy")
        try:
            with cursor.copy(f"COPY outcome ({_COLUMNS}, ingested_at) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_BINARY_TYPES)
                write = copy.write_row
                for row in _binary_rows(pilot_id, rows, ingested_at):
                    write(row)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT pilotlab_copy")
        else:
            cursor.execute("RELEASE SAVEPOINT pilotlab_copy")
            return []
        cursor.execute(_STAGE)
        with cursor.copy(f"COPY outcome_stage ({_CONTENT}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        cursor.execute(_PG_INSERT, (pilot_id, ingested_at))
        inserted = {r[0] for r in cursor.fetchall()}
        cursor.execute("DROP TABLE outcome_stage")
    finally:
        cursor.close()
    if len(inserted) == len(rows):
        return []
    return [i for i, row in enumerate(rows) if row[0] not in inserted]


def _binary_rows(pilot_id: int, rows: Sequence[Row], ingested_at: datetime) -> Iterator[tuple[Any, ...]]:
    """The rows in `_BINARY_TYPES` form (aware datetimes, dates, booleans), converted column by column."""
    ids, moderators, instants, days, correct, critical, handle, policy, queue, auditor, item = zip(*rows, strict=True)
    at = map(datetime.fromisoformat, map(add, instants, repeat("+00:00")))  # canonical text is UTC
    dates = {day: date.fromisoformat(day) for day in set(days)}
    return zip(
        repeat(pilot_id),
        ids,
        moderators,
        at,
        map(dates.__getitem__, days),
        map(bool, correct),
        map(_BOOLEAN.get, critical),
        handle,
        policy,
        queue,
        auditor,
        item,
        repeat(ingested_at),
    )


def _stored_content(connection: Connection, pilot_id: int, audit_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """The stored rows for these audit ids, as `(audit_id, moderator_id, audited_at, day, correct, ...)`."""
    found: dict[str, tuple[Any, ...]] = {}
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "sqlite":
            for start in range(0, len(audit_ids), _SQLITE_CHUNK):
                chunk = audit_ids[start : start + _SQLITE_CHUNK]
                marks = ", ".join("?" * len(chunk))
                cursor.execute(
                    f"SELECT {_CONTENT} FROM outcome WHERE pilot_id = ? AND audit_id IN ({marks})", (pilot_id, *chunk)
                )
                found.update((r[0], r) for r in cursor.fetchall())
        else:
            cursor.execute(
                f"SELECT {_CONTENT} FROM outcome WHERE pilot_id = %s AND audit_id = ANY(%s)", (pilot_id, audit_ids)
            )
            found.update((r[0], r) for r in cursor.fetchall())
    finally:
        cursor.close()
    return found


def _differences(dialect: str, ours: Row, stored: tuple[Any, ...] | None) -> list[str]:
    """Names of the fields where a stored audit differs from the submitted one."""
    if stored is None:
        # Skipped by ON CONFLICT but not found: cannot happen while the pilot is locked; refuse to count it.
        return ["content (the stored row could not be read)"]
    mine, stored = list(ours), list(stored)
    if dialect != "sqlite":
        stored[2], stored[3] = canonical(stored[2]), stored[3].isoformat()
    names = []
    for name, a, b in zip((*FIELDS[1:3], "day", *FIELDS[3:]), mine[1:], stored[1:], strict=True):
        if name == "day":
            continue  # follows from audited_at
        same = a == b if a is None or b is None else (bool(a) == bool(b) if name in ("correct", "critical") else a == b)
        if not same:
            names.append(name)
    return names
