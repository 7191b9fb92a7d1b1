"""Object-level permissions: who may change a pilot, and the plan fields only an admin may set.

A role says what kind of thing a person may do (`pilots.accounts.PERMISSIONS`); this module says to which pilot.
Changing a pilot (editing its plan, replacing its roster, launching it, adding late joiners, ingesting outcomes,
concluding it and recording its decision) is for its owner (the user who created it), its collaborators and admins.
Every other PM reads it like an analyst. Only the owner or an admin manages the collaborators.

Two plan fields are never a PM's to choose: `owner` (the creating user; an admin may hand a pilot over) and `seed`
(drawn by the service at launch, so nobody can search seeds for a favourable split; an admin may set one to reproduce
a recorded randomization, which the audit trail shows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy import delete
from sqlmodel import Session, select

from pilots import events
from pilots.accounts import can
from pilots.db import write_transaction
from pilots.errors import Forbidden, ValidationFailed, problem
from pilots.lookup import get_pilot
from pilots.models import Pilot, PilotCollaborator, User

ADMIN_ONLY_FIELDS = ("owner", "seed")
MAX_COLLABORATORS = 50


class Person(Protocol):
    """Whoever makes the request: a `User` row or the signed-in user of the pages."""

    id: int | None
    name: str
    role: str


def collaborator_ids(session: Session, pilot_id: int) -> set[int]:
    """The user ids of the pilot's collaborators."""
    return set(session.exec(select(PilotCollaborator.user_id).where(PilotCollaborator.pilot_id == pilot_id)))


def may_change(session: Session, pilot: Pilot, person: Person) -> bool:
    """Whether `person` may change `pilot`: an admin, or a role with `write` that owns or collaborates on it."""
    if person.role == "admin":
        return True
    if not can(person.role, "write"):
        return False
    return person.name == pilot.owner or person.id in collaborator_ids(session, pilot.id)


def ensure_may_change(session: Session, pilot_id: int, person: Person) -> Pilot:
    """The pilot, when `person` may change it; 404 for an unknown pilot, 403 for anyone else."""
    pilot = get_pilot(session, pilot_id)
    if not may_change(session, pilot, person):
        raise Forbidden(
            f"Only the owner of pilot {pilot.id} ({pilot.owner}), its collaborators and admins may change it.",
            {"owner": pilot.owner},
        )
    return pilot


def ensure_may_manage_collaborators(session: Session, pilot_id: int, person: Person) -> Pilot:
    """The pilot, when `person` is its owner or an admin (403 otherwise, 404 for an unknown pilot)."""
    pilot = get_pilot(session, pilot_id)
    if person.role != "admin" and not (can(person.role, "write") and person.name == pilot.owner):
        raise Forbidden(
            f"Only the owner of pilot {pilot.id} ({pilot.owner}) and admins may choose its collaborators.",
            {"owner": pilot.owner},
        )
    return pilot


def ensure_may_set(fields: Iterable[str], person: Person) -> None:
    """403 naming each admin-only plan field in `fields` that `person`, not an admin, tried to set."""
    if person.role == "admin":
        return
    refused = [name for name in ADMIN_ONLY_FIELDS if name in set(fields)]
    if refused:
        reasons = {
            "owner": "the owner is the user who creates the pilot; only an admin may hand it to someone else",
            "seed": "the randomization seed is drawn by the service at launch; only an admin may set one, to "
            "reproduce a recorded randomization",
        }
        raise Forbidden(
            f"Only an admin may set {' and '.join(refused)}.", [problem(name, reasons[name]) for name in refused]
        )


def collaborators(session: Session, pilot_ids: Sequence[int]) -> dict[int, list[str]]:
    """Collaborator names by pilot id (sorted), for the given pilots (one query)."""
    rows = session.exec(
        select(PilotCollaborator.pilot_id, User.name)
        .join(User, User.id == PilotCollaborator.user_id)
        .where(PilotCollaborator.pilot_id.in_(list(pilot_ids)))
        .order_by(User.name)
    ).all()
    names: dict[int, list[str]] = {}
    for pilot_id, name in rows:
        names.setdefault(pilot_id, []).append(name)
    return names


def set_collaborators(session: Session, pilot_id: int, names: Sequence[str], actor: str) -> list[str]:
    """Replace the pilot's collaborators by the users named (active, with the `write` role; the owner need not be
    listed). 422 naming each bad entry; the change and its before / after are recorded in the audit trail."""
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        wanted = _collaborator_users(session, pilot, names)
        before = collaborators(session, [pilot.id]).get(pilot.id, [])
        session.exec(delete(PilotCollaborator).where(PilotCollaborator.pilot_id == pilot.id))
        for user in wanted:
            session.add(PilotCollaborator(pilot_id=pilot.id, user_id=user.id, added_by=actor))
        after = sorted(user.name for user in wanted)
        if after != before:
            events.record(
                session,
                actor,
                "pilot.collaborators_changed",
                pilot.id,
                added=sorted(set(after) - set(before)),
                removed=sorted(set(before) - set(after)),
                collaborators=after,
            )
    return after


def _collaborator_users(session: Session, pilot: Pilot, names: Sequence[str]) -> list[User]:
    if len(names) > MAX_COLLABORATORS:
        raise ValidationFailed(
            "Too many collaborators.", [problem("users", f"at most {MAX_COLLABORATORS} collaborators per pilot")]
        )
    found = {user.name: user for user in session.exec(select(User).where(User.name.in_(list(names))))}
    problems, wanted, seen = [], [], set()
    for index, name in enumerate(names):
        user = found.get(name)
        field = f"users.{index}"
        if name in seen:
            problems.append(problem(field, f"{name!r} is listed twice"))
        elif user is None or not user.active:
            problems.append(problem(field, f"no active user is named {name!r}"))
        elif not can(user.role, "write"):
            problems.append(problem(field, f"{name!r} is a {user.role}; collaborators need the pm or admin role"))
        elif name != pilot.owner:
            wanted.append(user)
        seen.add(name)
    if problems:
        raise ValidationFailed("The collaborators could not be set.", problems)
    return wanted
