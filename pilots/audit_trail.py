"""Reading the whole audit trail (for admins): filter by kind of event, actor and dates; page it; export it.

Security events (sign-ins, tokens, users, downloads) have no pilot; pilot events (plans, launches, rosters,
outcomes, conclusions) do. Both live in `event`, written through `pilots.events.record`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import or_
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from pilots.exports.table import ExportTable
from pilots.models import Event

SECURITY_PREFIXES = ("auth.", "token.", "user.", "export.")
CATEGORIES = ("all", "security", "pilots")
COLUMNS = ("id", "at", "actor", "action", "pilot_id", "details")
CHUNK = 1000


@dataclass(frozen=True)
class TrailFilter:
    """Which events to show: a category, an exact actor, and an inclusive date range (UTC days)."""

    category: Literal["all", "security", "pilots"] = "all"
    actor: str | None = None
    since: date | None = None
    until: date | None = None


def _security():
    return or_(*(Event.action.startswith(prefix) for prefix in SECURITY_PREFIXES))


def _where(statement, trail: TrailFilter):
    if trail.category == "security":
        statement = statement.where(_security())
    elif trail.category == "pilots":
        statement = statement.where(~_security())
    if trail.actor:
        statement = statement.where(Event.actor == trail.actor)
    if trail.since:
        statement = statement.where(Event.at >= datetime.combine(trail.since, time(), UTC))
    if trail.until:
        statement = statement.where(Event.at < datetime.combine(trail.until + timedelta(days=1), time(), UTC))
    return statement


def page(session: Session, trail: TrailFilter, limit: int, offset: int = 0) -> tuple[list[Event], bool]:
    """Newest first: up to `limit` events after skipping `offset`, and whether more follow."""
    rows = list(session.exec(_where(select(Event), trail).order_by(Event.id.desc()).offset(offset).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def trail_table(factory: sessionmaker[Session], trail: TrailFilter) -> ExportTable:
    """The filtered trail as an export, oldest first, read in chunks by id with its own session (closed when the
    stream ends, however it ends)."""

    def rows() -> Iterator[dict[str, Any]]:
        last = 0
        with factory() as session:
            while True:
                statement = _where(select(Event), trail).where(Event.id > last).order_by(Event.id).limit(CHUNK)
                chunk = [{name: getattr(event, name) for name in COLUMNS} for event in session.exec(statement)]
                session.rollback()  # no transaction stays open while the client reads a chunk
                yield from chunk
                if len(chunk) < CHUNK:
                    return
                last = chunk[-1]["id"]

    return ExportTable("events", COLUMNS, rows)
