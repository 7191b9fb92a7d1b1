"""QA-outcome ingestion: validate a batch, then store it exactly once with its rollups, all-or-nothing.

The flow, shared by the API (JSON or CSV bodies) and the CLI (CSV files in batches):

1. `load` reads the pilot's window and roster (404 / 409 unless it is running) in a short read transaction.
2. `parse_json_records` / `parse_csv_rows` validate every row without touching the database; any problem rejects
   the batch with a 422 listing `{row, field, message}` (first 100).
3. `store` is the unit of work: it locks the pilot, inserts with `ON CONFLICT DO NOTHING`, compares audits that were
   already stored (identical: duplicate; different: 409, nothing written), adds the rollups of the inserted rows
   (`unit_day`, and the QA rollups `qa_day` / `qa_grade` of `pilots.qa_rollups`),
   bumps `Pilot.data_version` and records one `outcomes.ingested` event with the counts, then commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from pilots import events, qa_rollups, rollups
from pilots.db import unit_of_work
from pilots.ingestion import store as _store
from pilots.ingestion.bodies import MAX_ROWS_PER_REQUEST, MalformedBody, csv_rows, json_records
from pilots.ingestion.context import PilotContext, load_context
from pilots.ingestion.csv_input import CsvLayout, batches, layout_for
from pilots.ingestion.fields import FIELDS, Outcome
from pilots.ingestion.parse import ParsedBatch, collector_paused, parse_csv_rows, parse_json_records
from pilots.models import Pilot
from pilots.models._time import utcnow

__all__ = [
    "FIELDS",
    "MAX_ROWS_PER_REQUEST",
    "CsvLayout",
    "IngestResult",
    "MalformedBody",
    "Outcome",
    "ParsedBatch",
    "PilotContext",
    "batches",
    "collector_paused",
    "csv_rows",
    "ingest_csv_body",
    "ingest_json_body",
    "json_records",
    "layout_for",
    "load",
    "parse_csv_rows",
    "parse_json_records",
    "store",
]


@dataclass(frozen=True)
class IngestResult:
    """What a batch did: `accepted` audits newly stored, `duplicates` already stored or repeated in the batch."""

    accepted: int
    duplicates: int


def load(factory: sessionmaker[Session], pilot_id: int) -> PilotContext:
    """The pilot's ingestion context, read in its own short transaction."""
    with factory() as session:
        return load_context(session, pilot_id)


def store(
    factory: sessionmaker[Session], context: PilotContext, batch: ParsedBatch, *, actor: str, source: str
) -> IngestResult:
    """Store a validated batch in one transaction (see module docstring); an empty batch changes nothing."""
    if not batch.values:
        return IngestResult(accepted=0, duplicates=batch.duplicates)
    pilot_id = context.pilot_id
    with unit_of_work(factory) as session:
        connection = session.connection()
        version = _store.lock_pilot(connection, pilot_id)
        inserted, stored_duplicates = _store.insert(connection, pilot_id, batch.values, batch.row_numbers, utcnow())
        # The parser's sums cover every unique audit; recompute only when some were already stored.
        rollups.add(connection, pilot_id, batch.sums if not stored_duplicates else rollups.aggregate(inserted))
        qa_rollups.add(connection, pilot_id, inserted, batch=version + 1)
        if inserted:
            session.execute(update(Pilot).where(Pilot.id == pilot_id).values(data_version=Pilot.data_version + 1))
        result = IngestResult(accepted=len(inserted), duplicates=batch.duplicates + stored_duplicates)
        events.record(
            session,
            actor,
            "outcomes.ingested",
            pilot_id,
            source=source,
            rows=len(batch.values) + batch.duplicates,
            accepted=result.accepted,
            duplicates=result.duplicates,
        )
    return result


def ingest_json_body(factory: sessionmaker[Session], pilot_id: int, data: bytes, *, actor: str) -> IngestResult:
    """A JSON request body `{"outcomes": [...]}`, end to end."""
    context = load(factory, pilot_id)
    # The decoded body and the batch stay alive until the rows are stored: keep the collector off throughout, and
    # free the batch before it resumes (else its first collection walks the batch's ~20,000 objects: ~3 ms).
    with collector_paused():
        batch = parse_json_records(json_records(data), context.window)
        result = store(factory, context, batch, actor=actor, source="api-json")
        del batch
    return result


def ingest_csv_body(
    factory: sessionmaker[Session], pilot_id: int, data: bytes, *, actor: str, source: str = "api-csv"
) -> IngestResult:
    """A CSV request body (header + rows), end to end; `source` says where it came from in the audit trail."""
    context = load(factory, pilot_id)
    layout, rows = csv_rows(data)
    with collector_paused():
        batch = parse_csv_rows(rows, layout, context.window)
        result = store(factory, context, batch, actor=actor, source=source)
        del batch, rows
    return result
