"""The raw-outcomes export: one row per stored audit, streamed in chunks, re-importable as is.

Columns (stable): the ingestion fields in `FIELDS` order, then `day` (UTC date), `period` (`pre` before the pilot's
start date, `pilot` from it) and `ingested_at`. The extra columns are ignored on import, so a CSV export can be
re-imported into another pilot. Rows are ordered by `audit_id`, which the unique (pilot_id, audit_id) index serves
without a sort.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots.exports import ExportTable
from pilots.ingestion.fields import FIELDS
from pilots.models import Outcome

OUTCOME_COLUMNS: tuple[str, ...] = (*FIELDS, "day", "period", "ingested_at")


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
            for row in session.execute(query):
                record = row._asdict()
                record["period"] = "pre" if record["day"] < start_date else "pilot"
                yield record

    return ExportTable(key="outcomes", columns=OUTCOME_COLUMNS, rows=rows)
