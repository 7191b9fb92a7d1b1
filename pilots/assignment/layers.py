"""Layer conflicts: a moderator (or a team) takes part in at most one running pilot per layer.

Pilots in the same layer would otherwise contaminate each other's comparisons. Pilots without a layer never
conflict, nor do draft or concluded pilots. For a team-randomized pilot the team itself is the unit, so any of its
teams having a moderator assigned in another running pilot of the layer is a conflict too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from pilots.errors import Conflict
from pilots.models import Assignment, Pilot, RosterEntry

_CHUNK = 500  # bound on IN-list parameters per query (SQLite and psycopg both cap bound parameters)


def _chunks(values: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def find_conflicts(
    session: Session, pilot: Pilot, moderator_ids: Collection[str], teams: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Assignments in other running pilots of `pilot`'s layer that clash with these moderators (or teams).

    Returns `[{moderator_id, team, pilot_id, pilot_name, layer}]` sorted by moderator then pilot; `team` is set for
    team clashes (the clashing moderator being the other pilot's member of that team).
    """
    if pilot.layer is None:
        return []
    rivals = (Pilot.layer == pilot.layer, Pilot.status == "running", Pilot.id != pilot.id)
    found: dict[tuple[str, int, str | None], dict[str, Any]] = {}
    for chunk in _chunks(moderator_ids):
        query = (
            select(Assignment.moderator_id, Pilot.id, Pilot.name)
            .join(Pilot, Pilot.id == Assignment.pilot_id)
            .where(*rivals, Assignment.moderator_id.in_(chunk))
        )
        for moderator_id, pilot_id, name in session.exec(query):
            found[(moderator_id, pilot_id, None)] = _conflict(moderator_id, None, pilot_id, name, pilot.layer)
    for chunk in _chunks(teams):
        query = (
            select(Assignment.moderator_id, RosterEntry.team, Pilot.id, Pilot.name)
            .join(Pilot, Pilot.id == Assignment.pilot_id)
            .join(
                RosterEntry,
                (RosterEntry.pilot_id == Assignment.pilot_id) & (RosterEntry.moderator_id == Assignment.moderator_id),
            )
            .where(*rivals, RosterEntry.team.in_(chunk))
        )
        for moderator_id, team, pilot_id, name in session.exec(query):
            found.setdefault((moderator_id, pilot_id, team), _conflict(moderator_id, team, pilot_id, name, pilot.layer))
    return sorted(found.values(), key=lambda c: (c["moderator_id"], c["pilot_id"], c["team"] or ""))


def lock_layer(session: Session, layer: str | None) -> None:
    """Serialize enrolments into `layer` for the rest of the transaction.

    On PostgreSQL this is a transaction-scoped advisory lock keyed by a stable 63-bit digest of the layer name; on
    SQLite writers already hold the database's single write lock (`BEGIN IMMEDIATE`), so nothing more is needed.
    """
    if layer is None or session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"pilotlab-layer:{layer}".encode()).digest()[:8], "big") >> 1
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _conflict(moderator_id: str, team: str | None, pilot_id: int, name: str, layer: str) -> dict[str, Any]:
    return {"moderator_id": moderator_id, "team": team, "pilot_id": pilot_id, "pilot_name": name, "layer": layer}


def ensure_no_conflicts(
    session: Session, pilot: Pilot, moderator_ids: Sequence[str], teams: Sequence[str] = ()
) -> None:
    """Raise Conflict (409) listing every clash; do nothing when there is none.

    Holds the layer's lock until the caller's transaction ends, so two pilots of one layer launched at the same
    moment cannot both pass the check before either has written its assignments.
    """
    lock_layer(session, pilot.layer)
    conflicts = find_conflicts(session, pilot, moderator_ids, teams)
    if conflicts:
        pilots = sorted({c["pilot_name"] for c in conflicts})
        raise Conflict(
            f"{len({c['moderator_id'] for c in conflicts})} moderator(s) are already in running pilot(s) of layer "
            f"{pilot.layer!r} ({', '.join(pilots)}); remove them from the roster or use another layer.",
            conflicts,
        )
