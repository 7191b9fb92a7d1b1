"""`pilots.db.sqlite_insert_rows`: the multi-row insert gives the rows, order and change count of one-row inserts."""

from __future__ import annotations

import sqlite3

import pytest

from pilots.db import SQLITE_ROWS_PER_STATEMENT, sqlite_insert_flat, sqlite_insert_rows

_TABLE = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v REAL, n INTEGER, c INTEGER NOT NULL)"
_HEAD = "INSERT INTO t (k, v, n, c)"
_CONFLICT = " ON CONFLICT (k) DO NOTHING"


def _rows(count: int, offset: int = 0) -> list[tuple]:
    return [(f"k{offset + i:05d}", None if i % 3 == 0 else i / 7, i if i % 2 else None) for i in range(count)]


def _connection(limit: int | None = None) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    if limit is not None:
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    connection.execute(_TABLE)
    return connection


@pytest.mark.parametrize(
    "count", [0, 1, SQLITE_ROWS_PER_STATEMENT - 1, SQLITE_ROWS_PER_STATEMENT, SQLITE_ROWS_PER_STATEMENT + 1, 537]
)
@pytest.mark.parametrize("limit", [None, 10])
def test_same_rows_in_the_same_order_as_one_row_inserts(count: int, limit: int | None) -> None:
    ours, plain = _connection(limit), _connection()
    rows = _rows(count)
    changed = sqlite_insert_rows(ours.cursor(), _HEAD, "(?, ?, ?, 42)", rows, _CONFLICT)
    plain.executemany(f"{_HEAD} VALUES (?, ?, ?, 42){_CONFLICT}", rows)
    assert changed == count
    stored = "SELECT * FROM t ORDER BY id"
    assert ours.execute(stored).fetchall() == plain.execute(stored).fetchall()


def test_counts_only_the_rows_inserted_when_some_conflict() -> None:
    connection = _connection()
    cursor = connection.cursor()
    assert sqlite_insert_rows(cursor, _HEAD, "(?, ?, ?, 0)", _rows(150), _CONFLICT) == 150
    # 150 new keys and 100 already stored (some in a full chunk, some in the rest).
    assert sqlite_insert_rows(cursor, _HEAD, "(?, ?, ?, 1)", _rows(250, offset=50), _CONFLICT) == 150
    assert connection.execute("SELECT count(*), sum(c) FROM t").fetchone() == (300, 150)
    # The stored rows kept their content (DO NOTHING), the new ones follow in order.
    assert [k for (k,) in connection.execute("SELECT k FROM t WHERE c = 1 ORDER BY id")] == [
        f"k{i:05d}" for i in range(150, 300)
    ]


@pytest.mark.parametrize("count", [0, 1, SQLITE_ROWS_PER_STATEMENT, 2 * SQLITE_ROWS_PER_STATEMENT + 3])
def test_flat_values_insert_the_same_rows(count: int) -> None:
    by_rows, flat = _connection(), _connection(limit=10)
    rows = _rows(count)
    assert sqlite_insert_rows(by_rows.cursor(), _HEAD, "(?, ?, ?, 7)", rows) == count
    values = [value for row in rows for value in row]
    assert sqlite_insert_flat(flat.cursor(), _HEAD, "(?, ?, ?, 7)", values) == count
    stored = "SELECT * FROM t ORDER BY id"
    assert flat.execute(stored).fetchall() == by_rows.execute(stored).fetchall()
    with pytest.raises(ValueError):
        sqlite_insert_flat(flat.cursor(), _HEAD, "(?, ?, ?, 7)", [*values, "one more"])
