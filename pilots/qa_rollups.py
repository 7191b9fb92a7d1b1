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

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, select
from sqlmodel import Session

from pilots.db import sqlite_insert_rows
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


def aggregate(rows: Sequence[tuple[Any, ...]]) -> tuple[list[QaKey], np.ndarray]:
    """The distinct (day, moderator, policy, queue, auditor) keys of outcome tuples (`pilots.ingestion.fields`
    order, booleans as 0/1) in first-seen order ('' for an absent policy, queue or auditor) and their sums,
    `sums[column, key]` in `SUMS` order (`KEY` order for the keys)."""
    if not rows:
        return [], np.zeros((len(SUMS), 0))
    _, moderators, _, days, correct, critical, handle, policy, queue, auditor, _ = zip(*rows, strict=True)
    keys = list(zip(days, moderators, policy, queue, auditor, strict=True))
    numbered = dict.fromkeys(keys)
    for k, key in enumerate(numbered):
        numbered[key] = k
    code = np.fromiter(map(numbered.__getitem__, keys), dtype=np.int64, count=len(keys))
    size = len(numbered)
    graded = np.array(critical, dtype=float)  # None -> nan
    seconds = np.array(handle, dtype=float)
    has_grade, has_time = ~np.isnan(graded), ~np.isnan(seconds)
    seconds = np.where(has_time, seconds, 0.0)
    columns = (
        None,
        np.array(correct, dtype=float),
        has_grade.astype(float),
        np.where(has_grade, graded, 0.0),
        has_time.astype(float),
        seconds,
        seconds * seconds,
    )
    sums = np.empty((len(SUMS), size))
    sums[0] = np.bincount(code, minlength=size)
    for k, column in enumerate(columns[1:], start=1):
        sums[k] = np.bincount(code, weights=column, minlength=size)
    blank = [(d, m, p or "", q or "", a or "") for d, m, p, q, a in numbered]
    return blank, sums


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
    # Column lists zipped into rows at C level (a comprehension building each row costs several ms per batch).
    key_columns = list(zip(*keys, strict=True))
    sums_columns = [*sums[:5].astype(np.int64).tolist(), *sums[5:].tolist()]
    graded = grades(rows)
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "sqlite":
            # The pilot and batch are the same for every row: written into the statement, as ints.
            row = f"({pilot_id:d}, {batch:d}, {', '.join('?' * (len(KEY) + len(SUMS)))})"
            sqlite_insert_rows(cursor, _INSERT, row, list(zip(*key_columns, *sums_columns, strict=True)))
            if graded:
                sqlite_insert_rows(cursor, _GRADE_INSERT, f"({pilot_id:d}, ?, ?, ?, ?, ?, ?)", graded, _GRADE_CONFLICT)
            return
        columns = [[pilot_id] * len(keys), [batch] * len(keys), *key_columns, *sums_columns]
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
