"""The pilot period's rollups read as one row per moderator (`unit_series`), and the fold that keeps them current.

A results request needs every `unit_day` row of the pilot period: 1,575,000 rows at 50,000 moderators and 8 weeks,
where the driver's fetch alone took 1.6 s of 4.5 s. `unit_series` keeps each moderator's rows of the pilot period
(start date through end date) packed into one value: `RECORD`s in day order (`pilots.results.series_records`), each
the day offset and the row's seven sums exactly as `unit_day` holds them. `unit_fold` says up to which batch they
reach (`batch`) and for which period.

The read (`read`) is the stored series plus the rows changed since: every accepted batch writes `qa_day` rows (with
its batch number, `pilots.qa_rollups.add`) for each moderator-day whose `unit_day` row it adds to, so the rows changed
after the fold are the `unit_day` rows of the (moderator, day) keys of `qa_day.batch > unit_fold.batch`, found
through the (pilot, batch) index, and read as they are now. A changed row replaces the stored one of its key, so the
rows read equal the rows of `unit_day` whatever the stored series hold of batches after `unit_fold.batch`: a fold
written from values newer than its batch, or a batch landing between two statements of a PostgreSQL read, only makes
a replaced row already current. The loader places these rows as it places the rows of the direct read, so the panel,
and the document, are the same bit for bit (`pilots.results.loader`). `as_of` reads the same rows and keeps the days
through its cut.

Folds are written after the document, in their own short write transaction, best effort like the results cache and
the QA sums (`pilots.results.qa_levels`). The first latest-results read of a pilot with `BUILD_ROWS` rows or more
builds the series from the rows it read directly (`Build`); a read that meets `FOLD_ROWS` changed rows or more
rewrites the series of those moderators. Either moves `unit_fold` from the state it read with a compare-and-set
upsert, so of two requests folding the same rows the second changes nothing, and a fold read before another never
overwrites it. The stored series are absolute values, not sums to add: a fold written twice would still be right.

The pre-period sums per moderator (the loader's `GROUP BY`, 0.3 s at 50,000 moderators on SQLite) are kept the
same way, as that query returned them (`read_pre`): its rows, in its order, are stored with the batch read before it
(`pre_batch`), and answer while no later batch has pre-period rows (found through the same index); otherwise the
loader runs the query and the request stores its rows (`PreFold`, kept only if no fresher rows were stored).

Invariant: `unit_day` changes only through ingestion, which writes the `qa_day` rows of the same moderator-days in
the same transaction (fixtures that write rollups directly stay below `BUILD_ROWS`, or write no more after a fold).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

import numpy as np
from sqlmodel import Session

from pilots.db import as_date, select_rows, write_each_best_effort
from pilots.results.series_records import Build, Rows, as_records, decode, encodable, encode
from pilots.rollups import SUMS

log = logging.getLogger(__name__)

BUILD_ROWS = 50_000  # pilot-period rows of a direct latest read that make it build the series
FOLD_ROWS = 20_000  # rows changed since the fold that make a read rewrite their moderators' series
PENDING = "pilotlab_unit_series_fold"  # `session.info` key of the fold a read left for the service to write

_NOTHING = -2  # the `since` batch of a pilot without a `unit_fold` row: no stored batch equals it
_NO_BATCH = -1  # the batch of a fold when the pilot has no `qa_day` row (batches are 0 and up)

_STATE = "SELECT batch, start_date, end_date FROM unit_fold WHERE pilot_id = {m}"
_LATEST = "SELECT max(batch) FROM qa_day WHERE pilot_id = {m}"
_SERIES = "SELECT moderator_id, series FROM unit_series WHERE pilot_id = {m}"
_TAIL = (
    f"SELECT u.moderator_id, u.day, c.batch, {', '.join(f'u.{name}' for name in SUMS)} FROM "
    "(SELECT moderator_id, day, max(batch) AS batch FROM qa_day WHERE pilot_id = {m} AND batch > {m} "
    "AND day >= {m} AND day <= {m} GROUP BY moderator_id, day) AS c "
    "JOIN unit_day AS u ON u.pilot_id = {m} AND u.day = c.day AND u.moderator_id = c.moderator_id"
)
_PRE_STATE = "SELECT pre_batch, pre_start, start_date FROM unit_fold WHERE pilot_id = {m}"
_PRE_CHANGED = "SELECT 1 FROM qa_day WHERE pilot_id = {m} AND batch > {m} AND day >= {m} AND day < {m} LIMIT 1"
_PRE_ROWS = "SELECT pre_moderators, pre_sums FROM unit_fold WHERE pilot_id = {m}"
_PRE_STORE = (
    "UPDATE unit_fold SET pre_batch = {m}, pre_start = {m}, pre_moderators = {m}, pre_sums = {m} "
    "WHERE pilot_id = {m} AND start_date = {m} "
    "AND (pre_batch IS NULL OR pre_start IS NULL OR pre_start <> {m} OR pre_batch < {m})"
)
_CLAIM = (
    "INSERT INTO unit_fold (pilot_id, batch, start_date, end_date) VALUES ({m}, {m}, {m}, {m}) "
    "ON CONFLICT (pilot_id) DO UPDATE SET batch = excluded.batch, start_date = excluded.start_date, "
    "end_date = excluded.end_date, "
    "pre_batch = CASE WHEN unit_fold.start_date = excluded.start_date THEN unit_fold.pre_batch END "
    "WHERE unit_fold.batch = {m} AND unit_fold.start_date = {m} AND unit_fold.end_date = {m}"
)
_UPSERT = (
    "INSERT INTO unit_series (pilot_id, moderator_id, series) {source} "
    "ON CONFLICT (pilot_id, moderator_id) DO UPDATE SET series = excluded.series"
)
_STAGE = "CREATE TEMPORARY TABLE unit_series_stage (moderator_id text, series bytea) ON COMMIT DROP"


@dataclass(frozen=True)
class FoldState:
    """How far a pilot's `unit_series` reach: the batch, and the pilot period they hold."""

    batch: int
    start: date
    end: date


