"""QA rollups (`qa_day`, `qa_grade`), maintained with the outcomes like `unit_day` (`pilots.rollups`).

Each accepted batch adds, in its own transaction and from the rows it actually inserted:

* its `qa_day` sums per (day, moderator, policy, queue, auditor), in `pilots.rollups.SUMS` order, aggregated column
  by column with numpy (one dict pass to number the keys, then one `bincount` per sum) and appended as new rows
  (multi-row inserts on SQLite, one binary `COPY` on PostgreSQL): `qa_day` has no unique key, a key that several
  batches touched has several rows and readers sum them (an upsert costs the same on SQLite but several times a
  plain `COPY` on PostgreSQL, where it probes the six-column key for every row). Each row carries the batch's data
  version (`batch`), which the results service uses to fold new batches into per-dimension sums
  (`pilots.results.qa_levels`);
* the grades of its audits that name an item and an auditor to `qa_grade`, one row per (item, auditor), the first
  one stored kept (`ON CONFLICT DO NOTHING`, as the QA read always took the first grade of an auditor per item).

So the QA analyses read these rollups and never the raw audits (`pilots.results.qa_data`), and they survive the
retention purge. `from_outcomes` recomputes `qa_day` from the raw rows, to check the incremental path (tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, select
from sqlmodel import Session

from pilots.db import sqlite_insert_flat, sqlite_insert_rows
from pilots.models import Outcome, qa_day
from pilots.rollups import SUMS

KEY = ("day", "moderator_id", "policy", "queue", "auditor_id")
QaKey = tuple[str, str, str, str, str]

_DAY_COLUMNS = f"pilot_id, batch, {', '.join(KEY)}, {', '.join(SUMS)}"
_INSERT = f"INSERT INTO qa_day ({_DAY_COLUMNS})"
_COPY = f"COPY qa_day ({_DAY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_DAY_TYPES = (
    "int4",
    "int4",
    "date",
    "text",
    "text",
    "text",
    "text",
    "int4",
    "int4",
    "int4",
    "int4",
    "int4",
    "float8",
    "float8",
)
_GRADE_COLUMNS = "item_id, auditor_id, moderator_id, day, correct, critical"
_GRADE_INSERT = f"INSERT INTO qa_grade (pilot_id, {_GRADE_COLUMNS})"
_GRADE_CONFLICT = " ON CONFLICT (pilot_id, item_id, auditor_id) DO NOTHING"
_GRADE_STAGE = (
    "CREATE TEMPORARY TABLE qa_grade_stage (item_id text, auditor_id text, moderator_id text, day date, "
    "correct boolean, critical boolean) ON COMMIT DROP"
)
_GRADE_TYPES = ("text", "text", "text", "date", "bool", "bool")
_BOOLEAN = {1: True, 0: False, None: None}


def aggregate(rows: Sequence[tuple[Any, ...]]) -> tuple[list[QaKey], list[list[Any]]]:
    """The distinct (day, moderator, policy, queue, auditor) keys of outcome tuples (`pilots.ingestion.fields`
    order, booleans as 0/1) in first-seen order ('' for an absent policy, queue or auditor) and their sums,
    `sums[column][key]` in `SUMS` order (counts as ints, handle-time sums as floats; `KEY` order for the keys).

    Column-wise: each row's key is numbered by the row where it first appears (`dict.setdefault` over a counter,
    one pass at C level), each sum is one `bincount` over those numbers, and the first rows pick the keys' totals.
    `bincount` adds a key's values one by one in row order from 0.0, so the float sums are exactly those of a plain
    loop over the rows (an absent handle time adds 0.0, which changes no sum)."""
    if not rows:
        return [], [[] for _ in SUMS]
    _, moderators, _, days, correct, critical, handle, policy, queue, auditor, _ = zip(*rows, strict=True)
    # Ingestion stores an absent text as None, never '': blanking before keying gives the same keys.
    blank = [column if None not in column else [v or "" for v in column] for column in (policy, queue, auditor)]
    keys = list(zip(days, moderators, *blank, strict=True))
    first: dict[QaKey, int] = {}
    code = np.fromiter(map(first.setdefault, keys, itertools.count()), dtype=np.intp, count=len(keys))
    at = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    graded = np.array(critical, dtype=float)  # None -> nan
    seconds = np.array(handle, dtype=float)
    has_grade, has_time = ~np.isnan(graded), ~np.isnan(seconds)
    seconds = np.where(has_time, seconds, 0.0)

    def total(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(code, weights=weights, minlength=len(keys))[at]

    counts = [
        total(),
        total(np.array(correct, dtype=float)),
        total(has_grade.astype(float)),
        total(np.where(has_grade, graded, 0.0)),
        total(has_time.astype(float)),
    ]
    sums = [*(c.astype(np.int64).tolist() for c in counts), total(seconds).tolist(), total(seconds * seconds).tolist()]
    return list(first), sums


def grades(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`(item_id, auditor_id, moderator_id, day, correct, critical)` of the audits naming an item and an auditor."""
    return [(r[10], r[9], r[1], r[3], r[4], r[5]) for r in rows if r[10] is not None and r[9] is not None]


