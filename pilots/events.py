"""The audit trail: one helper every state change goes through."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from pilots.models import Event


def record(session: Session, actor: str, action: str, pilot_id: int | None = None, **details: Any) -> Event:
    """Add an event to the session (the caller's unit of work commits it with the change it describes)."""
    event = Event(actor=actor, action=action, pilot_id=pilot_id, details=details)
    session.add(event)
    return event


def history(session: Session, pilot_id: int) -> list[Event]:
    """A pilot's events, oldest first."""
    return list(session.exec(select(Event).where(Event.pilot_id == pilot_id).order_by(Event.id)))
