"""What the QA analyses read: per-unit sums by policy, queue and auditor, and the double-audited items.

Both come from the QA rollups that ingestion maintains (`pilots.qa_rollups`), never from the raw audits, so they
survive the retention purge. This module is the direct read, used for `as_of` (and when the latest read cannot
answer): one `GROUP BY` (moderator, policy, queue, auditor) over `qa_day` per period, and one read of `qa_grade`
restricted in SQL to items two or more auditors graded in the window. The latest results read the same sums folded
per dimension (`pilots.results.qa_levels`). Moderators map to their randomized unit exactly as in the panel
(`Units.index_of_moderator`), so team pilots sum their members.

The data cut is the panel's (`pilots.results.loader`): a moderator's pilot-period audits count from their
assignment's `data_from` day; earlier ones are set aside, while the pre-period stays covariate data for everyone.
Like the panel it is applied in Python from `Units.data_from` (no join with the assignments in SQL). Cost: the
rows of `qa_day` in the window, about one per audit when moderators have one or two audits a day (200,000 audits
on PostgreSQL: 0.46 s against 0.50 s for the old `GROUP BY` over the outcomes), fewer as audits per moderator, day,
policy, queue and auditor grow.

`QaCells` holds, per dimension, one row per (unit, period, level) with the rollup sums in `SUMS` order; `level_sums`
turns it into units x levels matrices, which is all the cell analyses need, and the auditor rows are what the
leniency fit reads. `Ratings` holds one grade per (item, auditor) for the items graded by at least two different
auditors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import repeat

import numpy as np
from sqlmodel import Session

from pilots.db import as_date, fetch_rows, select_rows
from pilots.results.loader import COLUMN
from pilots.results.units import Units

DIMENSIONS = ("policy", "queue", "auditor")
NONE_LABEL = ""  # audits without a policy / queue / auditor: never a cell of their own

_SUMS = (
    "sum(audits), sum(correct), sum(critical_audits), sum(critical), sum(handle_audits), sum(handle_sum), "
    "sum(handle_sum2)"
)
# A period's cells: the rows of a key summed (several batches may have appended to one key, `pilots.qa_rollups`).
_CELLS = (
    f"SELECT moderator_id, policy, queue, auditor_id, {_SUMS} FROM qa_day WHERE pilot_id = {{m}} AND day >= {{m}} "
    "AND day <= {m} GROUP BY moderator_id, policy, queue, auditor_id"
)
# The pilot period when some moderators' data start after the start date: days before the latest such start stay
# apart (one row per day) so each moderator's cut can be applied in Python; later days are summed.
_CUT_CELLS = (
    f"SELECT moderator_id, policy, queue, auditor_id, {_SUMS}, CASE WHEN day < {{m}} THEN day END AS early "
    "FROM qa_day WHERE pilot_id = {m} AND day >= {m} AND day <= {m} "
    "GROUP BY moderator_id, policy, queue, auditor_id, early"
)
# Grades in the window of items graded by two or more auditors there (the cut is applied in Python).
_GRADED = "pilot_id = {m} AND day >= {m} AND day <= {m}"
_RATINGS = (
    f"SELECT item_id, auditor_id, moderator_id, correct, critical, day FROM qa_grade WHERE {_GRADED} "
    f"AND item_id IN (SELECT item_id FROM qa_grade WHERE {_GRADED} GROUP BY item_id HAVING count(*) >= 2)"
)


@dataclass(frozen=True, eq=False)
class LevelRows:
    """The sums of one dimension: one row per (unit, period, level) in that order (sorted), `pre[row]` marking the
    pre-period, `code[row]` indexing the dimension's labels, `sums[column, row]` in `SUMS` order."""

    unit: np.ndarray
    pre: np.ndarray
    code: np.ndarray
    sums: np.ndarray