@dataclass(frozen=True, eq=False)
class Fold:
    """Series to write for `pilot_id` (`rows`: every row of the moderators it names) that move `unit_fold` from
    `since` (None: no row) to `state`; `rebuild` replaces all of the pilot's series."""

    pilot_id: int
    since: FoldState | None
    state: FoldState
    rows: Rows | Build  # a build's rows are joined when written, after the request's panel is gone
    rebuild: bool = False


@dataclass(frozen=True, eq=False)
class PreFold:
    """Pre-period rows (`moderators`, `sums[column, row]`) of the loader's query from `pre_start` to before `start`,
    read after batch `batch`, to store for `pilot_id`."""

    pilot_id: int
    pre_start: date
    start: date
    batch: int
    moderators: list[str]
    sums: np.ndarray


def read_state(session: Session, pilot_id: int) -> FoldState | None:
    rows = select_rows(session, _STATE, (pilot_id,))
    if not rows:
        return None
    batch, start, end = rows[0]
    return FoldState(batch, as_date(start), as_date(end))


def latest_batch(session: Session, pilot_id: int) -> int:
    """The pilot's last batch with `qa_day` rows (`_NO_BATCH` when none): read before a direct read that builds."""
    value = select_rows(session, _LATEST, (pilot_id,))[0][0]
    return _NO_BATCH if value is None else int(value)


def usable(state: FoldState | None, start: date, end: date) -> bool:
    return state is not None and (state.start, state.end) == (start, end)


def read(session: Session, pilot_id: int, state: FoldState) -> Rows:
    """Every `unit_day` row of the pilot period `state` was folded for, from the series and the rows changed since
    (module docstring). May add a `Fold` to `session.info[PENDING]`."""
    # In moderator order (SQLite's key order; PostgreSQL returns heap order): one-moderator units are sorted the same
    # way, so placing the rows writes the panel front to back (0.24 s -> 0.06 s at 50,000 moderators on PostgreSQL).
    stored = decode(sorted(select_rows(session, _SERIES, (pilot_id,), binary=True), key=itemgetter(0)))
    tail = select_rows(session, _TAIL, (pilot_id, state.batch, state.start, state.end, pilot_id))
    if not tail:
        return stored
    rows = _merge(stored, tail, state.start)
    if len(tail) >= FOLD_ROWS:
        changed = np.unique(rows.moderator[rows.moderator.size - len(tail) :])
        after = FoldState(max(row[2] for row in tail), state.start, state.end)
        session.info.setdefault(PENDING, []).append(Fold(pilot_id, state, after, _select(rows, changed)))
    return rows


def read_pre(session: Session, pilot_id: int, pre_start: date, start: date) -> tuple[list[str], np.ndarray] | None:
    """The stored pre-period rows (moderators, `sums[column, row]`) when they were read from `pre_start` and no batch
    since has rows dated from `pre_start` to before `start`; else None."""
    state = select_rows(session, _PRE_STATE, (pilot_id,))
    if not state or state[0][0] is None or state[0][1] is None:
        return None
    if (as_date(state[0][1]), as_date(state[0][2])) != (pre_start, start):
        return None
    if select_rows(session, _PRE_CHANGED, (pilot_id, state[0][0], pre_start, start)):
        return None
    moderators, sums = select_rows(session, _PRE_ROWS, (pilot_id,))[0]
    moderators = json.loads(moderators)
    return moderators, np.frombuffer(bytes(sums), dtype="<f8").reshape(len(SUMS), len(moderators))


