"""A pilot's randomized units as the results engine sees them.

`Units` are the pilot's units in canonical order (sorted ids) with their arm, stratum, roster attributes (for a team:
its members' mode and mean), each moderator's first day of pilot data (`Assignment.data_from`) and whether the unit
joined late. They are read with `pilots.db.fetch_rows`, which the results loaders share: through the DBAPI cursor,
never as ORM rows (the Python object per value is the cost at thousands of units).

Units are remembered per process (`UNITS`) under a fingerprint of the pilot's assignment and roster rows (their count,
largest id and latest time written): once a pilot is launched these rows are only ever added to (late joiners), so
any change moves the fingerprint, and a request of a 50,000-moderator pilot reads one row of four aggregates instead
of two 50,000-row tables (0.14 s). The remembered `Units` are shared between requests: their arrays are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter

import numpy as np
from sqlmodel import Session

from pilots.db import as_date, fetch_rows, select_rows
from pilots.memo import Memo


@dataclass(frozen=True, eq=False)
class Units:
    """The randomized units of a pilot in canonical order (sorted ids), with arm, stratum and roster attributes."""

    ids: tuple[str, ...]
    arms: np.ndarray
    strata: tuple[str, ...]
    index_of_moderator: dict[str, int]
    attributes: dict[str, np.ndarray]
    data_from: dict[str, date] = field(default_factory=dict)
    late_joiner: np.ndarray | None = None

    _positions: Memo[tuple, tuple[np.ndarray, np.ndarray | None]] = field(
        default_factory=lambda: Memo(4), init=False, repr=False, compare=False
    )

    @property
    def size(self) -> int:
        return len(self.ids)

    def positions(self, moderators: list[str], start: date) -> tuple[np.ndarray, np.ndarray | None]:
        """For each of `moderators`: its unit (-1 when not randomized) and, when some moderator's pilot data begin
        after `start`, the day offset they begin on (0 for the others; None when none does). The last few answers
        are remembered with the units: request after request asks for the same moderators in the same order (the
        rollup series', the pre-period's), and a dictionary look-up per moderator costs 0.02 s at 50,000."""
        key = (tuple(moderators), start)
        answer = self._positions.get(key)
        if answer is not None:
            return answer
        lookup = self.index_of_moderator
        unit_of = np.fromiter((lookup.get(m, -1) for m in moderators), dtype=np.int64, count=len(moderators))
        late = {m: (d - start).days for m, d in self.data_from.items() if d > start}
        first_of = None
        if late:
            first_of = np.fromiter((late.get(m, 0) for m in moderators), dtype=np.int64, count=len(moderators))
        for array in (unit_of, first_of):
            if array is not None:
                array.flags.writeable = False
        self._positions.put(key, (unit_of, first_of))
        return unit_of, first_of


# What moves when a pilot's assignments or roster change: rows are added (late joiners) or, for a draft, replaced.
_FINGERPRINT = "SELECT " + ", ".join(
    f"(SELECT {value} FROM {table} WHERE pilot_id = {{m}})"
    for table, written in (("assignment", "assigned_at"), ("roster_entry", "added_at"))
    for value in ("count(*)", "max(id)", f"max({written})")
)


UNITS: Memo[tuple, Units] = Memo(100_000, weight=lambda units: units.size)
"""By (database, pilot, unit kind, fingerprint), at most 100,000 units in all (about 0.5 KB a unit)."""


def load_units(session: Session, pilot_id: int, unit: str) -> Units:
    """The pilot's units from its assignments, with site, language and tenure (team: the members' mode / mean);
    remembered per process until the assignments or the roster change (module docstring)."""
    fingerprint = select_rows(session, _FINGERPRINT, (pilot_id,) * 6)[0]
    key = (str(session.get_bind().url), pilot_id, unit, *(str(value) for value in fingerprint))
    units = UNITS.get(key)
    if units is None:
        units = _read_units(session, pilot_id)
        for array in (units.arms, units.late_joiner, *units.attributes.values()):
            if array is not None:
                array.flags.writeable = False
        UNITS.put(key, units, replacing=lambda other: other[:3] == key[:3])  # the pilot's older fingerprints
    return units


def _read_units(session: Session, pilot_id: int) -> Units:
    """`load_units` from the assignment and roster rows."""
    assignments = fetch_rows(
        session,
        "SELECT moderator_id, unit_id, arm, stratum, data_from, late_joiner FROM assignment WHERE pilot_id = {m}",
        pilot_id,
    )
    roster = {
        row[0]: row
        for row in fetch_rows(
            session,
            "SELECT moderator_id, site, language, tenure_months FROM roster_entry WHERE pilot_id = {m}",
            pilot_id,
        )
    }
    # NOT NULL on PostgreSQL; on SQLite a row written without it is not cut. Few distinct days: parse each once.
    days = {value: as_date(value) for value in {row[4] for row in assignments} if value is not None}
    data_from = {row[0]: days[row[4]] for row in assignments if row[4] is not None}
    if len({row[1] for row in assignments}) == len(assignments):
        return _single_moderator_units(assignments, roster, data_from)
    return _units(assignments, roster, data_from)


def _units(assignments: list[tuple], roster: dict[str, tuple], data_from: dict[str, date]) -> Units:
    """`load_units` of the assignment and roster rows read (any number of moderators a unit)."""
    first: dict[str, tuple[str, str]] = {}
    members: dict[str, list[str]] = {}
    launch_units: set[str] = set()
    for moderator_id, unit_id, arm, stratum, _, late_joiner in assignments:
        if unit_id in members:
            members[unit_id].append(moderator_id)
        else:
            first[unit_id] = (arm, stratum)
            members[unit_id] = [moderator_id]
        if not late_joiner:
            launch_units.add(unit_id)
    ids = tuple(sorted(first))
    index = {unit_id: k for k, unit_id in enumerate(ids)}
    by_moderator = {m: index[u] for u, ms in members.items() for m in ms}
    sites, languages, tenure = [], [], []
    absent = (None, "", "", None)
    for unit_id in ids:
        group = members[unit_id]
        if len(group) == 1:  # the usual case (one moderator per unit): the mode and mean of one value, cheaply
            _, site, language, months = roster.get(group[0], absent)
            sites.append(site or "")
            languages.append(language or "")
            tenure.append(np.nan if months is None else float(months))
            continue
        rows = [roster[m] for m in group if m in roster]
        sites.append(_mode([r[1] or "" for r in rows]))
        languages.append(_mode([r[2] or "" for r in rows]))
        values = [r[3] for r in rows if r[3] is not None]
        tenure.append(float(np.mean(values)) if values else np.nan)
    return Units(
        ids=ids,
        arms=np.array([first[u][0] for u in ids], dtype=object),
        strata=tuple(first[u][1] for u in ids),
        index_of_moderator=by_moderator,
        attributes={
            "site": np.array(sites, dtype=object),
            "language": np.array(languages, dtype=object),
            "tenure_months": np.array(tenure, dtype=float),
        },
        data_from=data_from,
        late_joiner=np.array([u not in launch_units for u in ids], dtype=bool),
    )


def _single_moderator_units(assignments: list[tuple], roster: dict[str, tuple], data_from: dict[str, date]) -> Units:
    """`load_units` when every unit has one moderator (the usual case): the same `Units`, built a column at a time
    (at 50,000 moderators the row-by-row loop took a third of a second)."""
    ordered = sorted(assignments, key=itemgetter(1))
    absent = (None, "", "", None)
    rows = [roster.get(row[0], absent) for row in ordered]
    return Units(
        ids=tuple(row[1] for row in ordered),
        arms=np.array([row[2] for row in ordered], dtype=object),
        strata=tuple(row[3] for row in ordered),
        index_of_moderator={row[0]: k for k, row in enumerate(ordered)},
        attributes={
            "site": np.array([row[1] or "" for row in rows], dtype=object),
            "language": np.array([row[2] or "" for row in rows], dtype=object),
            "tenure_months": np.array([np.nan if row[3] is None else float(row[3]) for row in rows], dtype=float),
        },
        data_from=data_from,
        late_joiner=np.array([bool(row[5]) for row in ordered], dtype=bool),
    )


def _mode(values: list[str]) -> str:
    if not values:
        return ""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return min(counts, key=lambda v: (-counts[v], v))
