"""What the QA analyses read: per-unit sums by policy, queue and auditor, and the double-audited items.

Both come from the QA rollups that ingestion maintains (`pilots.qa_rollups`), never from the raw audits, so they
survive the retention purge: one `GROUP BY` (moderator, policy, queue, auditor) over `qa_day` per period, and one
read of `qa_grade` restricted in SQL to items two or more auditors graded in the window. Moderators map to their
randomized unit exactly as in the panel (`Units.index_of_moderator`), so team pilots sum their members.

The data cut is the panel's (`pilots.results.loader`): a moderator's pilot-period audits count from their
assignment's `data_from` day; earlier ones are set aside, while the pre-period stays covariate data for everyone.
Like the panel it is applied in Python from `Units.data_from` (no join with the assignments in SQL). Cost: the
rows of `qa_day` in the window, about one per audit when moderators have one or two audits a day (200,000 audits
on PostgreSQL: 0.46 s against 0.50 s for the old `GROUP BY` over the outcomes), fewer as audits per moderator, day,
policy, queue and auditor grow.

`QaCells` holds one column per (unit, period, policy, queue, auditor) cell with the rollup sums in `SUMS` order;
`level_sums` turns it into units x levels matrices for one dimension, which is all the cell analyses need. `Ratings`
holds one grade per (item, auditor) for the items graded by at least two different auditors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlmodel import Session

from pilots.results.loader import COLUMN
from pilots.results.units import Units, fetch_rows

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
class QaCells:
    """Cell sums (see module docstring): `codes[d]` indexes `labels[d]` for dimension d of `DIMENSIONS`,
    `sums[column, cell]` in `SUMS` order, `pre[cell]` marks pre-period cells."""

    n_units: int
    unit: np.ndarray
    pre: np.ndarray
    codes: dict[str, np.ndarray]
    labels: dict[str, tuple[str, ...]]
    sums: np.ndarray

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
        """Cells of audits given as arrays (the simulator's validation path): one cell per audit, `audits` and
        `correct` filled, the optional fields' columns zero. `labels[d]` must include `NONE_LABEL`."""
        sums = np.zeros((7, unit.size))
        sums[COLUMN["audits"]] = 1.0
        sums[COLUMN["correct"]] = correct
        return cls(n_units, unit, pre, codes, labels, sums)

    def level_sums(self, dimension: str, column: str, pre: bool = False) -> np.ndarray:
        """Units x levels sums of a rollup column in the pilot period (or the pre-period)."""
        keep = self.pre == pre
        levels = len(self.labels[dimension])
        flat = self.unit[keep] * levels + self.codes[dimension][keep]
        total = np.bincount(flat, weights=self.sums[COLUMN[column], keep], minlength=self.n_units * levels)
        return total.reshape(self.n_units, levels)


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
        for *row, early in _select(session, _CUT_CELLS, (boundary, pilot_id, start, cut)):
            if early is not None and _day(early) < late.get(row[0], start):
                continue  # before the moderator's data start: set aside, as in the panel
            rows.append((0, *row))
    if first < start:
        rows += [(1, *row) for row in fetch_rows(session, _CELLS, pilot_id, first, start - timedelta(days=1))]
    return cells_from_rows(units, rows)


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def cells_from_rows(units: Units, rows: list[tuple]) -> QaCells:
    """`QaCells` from `(period (0 pilot, 1 pre), moderator, policy, queue, auditor, *SUMS)` rows."""
    index = units.index_of_moderator
    rows = [row for row in rows if row[1] in index]
    labels: dict[str, tuple[str, ...]] = {}
    codes: dict[str, np.ndarray] = {}
    for position, name in zip((2, 3, 4), DIMENSIONS, strict=True):
        values = [row[position] or NONE_LABEL for row in rows]
        distinct = tuple(sorted(set(values) | {NONE_LABEL}))
        lookup = {value: k for k, value in enumerate(distinct)}
        labels[name] = distinct
        codes[name] = np.fromiter((lookup[v] for v in values), dtype=np.int64, count=len(values))
    return QaCells(
        n_units=units.size,
        unit=np.fromiter((index[row[1]] for row in rows), dtype=np.int64, count=len(rows)),
        pre=np.fromiter((row[0] == 1 for row in rows), dtype=bool, count=len(rows)),
        codes=codes,
        labels=labels,
        sums=np.array([row[5:12] for row in rows], dtype=float).reshape(len(rows), 7).T,
    )


def _select(session: Session, query: str, params: tuple) -> list[tuple]:
    """All rows of `query` (`{m}` marks the parameters, given in order) through the DBAPI cursor."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    values = tuple(p.isoformat() if sqlite and isinstance(p, date) else p for p in params)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(query.format(m="?" if sqlite else "%s"), values)
        return cursor.fetchall()
    finally:
        cursor.close()


def load_ratings(session: Session, pilot_id: int, units: Units, start: date, first: date, cut: date) -> Ratings:
    """Grades of the items that two or more different auditors graded (the first grade of an auditor per item)."""
    late = {m: day for m, day in units.data_from.items() if day > start}
    kept = []
    for *grade, day in _select(session, _RATINGS, (pilot_id, first, cut, pilot_id, first, cut)):
        if late and grade[2] in late and start <= _day(day) < late[grade[2]]:
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