def store_pre(session: Session, fold: PreFold) -> bool:
    """Store pre-period rows inside the caller's transaction; False when the pilot has no series for the period
    starting where the rows end, or rows read after a later batch are stored already."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    pre_start, start = (day.isoformat() if sqlite else day for day in (fold.pre_start, fold.start))
    sums = np.ascontiguousarray(fold.sums, dtype="<f8").tobytes()
    stored = connection.exec_driver_sql(
        _PRE_STORE.format(m="?" if sqlite else "%s"),
        (fold.batch, pre_start, json.dumps(fold.moderators), sums, fold.pilot_id, start, pre_start, fold.batch),
    )
    return stored.rowcount == 1


def _merge(stored: Rows, tail: list[tuple], start: date) -> Rows:
    """The stored rows with the changed rows of `tail` in place of theirs (the tail's rows last)."""
    code = {m: k for k, m in enumerate(stored.moderators)}
    moderators = list(stored.moderators)
    for row in tail:
        if row[0] not in code:
            code[row[0]] = len(moderators)
            moderators.append(row[0])
    n = len(tail)
    tail_code = np.fromiter((code[row[0]] for row in tail), dtype=np.int64, count=n)
    days = {value: (as_date(value) - start).days for value in {row[1] for row in tail}}
    tail_day = np.fromiter((days[row[1]] for row in tail), dtype=np.int64, count=n)
    changed = Rows(moderators, tail_code, tail_day, np.array([row[3:] for row in tail], dtype=float).reshape(n, -1).T)
    span = int(max(stored.day.max(initial=0), tail_day.max(initial=0))) + 1
    kept = stored.select(~np.isin(stored.moderator.astype(np.int64) * span + stored.day, tail_code * span + tail_day))
    moderator = np.concatenate([kept.moderator, tail_code])
    day = np.concatenate([kept.day, tail_day])
    if kept.records is not None and encodable(changed):
        return Rows(moderators, moderator, day, records=np.concatenate([kept.records, as_records(changed)]))
    return Rows(moderators, moderator, day, np.concatenate([kept.data, changed.data], axis=1))


def _select(rows: Rows, codes: np.ndarray) -> Rows:
    """The rows of the moderators `codes`."""
    return rows.select(np.isin(rows.moderator, codes))


def store(session: Session, fold: Fold) -> bool:
    """Write a fold inside the caller's transaction; False (nothing written) when another request folded first."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"

    def day(value: date) -> date | str:
        return value.isoformat() if sqlite else value

    rows = fold.rows.rows() if isinstance(fold.rows, Build) else fold.rows
    if rows is None:  # a build's rows could not be read back: nothing is claimed, a later read builds
        return False
    since = fold.since or FoldState(_NOTHING, fold.state.start, fold.state.end)
    state = fold.state
    claimed = connection.exec_driver_sql(
        _CLAIM.format(m=mark),
        (fold.pilot_id, state.batch, day(state.start), day(state.end), since.batch, day(since.start), day(since.end)),
    )
    if claimed.rowcount != 1:
        return False
    if fold.rebuild:
        connection.exec_driver_sql(f"DELETE FROM unit_series WHERE pilot_id = {mark}", (fold.pilot_id,))
    cursor = connection.connection.cursor()
    try:
        if not sqlite:
            cursor.execute(_STAGE)
        for part in encode(rows):
            if sqlite:
                cursor.executemany(_UPSERT.format(source="VALUES (?, ?, ?)"), [(fold.pilot_id, *s) for s in part])
                continue
            with cursor.copy("COPY unit_series_stage FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(("text", "bytea"))
                for row in part:
                    copy.write_row(row)
        if not sqlite:
            cursor.execute(_UPSERT.format(source="SELECT %s, * FROM unit_series_stage"), (fold.pilot_id,))
            cursor.execute("DROP TABLE unit_series_stage")
    finally:
        cursor.close()
    return True


def write_pending(session: Session) -> None:
    """Write the folds reads left in `session.info`, each in its own write transaction. Failing to (a busy
    database) never fails the request: a later read folds instead."""
    # The series first: a rebuild drops the old rows.
    folds = sorted(session.info.pop(PENDING, []), key=lambda fold: isinstance(fold, PreFold))

    def write(session: Session, fold) -> None:
        (store_pre if isinstance(fold, PreFold) else store)(session, fold)

    write_each_best_effort(session, folds, write, lambda fold: f"the rollup series of pilot {fold.pilot_id}")
