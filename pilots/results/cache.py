"""The results cache: a computed document is stored per (pilot, as_of) with the fingerprint it was computed under.

A hit needs the stored fingerprint to equal the pilot's current one (data version, status, engine version), so a new
outcome batch (which bumps `data_version`) or a conclusion makes the entry stale; the next computation replaces it.
Writes are one upsert (`INSERT ... ON CONFLICT (pilot_id, as_of_key) DO UPDATE`), atomic on SQLite and PostgreSQL,
so several gunicorn workers computing the same document at once simply store it twice; an entry is never replaced
by one computed from an older data version.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from pilots.models import Pilot, ResultsCache
from pilots.models._time import utcnow

LATEST = "latest"


def key(as_of: date | None) -> str:
    return as_of.isoformat() if as_of else LATEST


def fingerprint(pilot: Pilot, engine_version: str) -> str:
    return f"v{pilot.data_version}|{pilot.status}|e{engine_version}"


def lookup(session: Session, pilot_id: int, as_of: date | None, expected: str) -> dict[str, Any] | None:
    """The cached document when it is current, else None."""
    row = session.execute(
        select(ResultsCache.fingerprint, ResultsCache.document).where(
            ResultsCache.pilot_id == pilot_id, ResultsCache.as_of_key == key(as_of)
        )
    ).first()
    if row is None or row.fingerprint != expected:
        return None
    return json.loads(row.document)


def store(
    session: Session, pilot_id: int, as_of: date | None, data_version: int, expected: str, document: dict[str, Any]
) -> None:
    """Upsert the document (the caller commits). Never replaces an entry of a newer data version."""
    values = {
        "pilot_id": pilot_id,
        "as_of_key": key(as_of),
        "data_version": data_version,
        "fingerprint": expected,
        "document": json.dumps(document, allow_nan=False, separators=(",", ":")),
        "computed_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ResultsCache).values(**values)
    table = ResultsCache.__table__
    statement = statement.on_conflict_do_update(
        index_elements=["pilot_id", "as_of_key"],
        set_={name: statement.excluded[name] for name in ("data_version", "fingerprint", "document", "computed_at")},
        where=table.c.data_version <= statement.excluded.data_version,
    )
    session.execute(statement)


def clear(session: Session, pilot_id: int) -> None:
    """Drop a pilot's cached documents (the caller commits)."""
    session.execute(ResultsCache.__table__.delete().where(ResultsCache.__table__.c.pilot_id == pilot_id))
