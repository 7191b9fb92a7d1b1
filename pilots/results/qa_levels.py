"""The latest results' QA read from the per-dimension sums (`qa_level`), and the fold that keeps them current.

`qa_day` holds about one row per audit when moderators have one or two audits a day per (policy, queue, auditor):
grouping it into (moderator, policy, queue, auditor) cells on every results request cost 4.5 s at 5,000 moderators
and 2.1 million audits. The QA analyses need one dimension at a time, so `qa_level` keeps, per pilot, the sums of
every `qa_day` row up to a batch (`qa_fold.batch`) per (dimension, level, moderator, period), with the results'
periods applied: pre-period before the start date, pilot period from the moderator's `data_from` (the days between
are set aside, as in the panel; assignments and their `data_from` never change once audits can arrive).

The sums are kept through a day (`through`): the end date for the latest results, and a look's day for the replay of
an earlier decision (`pilots.results.decisions`), which every request makes once a pilot has reached one. The read
(`load_folded`) is those rows plus the batches not folded yet (`qa_day.batch > qa_fold.batch`, found through the
(pilot, batch) index, dated through `through`, grouped and cut as the direct read does). It answers only when every
row it sums is dated on or before the analysis cut (the last day with audits, so always unless a batch lands
mid-request or a late joiner's set-aside audits come last); otherwise, and for an `as_of` someone asks for, the
results read `qa_day` directly by day (`pilots.results.qa_data.load_cells`). Both give the same `QaCells` (its rows
are canonical: counts summed exactly), so the same document.

When the unfolded tail holds `FOLD_CELLS` cells or more, the read leaves a `Fold` in `session.info`, and the results
service writes the request's folds after the document is built (`write_pending`), each in its own short write
transaction, best effort like the results cache. A fold moves a `qa_fold.batch` from the batch it was read at to the
tail's last one with a compare-and-set upsert (`... ON CONFLICT DO UPDATE ... WHERE qa_fold.batch = <read>`) before
it adds its sums, so of two requests folding the same tail (gunicorn threads or workers) the second changes nothing:
on PostgreSQL it waits on the first's row lock and then finds the batch moved, on SQLite the write lock serializes
them. Batches of a pilot are serialized by ingestion's pilot lock and carry increasing data versions, so every batch
up to the one a reader sees is committed: a fold never skips a batch that commits later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlmodel import Session

from pilots.db import as_date, fetch_rows, select_rows, write_each_best_effort
from pilots.results.qa_data import DIMENSIONS, QaCells
from pilots.results.units import Units
from pilots.rollups import SUMS

FOLD_CELLS = 20_000  # unfolded (moderator, policy, queue, auditor, period) cells that make a read fold them
PENDING = "pilotlab_qa_fold"  # `session.info` key of the fold a read left for the service to write

_SUM_COLUMNS = ", ".join(SUMS)
_STATE = "SELECT batch, folded_rows, last_day FROM qa_fold WHERE pilot_id = {m} AND through = {m}"
_LEVELS = (
    f"SELECT level, moderator_id, period, {_SUM_COLUMNS} FROM qa_level WHERE pilot_id = {{m}} AND through = {{m}} "
    "AND dimension = {m}"
)
# The unfolded batches as cells, with the pilot period's days before the latest late start kept apart (`early`) so
# each moderator's data cut can be applied in Python, as `pilots.results.qa_data` does.
_TAIL = (
    "SELECT moderator_id, policy, queue, auditor_id, CASE WHEN day < {m} THEN 1 ELSE 0 END AS pre, "
    "CASE WHEN day >= {m} AND day < {m} THEN day END AS early, max(day), max(batch), count(*), "
    f"{', '.join(f'sum({name})' for name in SUMS)} FROM qa_day "
    "WHERE pilot_id = {m} AND batch > {m} AND day <= {m} GROUP BY moderator_id, policy, queue, auditor_id, pre, early"
)
_CLAIM = (
    "INSERT INTO qa_fold (pilot_id, through, batch, folded_rows, last_day) VALUES ({m}, {m}, {m}, {m}, {m}) "
    "ON CONFLICT (pilot_id, through) DO UPDATE SET batch = excluded.batch, folded_rows = excluded.folded_rows, "
    "last_day = excluded.last_day WHERE qa_fold.batch = {m}"
)
_LEVEL_KEY = "pilot_id, through, dimension, level, moderator_id, period"
_UPSERT = (
    f"INSERT INTO qa_level ({_LEVEL_KEY}, {_SUM_COLUMNS}) {{source}} ON CONFLICT ({_LEVEL_KEY}) DO UPDATE SET "
    + ", ".join(f"{name} = qa_level.{name} + excluded.{name}" for name in SUMS)
)
_STAGE = (
    "CREATE TEMPORARY TABLE qa_level_stage (dimension int2, level text, moderator_id text, period int2, "
    "audits int4, correct int4, critical_audits int4, critical int4, handle_audits int4, handle_sum float8, "
    "handle_sum2 float8) ON COMMIT DROP"
)
_STAGE_TYPES = ("int2", "text", "text", "int2", "int4", "int4", "int4", "int4", "int4", "float8", "float8")
_NOTHING = -1  # `qa_fold.batch` of a pilot nothing was folded for (batches are 0 and up)


@dataclass(frozen=True)
class FoldState:
    """How far a pilot's `qa_level` rows reach (`batch` -1: nothing folded)."""

    batch: int
    rows: int
    last_day: date | None


