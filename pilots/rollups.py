"""Per-unit daily rollups (`unit_day`): what every ratio metric needs, maintained with the outcomes.

Each accepted batch adds its own aggregates (computed in Python from the rows it actually inserted) with one
`INSERT ... ON CONFLICT DO UPDATE` per (moderator, day), in the batch's transaction, so the rollups always equal an
aggregation of the stored outcomes and results never scan raw audits. `from_outcomes` recomputes them from the raw
rows, to check that equality (tests, `pilotlab` maintenance) without trusting the incremental path.

`units_table` is the per-unit export: one row per moderator and period (`pre` before the start date, `set_aside` from
it but before the moderator's assignment (`Assignment.data_from`, never analysed), `pilot` from then on), with the
unit and arm from the assignment. Its columns are `UNIT_COLUMNS`, stable; its CSV is written by the database
(`pilots.exports.sql`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots.db import sqlite_insert_flat
from pilots.exports import sql as x
from pilots.exports.table import ExportTable
from pilots.models import Assignment, Outcome, UnitDay

SUMS: tuple[str, ...] = (
    "audits",
    "correct",
    "critical_audits",
    "critical",
    "handle_audits",
    "handle_sum",
    "handle_sum2",
)
UNIT_COLUMNS: tuple[str, ...] = (
    "unit_id",
    "moderator_id",
    "arm",
    "period",
    *SUMS,
    "days",
    "first_day",
    "last_day",
)

Key = tuple[str, date | str]


def aggregate(rows: Iterable[tuple[Any, ...]]) -> dict[Key, list[float]]:
    """Sum outcome tuples (`pilots.ingestion.fields.Outcome` order) per (moderator_id, day), in `SUMS` order."""
    sums: dict[Key, list[float]] = {}
    for row in rows:
        key = (row[1], row[3])
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = [0, 0, 0, 0, 0, 0.0, 0.0]
        acc[0] += 1
        if row[4]:
            acc[1] += 1
        critical = row[5]
        if critical is not None:
            acc[2] += 1
            if critical:
                acc[3] += 1
        handle = row[6]
        if handle is not None:
            acc[4] += 1
            acc[5] += handle
            acc[6] += handle * handle
    return sums


_INSERT = (
    "INSERT INTO unit_day (pilot_id, moderator_id, day, audits, correct, critical_audits, critical, handle_audits, "
    "handle_sum, handle_sum2)"
)
_ON_CONFLICT = " ON CONFLICT (pilot_id, moderator_id, day) DO UPDATE SET " + ", ".join(
    f"{name} = unit_day.{name} + excluded.{name}" for name in SUMS
)
_STAGE = (
    "CREATE TEMPORARY TABLE unit_day_stage (moderator_id text, day date, audits integer, correct integer, "
    "critical_audits integer, critical integer, handle_audits integer, handle_sum double precision, "
    "handle_sum2 double precision) ON COMMIT DROP"
)
_STAGE_TYPES = ("text", "date", "int4", "int4", "int4", "int4", "int4", "float8", "float8")


def add(connection: Connection, pilot_id: int, sums: dict[Key, list[float]]) -> None:
    """Add `sums` to the pilot's rollups inside the caller's transaction.

    Days are `YYYY-MM-DD` text (as ingestion keys them), which both databases read as dates. SQLite runs the upsert
    with many rows a statement (`pilots.db.sqlite_insert_rows`); PostgreSQL `COPY`s the sums (binary format) into a
    temporary table and upserts from it in one statement (thousands of separate upserts cost several times more there).
    """
    if not sums:
        return
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "sqlite":
            # One flat list of (moderator, day, *sums) built at C level.
            flat = list(itertools.chain.from_iterable(map(tuple.__add__, sums, map(tuple, sums.values()))))
            sqlite_insert_flat(cursor, _INSERT, f"({pilot_id:d}, {', '.join('?' * 9)})", flat, _ON_CONFLICT)
            return
        cursor.execute(_STAGE)
        dates = {day: day if isinstance(day, date) else date.fromisoformat(day) for _, day in sums}
        with cursor.copy("COPY unit_day_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_STAGE_TYPES)
            write = copy.write_row
            for (moderator, day), acc in sums.items():
                write((moderator, dates[day], *acc))
        cursor.execute(f"{_INSERT} SELECT %s, * FROM unit_day_stage{_ON_CONFLICT}", (pilot_id,))
        cursor.execute("DROP TABLE unit_day_stage")
    finally:
        cursor.close()


def stored(session: Session, pilot_id: int) -> dict[Key, list[float]]:
    """The pilot's rollups as maintained, keyed like `aggregate`."""
    columns = [getattr(UnitDay, name) for name in SUMS]
    query = select(UnitDay.moderator_id, UnitDay.day, *columns).where(UnitDay.pilot_id == pilot_id)
    return {(r[0], r[1]): list(r[2:]) for r in session.execute(query)}


