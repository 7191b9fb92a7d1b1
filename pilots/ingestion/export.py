"""The raw-outcomes export: one row per stored audit, streamed in chunks, re-importable as is.

Columns (stable): the ingestion fields in `FIELDS` order, then `day` (UTC date), `period` (`pre` before the pilot's
start date, `set_aside` from it but before the moderator's assignment (`Assignment.data_from`: never analysed),
`pilot` from then on) and `ingested_at`. The extra columns are ignored on import, so a CSV export can be
re-imported into another pilot. Rows are ordered by `audit_id`, which the unique (pilot_id, audit_id) index serves
without a sort. The CSV is written by the database (`pilots.export_sql`); JSON goes through the ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots import export_sql as x
from pilots.exports import ExportTable
from pilots.ingestion.fields import FIELDS
from pilots.models import Assignment, Outcome

OUTCOME_COLUMNS: tuple[str, ...] = (*FIELDS, "day", "period", "ingested_at")
IDENTIFIERS = ("moderator_id", "auditor_id")


def _csv_select(dialect: str, since: date | None, until: date | None) -> str:
    cells = [
        x.text("audit_id", dialect),
        x.text("moderator_id", dialect),
        x.timestamp("audited_at", dialect),
        x.boolean("correct", dialect),
        x.boolean("critical", dialect),
        x.number("handle_time_s", dialect),
        x.text("policy", dialect),
        x.text("queue", dialect),
        x.text("auditor_id", dialect),
        x.text("item_id", dialect),
        x.day("day", dialect),
        # set_aside: from the start but before the moderator's assignment (`Assignment.data_from`), as `rows` says.
        "CASE WHEN day < {p} THEN 'pre' WHEN day < (SELECT a.data_from FROM assignment AS a WHERE a.pilot_id = "
        "outcome.pilot_id AND a.moderator_id = outcome.moderator_id) THEN 'set_aside' ELSE 'pilot' END",
        x.timestamp("ingested_at", dialect),
    ]
    where = "pilot_id = {p}" + (" AND day >= {p}" if since else "") + (" AND day <= {p}" if until else "")
    # Qualified: PostgreSQL would read a bare `audit_id` as the escaped output column named after it, and sort by it.
    return f"SELECT {', '.join(cells)} FROM outcome WHERE {where} ORDER BY outcome.pilot_id, outcome.audit_id"


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
            first = dict(
                session.execute(
                    select(Assignment.moderator_id, Assignment.data_from).where(Assignment.pilot_id == pilot_id)
                ).all()
            )
            for row in session.execute(query):
                record = row._asdict()
                day = record["day"]
                if day < start_date:
                    record["period"] = "pre"
                else:
                    data_from = first.get(record["moderator_id"])
                    record["period"] = "set_aside" if data_from is not None and day < data_from else "pilot"
                yield record

    params = [d.isoformat() for d in (start_date,)] + [pilot_id] + [d.isoformat() for d in (since, until) if d]

    def csv() -> Iterator[bytes]:
        return x.stream_csv(factory, OUTCOME_COLUMNS, lambda dialect: _csv_select(dialect, since, until), params)

    return ExportTable(key="outcomes", columns=OUTCOME_COLUMNS, rows=rows, csv=csv, identifiers=IDENTIFIERS)
