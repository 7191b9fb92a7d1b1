"""Read-only queries the pages need that no domain service offers: the pilot or a 404, counts for the overview,
the pilots list, and who concluded a pilot."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from sqlalchemy import func
from sqlmodel import Session, select

from pilots.errors import NotFound
from pilots.lookup import get_pilot
from pilots.models import Assignment, Event, Pilot, RosterEntry
from webui.database import get_session
from webui.pages.headline import Conclusion

STATUSES = ("draft", "running", "concluded")


def pilots(session: Session, status: str | None = None, kind: str | None = None) -> list[Pilot]:
    """Pilots, newest start first, optionally only those with `status` and of `kind`."""
    query = select(Pilot).order_by(Pilot.start_date.desc(), Pilot.id.desc())
    if status:
        query = query.where(Pilot.status == status)
    if kind:
        query = query.where(Pilot.kind == kind)
    return list(session.exec(query))


def pilot_or_404(pilot_id: int) -> Pilot:
    """The pilot, or the site's 404 page."""
    try:
        return get_pilot(get_session(), pilot_id)
    except NotFound:
        abort(404)


def roster_size(session: Session, pilot_id: int) -> int:
    return session.exec(select(func.count()).select_from(RosterEntry).where(RosterEntry.pilot_id == pilot_id)).one()


def assignments_by_arm(session: Session, pilot_id: int) -> dict[str, int]:
    """How many moderators each arm has (empty before launch)."""
    rows = session.exec(
        select(Assignment.arm, func.count()).where(Assignment.pilot_id == pilot_id).group_by(Assignment.arm)
    )
    return dict(rows.all())


def conclusion(session: Session, pilot: Pilot) -> Conclusion | None:
    """Who concluded the pilot and their decision: the pilot's decision record, else its `pilot.concluded` event."""
    if pilot.status != "concluded":
        return None
    record = getattr(pilot, "decision", None)
    if isinstance(record, dict) and record:
        return Conclusion(
            by=str(record.get("by") or ""),
            at=_when(record.get("at")) or pilot.concluded_at,
            decision=record.get("decision"),
            rationale=str(record.get("rationale") or record.get("note") or ""),
            recommendation=record.get("recommendation"),
        )
    event = session.exec(
        select(Event)
        .where(Event.pilot_id == pilot.id, Event.action == "pilot.concluded")
        .order_by(Event.at.desc(), Event.id.desc())
    ).first()
    if event is None:
        return Conclusion(by="", at=pilot.concluded_at)
    details = event.details or {}
    return Conclusion(
        by=event.actor,
        at=event.at,
        decision=details.get("decision"),
        rationale=str(details.get("rationale") or details.get("note") or ""),
        recommendation=details.get("recommendation"),
    )


def _when(value) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