def add(connection: Connection, pilot_id: int, rows: Sequence[tuple[Any, ...]], *, batch: int) -> None:
    """Add the QA rollups of newly inserted outcome rows inside the caller's transaction (module docstring); the
    `qa_day` rows carry `batch`, the data version the batch creates.

    SQLite inserts many rows a statement (`pilots.db.sqlite_insert_rows`); PostgreSQL `COPY`s the day sums straight
    into `qa_day` and the grades into a temporary table, inserted from it in one statement."""
    keys, sums = aggregate(rows)
    if not keys:
        return
    graded = grades(rows)
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "sqlite":
            # The pilot and batch are the same for every row: written into the statement, as ints. The rows go
            # to the statements as one flat list, built at C level (key tuple + sums tuple, chained).
            row = f"({pilot_id:d}, {batch:d}, {', '.join('?' * (len(KEY) + len(SUMS)))})"
            flat = list(itertools.chain.from_iterable(map(tuple.__add__, keys, zip(*sums, strict=True))))
            sqlite_insert_flat(cursor, _INSERT, row, flat)
            if graded:
                sqlite_insert_rows(cursor, _GRADE_INSERT, f"({pilot_id:d}, ?, ?, ?, ?, ?, ?)", graded, _GRADE_CONFLICT)
            return
        key_columns = list(zip(*keys, strict=True))
        columns = [[pilot_id] * len(keys), [batch] * len(keys), *key_columns, *sums]
        dates = {day: _date(day) for day in set(key_columns[0])}
        columns[2] = list(map(dates.__getitem__, key_columns[0]))
        with cursor.copy(_COPY) as copy:
            copy.set_types(_DAY_TYPES)
            write = copy.write_row
            for row in zip(*columns, strict=True):
                write(row)
        if graded:
            rows_ = ((i, a, m, _date(d), _BOOLEAN[c], _BOOLEAN[k]) for i, a, m, d, c, k in graded)
            _stage(cursor, _GRADE_STAGE, "qa_grade_stage", _GRADE_TYPES, rows_)
            cursor.execute(f"{_GRADE_INSERT} SELECT %s, * FROM qa_grade_stage{_GRADE_CONFLICT}", (pilot_id,))
            cursor.execute("DROP TABLE qa_grade_stage")
    finally:
        cursor.close()


def _date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)


def _stage(cursor, create: str, table: str, types: tuple[str, ...], rows) -> None:
    """PostgreSQL: a temporary table filled by binary `COPY`."""
    cursor.execute(create)
    with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)


def stored(session: Session, pilot_id: int) -> dict[QaKey, list[float]]:
    """The pilot's `qa_day` sums as maintained (the rows of a key summed), keyed (day as ISO text, moderator, policy,
    queue, auditor)."""
    keys = [qa_day.c[name] for name in KEY]
    query = (
        select(*keys, *(func.sum(qa_day.c[name]) for name in SUMS)).where(qa_day.c.pilot_id == pilot_id).group_by(*keys)
    )
    return {(str(r[0])[:10], *r[1:5]): [float(v) for v in r[5:]] for r in session.execute(query)}


def from_outcomes(session: Session, pilot_id: int) -> dict[QaKey, list[float]]:
    """The pilot's `qa_day` recomputed from the raw outcomes (a full scan: for checks, not for results)."""
    blank = [func.coalesce(getattr(Outcome, name), "") for name in ("policy", "queue", "auditor_id")]
    handle = Outcome.handle_time_s
    query = (
        select(
            Outcome.day,
            Outcome.moderator_id,
            *blank,
            func.count(),
            func.sum(case((Outcome.correct, 1), else_=0)),
            func.count(Outcome.critical),
            func.sum(case((Outcome.critical, 1), else_=0)),
            func.count(handle),
            func.coalesce(func.sum(handle), 0.0),
            func.coalesce(func.sum(handle * handle), 0.0),
        )
        .where(Outcome.pilot_id == pilot_id)
        .group_by(Outcome.day, Outcome.moderator_id, *blank)
    )
    return {(str(r[0])[:10], *r[1:5]): [float(v) for v in r[5:]] for r in session.execute(query)}