@dataclass(frozen=True, eq=False)
class QaCells:
    """Per-dimension sums (see module docstring): `labels[d]` for dimension d of `DIMENSIONS` (sorted, with
    `NONE_LABEL`), `rows[d]` its `LevelRows`.

    The rows are canonical: however the sums were read (the folded rollups or `qa_day` directly) or at whatever
    granularity (moderators of a team, cells of several dimensions), the same audits give the same rows in the same
    order, with the counts summed exactly, so every analysis on them gives the same numbers bit for bit."""

    n_units: int
    labels: dict[str, tuple[str, ...]]
    rows: dict[str, LevelRows]

    @classmethod
    def from_audits(
        cls,
        n_units: int,
        unit: np.ndarray,
        pre: np.ndarray,
        correct: np.ndarray,
        codes: dict[str, np.ndarray],
        labels: dict[str, tuple[str, ...]],
    ) -> QaCells:
        """Cells of audits given as arrays (the simulator's validation path): `audits` and `correct` filled, the
        optional fields' columns zero. `labels[d]` must include `NONE_LABEL`."""
        sums = np.zeros((7, unit.size))
        sums[COLUMN["audits"]] = 1.0
        sums[COLUMN["correct"]] = correct
        rows = {name: _canonical(n_units, unit, pre, codes[name], sums, len(labels[name])) for name in DIMENSIONS}
        return cls(n_units, labels, rows)

    @classmethod
    def from_levels(
        cls, units: Units, parts: dict[str, tuple[list[str], list[str], list[bool], np.ndarray]]
    ) -> QaCells:
        """From per-dimension `(moderators, levels, pre, sums[column, row])` at any granularity: moderators map to
        their unit (others are dropped), levels to their label, and rows of one (unit, period, level) are summed."""
        index = units.index_of_moderator
        labels: dict[str, tuple[str, ...]] = {}
        rows: dict[str, LevelRows] = {}
        for name in DIMENSIONS:
            moderators, levels, pre, sums = parts[name]
            unit = np.fromiter(map(index.get, moderators, repeat(-1)), dtype=np.int64, count=len(moderators))
            keep = unit >= 0
            kept_levels = [level or NONE_LABEL for level, kept in zip(levels, keep.tolist(), strict=True) if kept]
            distinct = tuple(sorted(set(kept_levels) | {NONE_LABEL}))
            lookup = {value: k for k, value in enumerate(distinct)}
            code = np.fromiter(map(lookup.__getitem__, kept_levels), dtype=np.int64, count=len(kept_levels))
            pre_array = np.asarray(pre, dtype=bool)[keep]
            labels[name] = distinct
            rows[name] = _canonical(units.size, unit[keep], pre_array, code, sums[:, keep], len(distinct))
        return cls(units.size, labels, rows)

    def level_sums(self, dimension: str, column: str, pre: bool = False) -> np.ndarray:
        """Units x levels sums of a rollup column in the pilot period (or the pre-period)."""
        rows = self.rows[dimension]
        keep = rows.pre == pre
        levels = len(self.labels[dimension])
        flat = rows.unit[keep] * levels + rows.code[keep]
        total = np.bincount(flat, weights=rows.sums[COLUMN[column], keep], minlength=self.n_units * levels)
        return total.reshape(self.n_units, levels)


def _canonical(
    n_units: int, unit: np.ndarray, pre: np.ndarray, code: np.ndarray, sums: np.ndarray, levels: int
) -> LevelRows:
    """One row per (unit, period, level) present, sorted, each the sum of the given rows of it."""
    flat = (unit * 2 + pre.astype(np.int64)) * levels + code
    keys, inverse = np.unique(flat, return_inverse=True)
    inverse = inverse.reshape(-1)
    summed = np.empty((sums.shape[0], keys.size))
    for k in range(sums.shape[0]):
        summed[k] = np.bincount(inverse, weights=sums[k], minlength=keys.size)
    group, level = np.divmod(keys, levels)
    unit_of, period = np.divmod(group, 2)
    return LevelRows(unit_of, period.astype(bool), level, summed)


@dataclass(frozen=True, eq=False)
class Ratings:
    """One grade per (item, auditor) on items graded by two or more auditors: `item` (0..n-1), `auditor` (index into
    `auditors`), the graded unit, `correct` (0/1) and `critical` (0/1, -1 when absent)."""

    item: np.ndarray
    auditor: np.ndarray
    unit: np.ndarray
    correct: np.ndarray
    critical: np.ndarray
    auditors: tuple[str, ...]

    @property
    def items(self) -> int:
        return int(self.item.max()) + 1 if self.item.size else 0


