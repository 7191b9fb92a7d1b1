"""Read-only queries the pages need that no domain service offers: counts for the overview and the pilots list."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from pilots.models import Assignment, Pilot, RosterEntry

STATUSES = ("draft", "running", "concluded")


def pilots(session: Session, status: str | None = None) -> list[Pilot]:
    """Pilots, newest start first, optionally only those with `status`."""
    query = select(Pilot).order_by(Pilot.start_date.desc(), Pilot.id.desc())
    if status:
        query = query.where(Pilot.status == status)
    return list(session.exec(query))


def roster_size(session: Session, pilot_id: int) -> int:
    return session.exec(select(func.count()).select_from(RosterEntry).where(RosterEntry.pilot_id == pilot_id)).one()


def assignments_by_arm(session: Session, pilot_id: int) -> dict[str, int]:
    """How many moderators each arm has (empty before launch)."""
    rows = session.exec(
        select(Assignment.arm, func.count()).where(Assignment.pilot_id == pilot_id).group_by(Assignment.arm)
    )
    return dict(rows.all())
