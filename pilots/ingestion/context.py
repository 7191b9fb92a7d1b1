"""What a batch of outcomes is checked against: the pilot's status, data window and assigned moderators.

Read once per request (or once per CLI import), before the write transaction, so parsing and validation do not hold
the database's write lock. The status is checked again under the lock when the batch is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from pilots.db import fetch_rows
from pilots.errors import Conflict, NotFound
from pilots.ingestion.fields import Window, make_window
from pilots.lookup import MAX_ID
from pilots.models import Pilot

# The assigned moderators, through the bare cursor: at 50,000 moderators Core's row processing took 50 ms a batch.
_ROSTER = "SELECT moderator_id FROM assignment WHERE pilot_id = {m}"


@dataclass(frozen=True)
class PilotContext:
    """A running pilot as ingestion sees it. Outcomes before `start_date` are the pre-period (CUPED covariates)."""

    pilot_id: int
    start_date: date
    end_date: date
    window: Window


def ensure_accepting(pilot_id: int, status: str | None) -> None:
    """Raise unless a pilot with this status accepts outcomes (404 when missing, 409 unless running)."""
    if status is None:
        raise NotFound(f"Pilot {pilot_id} does not exist.")
    if status == "draft":
        raise Conflict(f"Pilot {pilot_id} is a draft: launch first; outcomes are accepted only while it runs.")
    if status == "concluded":
        raise Conflict(f"Pilot {pilot_id} is concluded: it accepts no more outcomes.")
    if status != "running":
        raise Conflict(f"Pilot {pilot_id} is {status}: outcomes are accepted only while it runs.")


def load_context(session: Session, pilot_id: int, now: datetime | None = None) -> PilotContext:
    """The pilot's window and roster; raises NotFound / Conflict when it does not accept outcomes."""
    # Core on the session's connection: the ORM's row handling would cost more than the query (thousands of ids).
    if not 0 < pilot_id <= MAX_ID:  # an id no table can hold: 404, never a database overflow error
        raise NotFound(f"Pilot {pilot_id} does not exist.")
    connection = session.connection()
    pilot = connection.execute(
        select(Pilot.status, Pilot.start_date, Pilot.end_date, Pilot.pre_period_start).where(Pilot.id == pilot_id)
    ).first()
    ensure_accepting(pilot_id, pilot.status if pilot else None)
    roster = frozenset(row[0] for row in fetch_rows(session, _ROSTER, pilot_id))
    first_day = min(pilot.pre_period_start or pilot.start_date, pilot.start_date)
    return PilotContext(
        pilot_id=pilot_id,
        start_date=pilot.start_date,
        end_date=pilot.end_date,
        window=make_window(roster, first_day, pilot.end_date, now),
    )