@dataclass(frozen=True)
class Fold:
    """Sums to add to `qa_level` (`(dimension, level, moderator, period, *SUMS)` rows) that move the pilot's
    `qa_fold` through `through` from batch `since` to `state`."""

    pilot_id: int
    through: date
    since: int
    state: FoldState
    levels: list[tuple]


def read_state(session: Session, pilot_id: int, through: date) -> FoldState:
    rows = fetch_rows(session, _STATE, pilot_id, through)
    if not rows:
        return FoldState(_NOTHING, 0, None)
    batch, folded, last_day = rows[0]
    return FoldState(batch, folded, None if last_day is None else as_date(last_day))


def load_folded(session: Session, pilot_id: int, units: Units, start: date, cut: date, through: date) -> QaCells | None:
    """The pilot's `QaCells` through `cut` from the sums folded through `through` (`cut` or later) and the unfolded
    batches; None when a row they sum is dated after `cut` (the caller reads `qa_day` directly). May add a `Fold`
    to `session.info[PENDING]`."""
    late = {m: day for m, day in units.data_from.items() if day > start}
    boundary = max(late.values(), default=start)
    for _ in range(3):  # PostgreSQL reads each statement at its own snapshot: retry if a fold landed in between
        state = read_state(session, pilot_id, through)
        folded = [select_rows(session, _LEVELS, (pilot_id, through, k)) for k in range(len(DIMENSIONS))]
        tail = select_rows(session, _TAIL, (start, start, boundary, pilot_id, state.batch, through))
        if read_state(session, pilot_id, through) == state:
            break
    else:
        return None
    last_days = [day for day in (state.last_day, *(as_date(row[6]) for row in tail)) if day is not None]
    if last_days and max(last_days) > cut:
        return None
    index = units.index_of_moderator
    kept = [
        row
        for row in tail
        if row[0] in index and (row[5] is None or as_date(row[5]) >= late.get(row[0], start))  # else set aside
    ]
    tail_levels = _tail_levels(kept)
    if len(tail) >= FOLD_CELLS:
        batch = max(row[7] for row in tail)
        after = FoldState(batch, state.rows + sum(row[8] for row in tail), max(last_days))
        levels = [(k, *row) for k, rows in enumerate(tail_levels) for row in rows]
        session.info.setdefault(PENDING, []).append(Fold(pilot_id, through, state.batch, after, levels))
    parts = {name: _columns(folded[k] + tail_levels[k]) for k, name in enumerate(DIMENSIONS)}
    return QaCells.from_levels(units, parts)