def from_outcomes(session: Session, pilot_id: int) -> dict[Key, list[float]]:
    """The pilot's rollups recomputed from the raw outcome rows (a full scan: for checks, not for results)."""
    query = (
        select(
            Outcome.audit_id,
            Outcome.moderator_id,
            Outcome.audited_at,
            Outcome.day,
            Outcome.correct,
            Outcome.critical,
            Outcome.handle_time_s,
        )
        .where(Outcome.pilot_id == pilot_id)
        .execution_options(yield_per=5000)
    )
    return aggregate(session.execute(query))


def units_table(factory: sessionmaker[Session], pilot_id: int, start_date: date) -> ExportTable:
    """The per-unit export (see module docstring); rows are read in chunks when the table is streamed."""
    period = case(
        (UnitDay.day < start_date, "pre"), (UnitDay.day < Assignment.data_from, "set_aside"), else_="pilot"
    ).label("period")
    sums = [func.sum(getattr(UnitDay, name)).label(name) for name in SUMS]
    query = (
        select(
            Assignment.unit_id,
            UnitDay.moderator_id,
            Assignment.arm,
            period,
            *sums,
            func.count().label("days"),
            func.min(UnitDay.day).label("first_day"),
            func.max(UnitDay.day).label("last_day"),
        )
        .select_from(UnitDay)
        .join(
            Assignment,
            (Assignment.pilot_id == UnitDay.pilot_id) & (Assignment.moderator_id == UnitDay.moderator_id),
            isouter=True,
        )
        .where(UnitDay.pilot_id == pilot_id)
        .group_by(UnitDay.moderator_id, Assignment.unit_id, Assignment.arm, period)
        .order_by(UnitDay.moderator_id, func.min(UnitDay.day))
        .execution_options(yield_per=2000)
    )

    def rows() -> Iterator[dict[str, Any]]:
        with factory() as session:
            for row in session.execute(query):
                record = row._asdict()
                record["handle_sum"] = float(record["handle_sum"])
                record["handle_sum2"] = float(record["handle_sum2"])
                yield record

    def csv() -> Iterator[bytes]:
        start = start_date.isoformat()
        return x.stream_csv(factory, UNIT_COLUMNS, _units_csv_select, [start, pilot_id, start])

    return ExportTable(key="units", columns=UNIT_COLUMNS, rows=rows, csv=csv, identifiers=("unit_id", "moderator_id"))


def _units_csv_select(dialect: str) -> str:
    """`units_table`'s query with every cell as CSV text (see `pilots.exports.sql`)."""
    sums = [f"SUM(u.{name})" for name in SUMS[:5]] + [x.number(f"SUM(u.{name})", dialect) for name in SUMS[5:]]
    period = "CASE WHEN u.day < {p} THEN 'pre' WHEN u.day < a.data_from THEN 'set_aside' ELSE 'pilot' END"
    return (
        f"SELECT {x.text('a.unit_id', dialect)}, {x.text('u.moderator_id', dialect)}, {x.text('a.arm', dialect)}, "
        f"{period}, {', '.join(sums)}, COUNT(*), {x.day('MIN(u.day)', dialect)}, {x.day('MAX(u.day)', dialect)} "
        "FROM unit_day AS u "
        "LEFT OUTER JOIN assignment AS a ON a.pilot_id = u.pilot_id AND a.moderator_id = u.moderator_id "
        "WHERE u.pilot_id = {p} "
        f"GROUP BY u.moderator_id, a.unit_id, a.arm, {period} ORDER BY u.moderator_id, MIN(u.day)"
    )
