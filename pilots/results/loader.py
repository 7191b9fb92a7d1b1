"""Load a pilot's per-unit daily rollups into dense numpy arrays (units x days), never touching raw audits.

Two reads, both on `unit_day` (one row per moderator and day) plus the pilot's assignments:

* the pilot period, `start_date <= day <= through`, as a units x days panel of every rollup column;
* the pre-period, `pre_period_start <= day < start_date`, summed per unit in SQL (the CUPED covariate and the variance
  model).

Nothing from before randomization is pilot data (`pilots.assignment.cutoff`): a moderator's rows of the pilot period
before their `assignment.data_from` day are set aside (counted per unit in `Panel.set_aside`, never analysed); their
audits inside the pre-period window stay covariates.

Moderators are mapped to their randomized unit in Python (the moderator itself, or the team for team-randomized
pilots), so team pilots sum their moderators' rows with no SQL grouping. The rows are read through the DBAPI cursor,
never as ORM rows: at 5,000 moderators x 56 days that is up to 280,000 rows, and the cost is the Python object the
driver builds for every value. On SQLite each row's day and five counts therefore arrive packed into one integer
(see `_packed_query`) and are unpacked with numpy. Cost grows with units x days, never with the number of audits.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import repeat
from operator import itemgetter

import numpy as np
from sqlmodel import Session

from pilots.db import as_date, fetch_chunks
from pilots.results import series_records, unit_series
from pilots.results.units import Units, fetch_rows, load_units
from pilots.rollups import SUMS

COLUMN = {name: k for k, name in enumerate(SUMS)}
CHUNK_ROWS = 100_000  # rollup rows read and placed at a time (`_fill_days`)


@dataclass(frozen=True, eq=False)
class Panel:
    """Rollups of the pilot period, `values[column, unit, day]` with day 0 = `start_date`, and pre-period sums
    `pre[column, unit]`. `days` is the number of calendar days loaded; `pre_days` the pre-period length.

    `set_aside[unit]` counts the unit's audits of the loaded pilot period dated before its moderators' assignment
    (`data_from`), left out of `values`.

    `loaded` names the pilot-period columns that were read (every column unless the loader was told which ones the
    analysis needs); the others hold NaN and asking for them is a KeyError. The pre-period always has every column.

    Team pilots also keep each member moderator's daily audit counts, `member_audits[member, day]`, with the unit of
    each member in `member_unit`: a team never stops being audited as a whole, so the attrition check counts the
    moderators within teams who did (`pilots.results.checks.recent_attrition`).

    With `counts_cumulative` (the loader's panels) the integer count columns of `values` hold each unit's running
    sums through each day instead of the day's own: the analysis reads counts almost only as running sums, a day's
    count is the exact difference of two of them (integers in float64), and a panel of 50,000 units keeps one array
    per count column instead of two (22 MB each at 56 days). The handle-time sums stay daily (differences of running
    float sums would not give the same bits); their running sums are computed when first asked for. Every method
    answers the same either way."""

    units: Units
    start_date: date
    days: int
    values: np.ndarray
    pre: np.ndarray
    pre_days: int
    loaded: frozenset[str] = frozenset(SUMS)
    set_aside: np.ndarray | None = None
    member_audits: np.ndarray | None = None
    member_unit: np.ndarray | None = None
    counts_cumulative: bool = False
    _sums: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def _index(self, name: str) -> int:
        if name not in self.loaded:
            raise KeyError(f"the pilot-period rollup column {name!r} was not loaded")
        return COLUMN[name]

    def _cumulated(self, k: int) -> bool:
        return self.counts_cumulative and k in _COUNT_INDEX

    def _running(self, k: int) -> np.ndarray:
        """Per-unit running sums of column `k` through each day."""
        if self._cumulated(k):
            return self.values[k]
        if k not in self._sums:
            self._sums[k] = np.cumsum(self.values[k], axis=1)
        return self._sums[k]

    def _daily(self, k: int) -> np.ndarray:
        """Per-unit daily sums of column `k` (for counts kept cumulative: exact differences of the running sums)."""
        if self._cumulated(k):
            return np.diff(self.values[k], axis=1, prepend=0.0)
        return self.values[k]

    def column(self, name: str) -> np.ndarray:
        """Per-unit daily sums of `name`, `[unit, day]`."""
        return self._daily(self._index(name))

    def daily(self) -> np.ndarray:
        """Every column's per-unit daily sums, `[column, unit, day]` (`values` itself unless counts are kept
        cumulative; then a new array)."""
        if not self.counts_cumulative:
            return self.values
        return np.stack([self._daily(k) for k in range(len(SUMS))])

    def pre_column(self, name: str) -> np.ndarray:
        return self.pre[COLUMN[name]]

    @property
    def has_pre_period(self) -> bool:
        return self.pre_days > 0 and bool(self.pre[COLUMN["audits"]].sum() > 0)

    def through(self, day: int) -> Panel:
        """The panel as loaded through pilot day `day` (0-based): what an analysis `as_of` that day reads."""
        days = max(0, min(self.days, day + 1))
        return Panel(
            self.units,
            self.start_date,
            days,
            self.values[:, :, :days],
            self.pre,
            self.pre_days,
            self.loaded,
            self.set_aside,
            None if self.member_audits is None else self.member_audits[:, :days],
            self.member_unit,
            self.counts_cumulative,
        )

    def last_day_with_audits(self) -> int | None:
        """Index of the last pilot day with any audit (None when there is none)."""
        audits = self.values[COLUMN["audits"]].sum(axis=0)
        per_day = np.diff(audits, prepend=0.0) if self.counts_cumulative else audits
        nonzero = np.flatnonzero(per_day > 0)
        return int(nonzero[-1]) if nonzero.size else None

    def cumulative(self, name: str, through: int) -> np.ndarray:
        """Per-unit sums of `name` over days 0..through (inclusive)."""
        return self._running(self._index(name))[:, through]

    def cumulative_at(self, name: str, days: tuple[int, ...]) -> np.ndarray:
        """Per-unit sums of `name` over days 0..d for each d in `days`, shape (units, len(days))."""
        return self._running(self._index(name))[:, list(days)]

    def window(self, name: str, first: int, last: int) -> np.ndarray:
        """Per-unit sums of `name` over days first..last (inclusive)."""
        k = self._index(name)
        if not self._cumulated(k):
            return self.values[k, :, first : last + 1].sum(axis=1)
        last = min(last, self.days - 1)
        if first > last:
            return np.zeros(self.units.size)
        running = self.values[k]
        return running[:, last] - running[:, first - 1] if first > 0 else running[:, last] + 0.0

    def weeks(self, name: str, through: int) -> list[np.ndarray]:
        """Per-unit sums of `name` over each week 7(w-1)..7w-1 of days 0..through (the last week may be partial),
        the same numbers as `window` week by week, with the complete weeks summed in one pass."""
        complete = (through + 1) // 7
        k = self._index(name)
        if self._cumulated(k):  # integer counts: each week's sum is the exact difference of two running sums
            by_week = np.diff(self.values[k][:, 6 : 7 * complete : 7], axis=1, prepend=0.0)
        else:
            column = self.column(name)
            by_week = column[:, : 7 * complete].reshape(column.shape[0], complete, 7).sum(axis=2)
        out = [by_week[:, w] for w in range(complete)]
        if 7 * complete <= through:
            out.append(self.window(name, 7 * complete, through))
        return out


# The integer rollup columns (packed on SQLite) and the others (sums of handle times and of their squares).
_COUNTS = ("audits", "correct", "critical_audits", "critical", "handle_audits")
_TOTALS = tuple(name for name in SUMS if name not in _COUNTS)
_COUNT_INDEX = frozenset(COLUMN[name] for name in _COUNTS)

_QUERY = (
    f"SELECT moderator_id, day, {', '.join(SUMS)} FROM unit_day WHERE pilot_id = {{m}} AND day >= {{m}} "
    "AND day <= {m}"
)

_PRE_QUERY = (
    f"SELECT moderator_id, {', '.join(f'SUM({name})' for name in SUMS)} FROM unit_day "
    "WHERE pilot_id = {m} AND day >= {m} AND day <= {m} GROUP BY moderator_id"
)

_COUNT_BITS = 10
_COUNT_MAX = (1 << _COUNT_BITS) - 1


@lru_cache(maxsize=8)
def _packed_query(totals: tuple[str, ...] = _TOTALS) -> str:
    """SQLite: the pilot-period rows with the day offset and the five counts packed into one integer (10 bits for
    each count, the day above them), so a row crosses into Python as four values instead of nine.

    A row that does not fit comes back NULL (a count outside 0..1,023: OR-ing non-negative counts stays below 1,024
    only when each does) or as a float (SQLite turns an integer overflow into a REAL: a day offset beyond 8,191; a
    non-integer count), and the read falls back to `_QUERY`; the panel is the same either way. `totals` are the
    other columns read, as they are."""
    packed = "CAST(julianday(day) - julianday(?2) AS INTEGER)"
    for name in _COUNTS:
        packed = f"({packed}) * {1 << _COUNT_BITS} + {name}"
    return (
        f"SELECT moderator_id, CASE WHEN ({' | '.join(_COUNTS)}) BETWEEN 0 AND {_COUNT_MAX} THEN {packed} END"
        f"{''.join(', ' + name for name in totals)} FROM unit_day WHERE pilot_id = ?1 AND day >= ?2 AND day <= ?3"
    )


def load_panel(
    session: Session,
    pilot_id: int,
    unit: str,
    start_date: date,
    through: date,
    pre_period_start: date | None,
    columns: Callable[[Panel], Collection[str]] | None = None,
    end: date | None = None,
) -> Panel:
    """The pilot's units and rollups through `through` (see module docstring).

    With `end` (the pilot's end date) the pilot period's rows come from the per-moderator series when they are
    folded for `start_date`..`end` (`pilots.results.unit_series`: one row per moderator plus the rows changed since),
    and a read through `end` without them may leave a build of them in `session.info`. The rows, so the panel, are
    the same either way.

    `columns`, when given, is asked (with the panel of the pre-period alone, `days` 0) which rollup columns the
    analysis reads from the pilot period. On SQLite the handle-time sums it does not need are left out of the query
    (the counts are always read, packed into one integer per row); PostgreSQL reads every column. Columns left out
    hold NaN in the panel and asking for them raises KeyError."""
    units = load_units(session, pilot_id, unit)
    pre_days = (start_date - pre_period_start).days if pre_period_start and pre_period_start < start_date else 0
    pre = np.zeros((len(SUMS), units.size))
    state = unit_series.read_state(session, pilot_id) if end is not None else None
    pre_fold = None
    if pre_days:
        stored = None if state is None else unit_series.read_pre(session, pilot_id, pre_period_start, start_date)
        if stored is not None:
            moderators, sums = stored
        else:
            batch = None if end is None else unit_series.latest_batch(session, pilot_id)
            rows = fetch_rows(session, _PRE_QUERY, pilot_id, pre_period_start, start_date - timedelta(days=1))
            moderators = [row[0] for row in rows]
            sums = np.array([row[1:] for row in rows], dtype=float).reshape(len(rows), len(SUMS)).T
            if batch is not None:  # kept with the series, if the pilot has them (or this read builds them)
                pre_fold = unit_series.PreFold(pilot_id, pre_period_start, start_date, batch, moderators, sums)
        if moderators:
            _add(pre, units.positions(moderators, start_date)[0], sums, units.size)
    loaded = frozenset(SUMS)
    if columns is not None:
        pre_only = Panel(units, start_date, 0, np.zeros((len(SUMS), units.size, 0)), pre, pre_days)
        loaded = frozenset(name for name in SUMS if name == "audits" or name in set(columns(pre_only)))
    days = max(0, (through - start_date).days + 1)
    values = np.zeros((len(SUMS), units.size, days))
    set_aside = np.zeros(units.size)
    members = None
    if unit == "team":
        names = sorted(units.index_of_moderator)
        members = _Members(
            {m: k for k, m in enumerate(names)},
            np.zeros((len(names), days)),
            np.array([units.index_of_moderator[m] for m in names], dtype=np.int64),
        )
    if days:
        unique = unit != "team"
        if unit_series.usable(state, start_date, end):
            _place_series(
                values,
                set_aside,
                members,
                units,
                start_date,
                unit_series.read(session, pilot_id, state),
                unique,
                loaded,
            )
        else:
            build = None
            if end is not None and through == end:
                build = series_records.Build(unit_series.latest_batch(session, pilot_id))
            _fill_days(values, set_aside, session, pilot_id, units, start_date, through, loaded, members, unique, build)
            if build is not None and build.fits and build.size >= unit_series.BUILD_ROWS:
                after = unit_series.FoldState(build.batch, start_date, end)
                fold = unit_series.Fold(pilot_id, state, after, build, rebuild=True)
                session.info.setdefault(unit_series.PENDING, []).append(fold)
            elif build is not None:
                build.close()
    if pre_fold is not None and (state is not None or session.info.get(unit_series.PENDING)):
        session.info.setdefault(unit_series.PENDING, []).append(pre_fold)
    for name in SUMS:
        if name not in loaded:
            values[COLUMN[name]] = np.nan
        elif name in _COUNTS:
            np.cumsum(values[COLUMN[name]], axis=1, out=values[COLUMN[name]])
    return Panel(
        units,
        start_date,
        days,
        values,
        pre,
        pre_days,
        loaded,
        set_aside,
        None if members is None else members.audits,
        None if members is None else members.unit,
        counts_cumulative=True,
    )


@dataclass(frozen=True, eq=False)
class _Members:
    """Team pilots: member moderators' row index, daily audits (filled by `_fill_days`) and unit."""

    index: dict[str, int]
    audits: np.ndarray
    unit: np.ndarray


def _fill_days(
    values: np.ndarray,
    set_aside: np.ndarray,
    session: Session,
    pilot_id: int,
    units: Units,
    start: date,
    through: date,
    loaded: frozenset,
    members: _Members | None = None,
    unique: bool = False,
    build: series_records.Build | None = None,
) -> None:
    """Add the pilot period's rows into `values[column, unit, day]` (several moderators of one team add up); rows
    dated before their moderator's `data_from` go to `set_aside[unit]` (audits) instead. With `members` (team
    pilots) each moderator's audits also go to `members.audits[member, day]`. `unique`: every (unit, day) has at
    most one row (one moderator per unit), so rows are placed without checking for repeats.

    Rows are read and placed a chunk at a time (`pilots.db.fetch_chunks`), in the query's order, so memory holds one
    chunk of Python rows, not millions; sums that repeat a cell add in row order, as one pass over all rows would.
    Team pilots read the rows in (day, moderator) order, as SQLite's key order gives them (`_place_series` adds
    the series' rows in that order too).

    With `build`, every row (with every column) is also collected for the per-moderator series."""
    late = {m: (d - start).days for m, d in units.data_from.items() if d > start}
    if session.connection().dialect.name == "sqlite":
        totals = _TOTALS if build is not None else tuple(name for name in _TOTALS if name in loaded)
        chunks = fetch_chunks(session, _packed_query(totals), pilot_id, start, through, size=CHUNK_ROWS)
        if all(
            _place(values, set_aside, members, late, unique, rows, _packed_columns(rows, units, totals), build)
            for rows in chunks
        ):
            return
        chunks.close()
        for target in (values, set_aside, *(() if members is None else (members.audits,))):
            target[...] = 0.0  # a row did not fit the packing: read them all again, unpacked
        if build is not None:
            build.clear()
    query = _QUERY if unique else _QUERY + _TEAM_ORDER[session.connection().dialect.name]
    for rows in fetch_chunks(session, query, pilot_id, start, through, size=CHUNK_ROWS):
        _place(values, set_aside, members, late, unique, rows, _plain_columns(rows, units, start), build)


# Team pilots add several moderators' rows into one cell, in row order: SQLite returns them in key order
# (day, moderator), PostgreSQL is told to (byte order, as SQLite's and Python's string comparison).
_TEAM_ORDER = {"sqlite": " ORDER BY day, moderator_id", "postgresql": ' ORDER BY day, moderator_id COLLATE "C"'}


def _place_series(
    values: np.ndarray,
    set_aside: np.ndarray,
    members: _Members | None,
    units: Units,
    start: date,
    rows: series_records.Rows,
    unique: bool,
    loaded: frozenset[str] = frozenset(SUMS),
) -> None:
    """Add the pilot period's rows read from the per-moderator series into the panel, as `_fill_days` adds the rows
    of the direct read: the rows through the panel's last day; for team pilots in (day, moderator) order and in
    chunks of `CHUNK_ROWS`, so that sums repeating a cell add in the same order as there. One-moderator units get
    only the `loaded` columns (the others are set to NaN afterwards)."""
    moderators = rows.moderators
    unit_of, first_of = units.positions(moderators, start)
    if unique:
        _scatter_series(values, set_aside, rows, unit_of, first_of, loaded)
        return
    through = rows.day < values.shape[2]
    code, day, data = rows.moderator[through], rows.day[through], rows.data[:, through]
    member_of = None
    if members is not None:
        index = members.index
        member_of = np.fromiter((index.get(m, -1) for m in moderators), dtype=np.int64, count=len(moderators))
    rank = np.empty(len(moderators), dtype=np.int64)
    rank[sorted(range(len(moderators)), key=moderators.__getitem__)] = np.arange(len(moderators))
    order = np.lexsort((rank[code], day))
    code, day, data = code[order], day[order], data[:, order]
    for first in range(0, day.size, CHUNK_ROWS):
        chunk = slice(first, first + CHUNK_ROWS)
        c = code[chunk]
        _place_columns(
            values,
            set_aside,
            members,
            unique,
            unit_of[c],
            day[chunk],
            data[:, chunk],
            None if first_of is None else first_of[c],
            None if member_of is None else member_of[c],
        )


def _scatter_series(
    values: np.ndarray,
    set_aside: np.ndarray,
    rows: series_records.Rows,
    unit_of: np.ndarray,
    first_of: np.ndarray | None,
    loaded: frozenset[str],
) -> None:
    """`_place_series` for pilots of one moderator per unit: each (unit, day) cell has one row, so the rows are
    written in place, a column at a time (what `_place_columns` and `_add` do for unique rows, without a float copy
    of every row's sums)."""
    n_days = values.shape[2]
    unit = unit_of[rows.moderator]
    keep = (unit >= 0) & (rows.day < n_days)
    if first_of is not None:  # rows before their moderator's first day of pilot data are set aside
        before = keep & (rows.day < first_of[rows.moderator])
        if before.any():
            np.add.at(set_aside, unit[before], rows.column(COLUMN["audits"])[before].astype(float))
            keep &= ~before
    every = bool(keep.all())
    flat = unit * n_days + rows.day
    if not every:
        flat = flat[keep]
    target = values.reshape(len(SUMS), -1)
    for k, name in enumerate(SUMS):
        if name not in loaded:
            continue
        column = rows.column(k) if every else rows.column(k)[keep]
        target[k][flat] = column if name in _COUNTS else column + 0.0  # + 0.0: as `_add` (-0.0 becomes 0.0)


def _place(
    values: np.ndarray,
    set_aside: np.ndarray,
    members: _Members | None,
    late: dict[str, int],
    unique: bool,
    rows: list[tuple],
    columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    build: series_records.Build | None = None,
) -> bool:
    """Add one chunk of rows (`columns`: their unit index, day index and sums) to the panel (see `_fill_days`);
    False, adding nothing, when the chunk could not be decoded (`columns` None)."""
    if columns is None:
        return False
    unit_index, day_index, data = columns
    if build is not None:
        build.add([row[0] for row in rows], day_index, data)
    first = None
    if late:
        first = np.fromiter(map(late.get, map(itemgetter(0), rows), repeat(0)), dtype=np.int64, count=len(rows))
    member = None
    if members is not None and rows:
        member = np.fromiter((members.index.get(row[0], -1) for row in rows), dtype=np.int64, count=len(rows))
    _place_columns(values, set_aside, members, unique, unit_index, day_index, data, first, member)
    return True


def _place_columns(
    values: np.ndarray,
    set_aside: np.ndarray,
    members: _Members | None,
    unique: bool,
    unit_index: np.ndarray,
    day_index: np.ndarray,
    data: np.ndarray,
    first: np.ndarray | None,
    member: np.ndarray | None,
) -> None:
    """Add rows (their unit index, day index and sums; with `first`, each row's moderator's first day of pilot data;
    with `member`, its moderator's row in `members`) to the panel (see `_fill_days`)."""
    if first is not None:  # some moderators' pilot data begin after the start date: set their earlier rows aside
        before = (day_index < first) & (unit_index >= 0)
        if before.any():
            np.add.at(set_aside, unit_index[before], data[COLUMN["audits"], before])
            unit_index = np.where(before, -1, unit_index)
    n_units, n_days = values.shape[1], values.shape[2]
    inside = (unit_index >= 0) & (day_index >= 0) & (day_index < n_days)
    flat = np.where(inside, unit_index * n_days + day_index, -1)
    _add(values.reshape(len(SUMS), n_units * n_days), flat, data, n_units * n_days, unique)
    if members is not None and member is not None:
        keep = inside & (member >= 0)
        np.add.at(members.audits, (member[keep], day_index[keep]), data[COLUMN["audits"], keep])


def _packed_columns(
    rows: list[tuple], units: Units, totals: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Unit index, day index and the `SUMS` columns (rows of `data`; zeros for the totals not read) of
    `_packed_query(totals)` rows; None when a row did not fit."""
    packed = np.array([row[1] for row in rows], dtype=object if not rows else None)
    if rows and (packed.dtype != np.int64 or packed.min() < 0):
        return None
    packed = packed.astype(np.int64)
    data = np.zeros((len(SUMS), len(rows)))
    for k, name in enumerate(_COUNTS):
        data[COLUMN[name]] = (packed >> (_COUNT_BITS * (len(_COUNTS) - 1 - k))) & _COUNT_MAX
    for k, name in enumerate(totals, start=2):
        data[COLUMN[name]] = np.fromiter(map(itemgetter(k), rows), dtype=float, count=len(rows))
    return _unit_index(units, rows), packed >> (_COUNT_BITS * len(_COUNTS)), data


def _plain_columns(rows: list[tuple], units: Units, origin: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit index, day index and the `SUMS` columns (rows of `data`) of `_QUERY` rows."""
    day_of = _day_index({row[1] for row in rows}, origin)
    day_index = np.fromiter(map(day_of.__getitem__, map(itemgetter(1), rows)), dtype=np.int64, count=len(rows))
    data = np.array([row[2:] for row in rows], dtype=float).reshape(len(rows), len(SUMS)).T
    return _unit_index(units, rows), day_index, data


def _unit_index(units: Units, rows: list[tuple]) -> np.ndarray:
    """The unit of each row's moderator (first column), -1 for a moderator without an assignment."""
    lookup = units.index_of_moderator
    return np.fromiter(map(lookup.get, map(itemgetter(0), rows), repeat(-1)), dtype=np.int64, count=len(rows))


def _add(target: np.ndarray, index: np.ndarray, data: np.ndarray, size: int, unique: bool = False) -> None:
    """``target[k, index[i]] += data[k, i]`` for every row i (index -1: skipped) into `target` of `size` columns,
    summing rows in their order where indexes repeat (a team's moderators).

    Where no index repeats (`unique`, or found so) and the cells are still zero it is a plain scatter; ``+ 0.0`` makes
    it bit-identical to accumulating into zeros (it only turns -0.0 into 0.0). Callers that add several chunks into
    one target pass `unique` only when no index repeats across chunks either."""
    keep = index >= 0
    if not keep.all():
        index, data = index[keep], data[:, keep]
    if not index.size:
        return
    scatter = unique or (np.bincount(index, minlength=size).max() == 1 and not target[:, index].any())
    for k in range(target.shape[0]):
        if scatter:
            target[k][index] = data[k] + 0.0
        else:
            target[k] += np.bincount(index, weights=data[k], minlength=size)


def _day_index(values, origin: date) -> dict:
    out = {}
    for value in values:
        day = as_date(value)
        out[value] = (day - origin).days
    return out