def _columns(rows: list[tuple]) -> tuple[list[str], list[str], list[bool], np.ndarray]:
    """`(moderators, levels, pre, sums)` of `(level, moderator, period, *SUMS)` rows."""
    sums = np.array([row[3:] for row in rows], dtype=float).reshape(len(rows), len(SUMS)).T
    return [row[1] for row in rows], [row[0] for row in rows], [row[2] == 1 for row in rows], sums


def _tail_levels(tail: list[tuple]) -> list[list[tuple]]:
    """The kept tail cells summed per dimension into `(level, moderator, period, *SUMS)` rows, as `qa_level` keeps
    them (numbered with dicts, summed with `bincount`)."""
    n = len(tail)
    moderator_code: dict[str, int] = {}
    moderator = np.fromiter(
        (moderator_code.setdefault(row[0], len(moderator_code)) for row in tail), dtype=np.int64, count=n
    )
    moderators = list(moderator_code)
    pre = np.fromiter((row[4] for row in tail), dtype=np.int64, count=n)
    sums = np.array([row[9:] for row in tail], dtype=float).reshape(n, len(SUMS)).T
    out = []
    for k in range(len(DIMENSIONS)):
        level_code: dict[str, int] = {}
        level = np.fromiter(
            (level_code.setdefault(row[1 + k] or "", len(level_code)) for row in tail), dtype=np.int64, count=n
        )
        names = list(level_code)
        keys, inverse = np.unique((level * len(moderators) + moderator) * 2 + pre, return_inverse=True)
        inverse = inverse.reshape(-1)
        summed = [np.bincount(inverse, weights=column, minlength=keys.size) for column in sums]
        rest, period = np.divmod(keys, 2)
        level_of, moderator_of = np.divmod(rest, max(1, len(moderators)))
        out.append(
            list(
                zip(
                    map(names.__getitem__, level_of.tolist()),
                    map(moderators.__getitem__, moderator_of.tolist()),
                    period.tolist(),
                    *(column.astype(np.int64).tolist() for column in summed[:5]),
                    *(column.tolist() for column in summed[5:]),
                    strict=True,
                )
            )
        )
    return out


def store(session: Session, fold: Fold) -> bool:
    """Write a fold inside the caller's transaction; False (nothing written) when another request folded first."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    state = fold.state
    through, last_day = (
        (_text(day) for day in (fold.through, state.last_day)) if sqlite else (fold.through, state.last_day)
    )
    claimed = connection.exec_driver_sql(
        _CLAIM.format(m=mark), (fold.pilot_id, through, state.batch, state.rows, last_day, fold.since)
    )
    if claimed.rowcount != 1:
        return False
    if sqlite:
        statement = _UPSERT.format(source=f"VALUES ({', '.join('?' * (6 + len(SUMS)))})")
        connection.exec_driver_sql(statement, [(fold.pilot_id, through, *row) for row in fold.levels])
        return True
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_STAGE)
        with cursor.copy("COPY qa_level_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_STAGE_TYPES)
            for row in fold.levels:
                copy.write_row(row)
        cursor.execute(_UPSERT.format(source="SELECT %s, %s, * FROM qa_level_stage"), (fold.pilot_id, through))
        cursor.execute("DROP TABLE qa_level_stage")
    finally:
        cursor.close()
    return True


def write_pending(session: Session) -> None:
    """Write the folds reads left in `session.info`, each in its own write transaction. Failing to (a busy
    database) never fails the request: the next read folds instead."""
    folds = session.info.pop(PENDING, [])
    write_each_best_effort(session, folds, store, lambda fold: f"the QA sums of pilot {fold.pilot_id}")


def _text(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
