"""The raw-outcomes export: one row per stored audit, streamed in chunks, re-importable as is.

Columns (stable): the ingestion fields in `FIELDS` order, then `day` (UTC date), `period` (`pre` before the pilot's
start date, `set_aside` from it but before the moderator's assignment (`Assignment.data_from`: never analysed),
`pilot` from then on) and `ingested_at`. The extra columns are ignored on import, so a CSV export can be
re-imported into another pilot. Rows are ordered by `audit_id`, which the unique (pilot_id, audit_id) index serves
without a sort. The CSV is written by the database (`pilots.exports.sql`); JSON goes through the ORM rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots.exports import sql as x
from pilots.exports.table import ExportTable
from pilots.ingestion.fields import FIELDS
from pilots.models import Assignment, Outcome

OUTCOME_COLUMNS: tuple[str, ...] = (*FIELDS, "day", "period", "ingested_at")
IDENTIFIERS = ("moderator_id", "auditor_id")


TEXT_COLUMNS = ("audit_id", "moderator_id", "policy", "queue", "auditor_id", "item_id")
# Qualified: PostgreSQL would read a bare `audit_id` as the escaped output column named after it, and sort by it.
ORDER = " ORDER BY outcome.pilot_id, outcome.audit_id"


def _cells(dialect: str, period: str, exact_numbers: bool = False) -> list[str]:
    """Each column's CSV text as SQL, in OUTCOME_COLUMNS order. With `exact_numbers` (SQLite lines) the handle time
    is NULL where SQL cannot write it as `repr` does, and the row falls back to `csv.writer`."""
    number = x.exact_number("handle_time_s") if exact_numbers else x.number("handle_time_s", dialect)
    return [
        x.text("audit_id", dialect),
        x.text("moderator_id", dialect),
        x.timestamp("audited_at", dialect),
        x.boolean("correct", dialect),
        x.boolean("critical", dialect),
        number,
        x.text("policy", dialect),
        x.text("queue", dialect),
        x.text("auditor_id", dialect),
        x.text("item_id", dialect),
        x.day("day", dialect),
        period,
        x.timestamp("ingested_at", dialect),
    ]


def _where(since: date | None, until: date | None) -> str:
    return "pilot_id = {p}" + (" AND day >= {p}" if since else "") + (" AND day <= {p}" if until else "")


def _csv_select(dialect: str, period: str, since: date | None, until: date | None) -> str:
    return f"SELECT {', '.join(_cells(dialect, period))} FROM outcome WHERE {_where(since, until)}{ORDER}"


def _sqlite_lines(period: str, since: date | None, until: date | None) -> x.SqliteLines:
    """The SQLite export's lines written by the database; rows it cannot write are re-read by `outcome.id`."""
    where = _where(since, until)
    cells = _cells("sqlite", period, exact_numbers=True)
    # NULL cells are empty, except the handle time's deliberate NULL (`exact_number` writes `''` for a NULL value).
    pairs = zip(OUTCOME_COLUMNS, cells, strict=True)
    nonempty = [cell if column == "handle_time_s" else f"ifnull({cell}, '')" for column, cell in pairs]
    line = x.line(nonempty, TEXT_COLUMNS, key="outcome.id")
    plain = ", ".join(_cells("sqlite", period))
    return x.SqliteLines(
        select=f"SELECT {line} FROM outcome WHERE {where}{ORDER}",
        cells_by_key=f"SELECT {plain}, outcome.id FROM outcome WHERE {where} AND outcome.id IN ({{keys}})",
    )


# Beyond this many late joiners the period is looked up per row instead of listed in the statement (SQLite binds at
# most 32,766 parameters).
MAX_LISTED_LATE_JOINERS = 20_000


def _data_from(session: Session, pilot_id: int) -> dict[str, date]:
    """Each assigned moderator's first day of pilot data (`Assignment.data_from`)."""
    query = select(Assignment.moderator_id, Assignment.data_from).where(Assignment.pilot_id == pilot_id)
    return dict(session.execute(query).all())


def _period_cell(data_from: dict[str, date], start_date: date) -> tuple[str, list[Any]]:
    """The `period` cell as SQL and its parameters: `pre` before the start date, `set_aside` before the moderator's
    `data_from`, `pilot` from then on, as `outcomes_table`'s rows say.

    The moderators assigned at launch share one `data_from`; late joiners are listed per `data_from` day in the
    statement, so no row needs a lookup in `assignment` (with fresh statistics PostgreSQL planned that per-row lookup
    as a scan of the pilot's assignments: 11 s for 200,000 audits). Past `MAX_LISTED_LATE_JOINERS` they are looked up
    per row after all."""
    sql, params = "CASE WHEN day < {p} THEN 'pre'", [start_date.isoformat()]
    common = min(data_from.values(), default=None)
    late: dict[date, list[str]] = defaultdict(list)
    for moderator, day in data_from.items():
        if day > common:
            late[day].append(moderator)
    if sum(map(len, late.values())) > MAX_LISTED_LATE_JOINERS:
        sql += (
            " WHEN day < (SELECT a.data_from FROM assignment AS a WHERE a.pilot_id = outcome.pilot_id "
            "AND a.moderator_id = outcome.moderator_id) THEN 'set_aside'"
        )
    elif common is not None:
        sql += " WHEN day < {p} THEN 'set_aside'"
        params.append(common.isoformat())
        for day, moderators in sorted(late.items()):
            sql += f" WHEN day < {{p}} AND moderator_id IN ({', '.join(['{p}'] * len(moderators))}) THEN 'set_aside'"
            params += [day.isoformat(), *moderators]
    return sql + " ELSE 'pilot' END", params


def outcomes_table(
    factory: sessionmaker[Session],
    pilot_id: int,
    start_date: date,
    since: date | None = None,
    until: date | None = None,
) -> ExportTable:
    """The pilot's outcomes with `since <= day <= until` (either bound optional)."""
    columns = [getattr(Outcome, name) for name in (*FIELDS, "day", "ingested_at")]
    query = select(*columns).where(Outcome.pilot_id == pilot_id)
    if since is not None:
        query = query.where(Outcome.day >= since)
    if until is not None:
        query = query.where(Outcome.day <= until)
    query = query.order_by(Outcome.audit_id).execution_options(yield_per=5000)

    def rows() -> Iterator[dict[str, Any]]:
        with factory() as session:
            first = _data_from(session, pilot_id)
            for row in session.execute(query):
                record = row._asdict()
                day = record["day"]
                if day < start_date:
                    record["period"] = "pre"
                else:
                    data_from = first.get(record["moderator_id"])
                    record["period"] = "set_aside" if data_from is not None and day < data_from else "pilot"
                yield record

    def csv() -> Iterator[bytes]:
        with factory() as session:
            period, params = _period_cell(_data_from(session, pilot_id), start_date)
        params += [pilot_id] + [d.isoformat() for d in (since, until) if d]
        select_for = partial(_csv_select, period=period, since=since, until=until)
        lines = _sqlite_lines(period, since, until)
        return x.stream_csv(factory, OUTCOME_COLUMNS, select_for, params, sqlite_lines=lines)

    return ExportTable(key="outcomes", columns=OUTCOME_COLUMNS, rows=rows, csv=csv, identifiers=IDENTIFIERS)
