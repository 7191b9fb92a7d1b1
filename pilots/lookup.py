"""Finding a pilot by id, the one way every service does it."""

from __future__ import annotations

from sqlmodel import Session, select

from pilots.errors import NotFound
from pilots.models import Pilot

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL; larger ones cannot exist


def get_pilot(session: Session, pilot_id: int, *, lock: bool = False) -> Pilot:
    """The pilot with this id (404 otherwise). `lock` re-reads it with a row lock (FOR UPDATE on PostgreSQL), so
    status checks and the writes that depend on them are serialized."""
    if not 0 < pilot_id <= MAX_ID:
        raise NotFound(f"There is no pilot {pilot_id}.")
    statement = select(Pilot).where(Pilot.id == pilot_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    pilot = session.exec(statement).first()
    if pilot is None:
        raise NotFound(f"There is no pilot {pilot_id}.")
    return pilot