def load_cells(session: Session, pilot_id: int, units: Units, start: date, first: date, cut: date) -> QaCells:
    """The cell sums of the pilot's audits from `first` (pre-period start or start date) through `cut`: one query
    for the pre-period, one for the pilot period (with the data cut, module docstring).

    The cut is applied in Python, never by joining the assignments in SQL: a join's plan depends on the database's
    statistics, and with stale ones (a freshly loaded pilot) PostgreSQL chose a nested loop that took 100 s."""
    late = {m: day for m, day in units.data_from.items() if day > start}
    if not late:
        rows = [(0, *row) for row in fetch_rows(session, _CELLS, pilot_id, start, cut)]
    else:
        boundary = max(late.values())
        rows = []
        for *row, early in select_rows(session, _CUT_CELLS, (boundary, pilot_id, start, cut)):
            if early is not None and as_date(early) < late.get(row[0], start):
                continue  # before the moderator's data start: set aside, as in the panel
            rows.append((0, *row))
    if first < start:
        rows += [(1, *row) for row in fetch_rows(session, _CELLS, pilot_id, first, start - timedelta(days=1))]
    return cells_from_rows(units, rows)


def cells_from_rows(units: Units, rows: list[tuple]) -> QaCells:
    """`QaCells` from `(period (0 pilot, 1 pre), moderator, policy, queue, auditor, *SUMS)` rows."""
    moderators = [row[1] for row in rows]
    pre = [row[0] == 1 for row in rows]
    sums = np.array([row[5:12] for row in rows], dtype=float).reshape(len(rows), 7).T
    parts = {name: (moderators, [row[k] for row in rows], pre, sums) for k, name in enumerate(DIMENSIONS, start=2)}
    return QaCells.from_levels(units, parts)


def load_ratings(session: Session, pilot_id: int, units: Units, start: date, first: date, cut: date) -> Ratings:
    """Grades of the items that two or more different auditors graded (the first grade of an auditor per item)."""
    late = {m: day for m, day in units.data_from.items() if day > start}
    kept = []
    for *grade, day in select_rows(session, _RATINGS, (pilot_id, first, cut, pilot_id, first, cut)):
        if late and grade[2] in late and start <= as_date(day) < late[grade[2]]:
            continue  # a pilot-period grade before the moderator's data start: set aside
        kept.append(tuple(grade))
    return ratings_from_rows(units, kept)


def ratings_from_rows(units: Units, rows: list[tuple]) -> Ratings:
    """`Ratings` from `(item, auditor, moderator, correct, critical)` grades, the first of an (item, auditor) kept."""
    index = units.index_of_moderator
    first_grade: dict[tuple[str, str], tuple] = {}
    auditors_of: dict[str, set[str]] = {}
    for item, auditor, moderator, correct, critical in rows:
        if moderator not in index or (item, auditor) in first_grade:
            continue
        first_grade[item, auditor] = (index[moderator], correct, critical)
        auditors_of.setdefault(item, set()).add(auditor)
    double = sorted(item for item, seen in auditors_of.items() if len(seen) >= 2)
    item_code = {item: k for k, item in enumerate(double)}
    kept = [(key, value) for key, value in first_grade.items() if key[0] in item_code]
    kept.sort(key=lambda pair: (item_code[pair[0][0]], pair[0][1]))
    auditors = tuple(sorted({key[1] for key, _ in kept}))
    auditor_code = {name: k for k, name in enumerate(auditors)}
    return Ratings(
        item=np.array([item_code[key[0]] for key, _ in kept], dtype=np.int64),
        auditor=np.array([auditor_code[key[1]] for key, _ in kept], dtype=np.int64),
        unit=np.array([value[0] for _, value in kept], dtype=np.int64),
        correct=np.array([1 if value[1] else 0 for _, value in kept], dtype=np.int64),
        critical=np.array([-1 if value[2] is None else int(bool(value[2])) for _, value in kept], dtype=np.int64),
        auditors=auditors,
    )
