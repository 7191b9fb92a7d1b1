"""Read-only queries the pages need that no domain service offers: the pilot or a 404, counts for the overview,
the pilots list, and who concluded a pilot."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app
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


def cache_enabled() -> bool:
    """Whether results come from the cache (`RESULTS_CACHE = False` turns it off, for benchmarks), as in the API."""
    return bool(current_app.config.get("RESULTS_CACHE", True))


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
    """Who concluded the pilot and what they decided: the pilot's decision record (its `decision*` columns) when it
    has one, and the `pilot.concluded` event for who, when and the note otherwise (pilots concluded before decisions
    were recorded)."""
    if pilot.status != "concluded":
        return None
    event = session.exec(
        select(Event)
        .where(Event.pilot_id == pilot.id, Event.action == "pilot.concluded")
        .order_by(Event.at.desc(), Event.id.desc())
    ).first()
    details = (event.details or {}) if event is not None else {}
    note = str(details.get("note") or "")
    decision = getattr(pilot, "decision", None)
    if isinstance(decision, str) and decision:
        return Conclusion(
            by=str(getattr(pilot, "decision_by", "") or (event.actor if event else "")),
            at=_when(getattr(pilot, "decision_at", None)) or pilot.concluded_at,
            decision=decision,
            rationale=str(getattr(pilot, "decision_rationale", "") or note),
            recommendation=getattr(pilot, "decision_recommendation", None),
        )
    if event is None:
        return Conclusion(by="", at=pilot.concluded_at)
    return Conclusion(
        by=event.actor,
        at=event.at,
        decision=details.get("decision"),
        rationale=str(details.get("rationale") or note),
        recommendation=details.get("recommendation"),
    )


def _when(value) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
