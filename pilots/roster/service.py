"""A pilot's roster: replaced freely while the pilot is a draft, extended only by late joiners once it runs.

`replace_roster` and `add_late_joiners` each own their unit of work: they take the write lock, lock the pilot row,
check its status, write, record an event with the actor and commit; on any error nothing is written.

Late joiners are idempotent by content: re-sending a moderator already on the roster with identical values is a
no-op that returns their existing assignment; sending them with any value changed is a 409 listing the differences
(rosters and assignments never change after launch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from pilots import events
from pilots.assignment.cutoff import utc
from pilots.assignment.randomization import assign_late_joiners, require_strata_columns
from pilots.db import write_transaction
from pilots.errors import Conflict, ValidationFailed, problem
from pilots.exports.table import ExportTable
from pilots.lookup import get_pilot
from pilots.models import Assignment, RosterEntry
from pilots.models._time import utcnow
from pilots.roster.upload import CORE_COLUMNS, RosterRow

_PAGE = 1000
_INSERT_BATCH = 1000


@dataclass(frozen=True)
class LateJoinResult:
    """What a late-joiner upload did: assignments created now, and those of identical re-sent moderators."""

    added: list[Assignment]
    unchanged: list[Assignment]


def replace_roster(session: Session, pilot_id: int, rows: Sequence[RosterRow], actor: str) -> int:
    """Replace a draft pilot's whole roster with `rows` (already validated); returns the number stored. 422 naming
    each stratum of the pilot that no row has a value for (an unknown or misspelt column)."""
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        if pilot.status != "draft":
            raise Conflict(
                f"Pilot {pilot.id} is {pilot.status}; its roster was randomized at launch and cannot be replaced. "
                f"Add late joiners with POST /api/v1/pilots/{pilot.id}/roster.",
                {"status": pilot.status},
            )
        require_strata_columns(rows, pilot.strata)
        previous = session.exec(delete(RosterEntry).where(RosterEntry.pilot_id == pilot.id)).rowcount
        now = utcnow()
        records = [{**row.values(), "pilot_id": pilot.id, "late_joiner": False, "added_at": now} for row in rows]
        for start in range(0, len(records), _INSERT_BATCH):
            session.exec(insert(RosterEntry), params=records[start : start + _INSERT_BATCH])
        events.record(session, actor, "roster.replaced", pilot.id, moderators=len(rows), previous=previous)
    return len(rows)


def add_late_joiners(
    session: Session, pilot_id: int, rows: Sequence[RosterRow], actor: str, joined_at: datetime | None = None
) -> LateJoinResult:
    """Add moderators to a running pilot and assign them by continuing their strata's sequences.

    Their pilot data start from this assignment (`pilots.assignment.cutoff`). `joined_at` is a simulated
    joining time for a simulated pilot (simulation mode only): between its launch and now, else 422 naming it.
    """
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        if joined_at is not None:
            _check_simulated_join(pilot, joined_at)
        if pilot.status != "running":
            hint = (
                f" Replace a draft's roster with PUT /api/v1/pilots/{pilot.id}/roster."
                if pilot.status == "draft"
                else ""
            )
            raise Conflict(f"Pilot {pilot.id} is {pilot.status}; late joiners join running pilots only.{hint}")
        stored = _entries(session, pilot.id, [row.moderator_id for row in rows])
        _refuse_changes(rows, stored)
        row_of = {row.moderator_id: number for number, row in enumerate(rows, start=1)}
        entries = [
            RosterEntry(pilot_id=pilot.id, late_joiner=True, **row.values())
            for row in rows
            if row.moderator_id not in stored
        ]
        session.add_all(entries)
        session.flush()
        added = assign_late_joiners(session, pilot, entries, row_of, at=joined_at)
        unchanged = _assignments(session, pilot.id, sorted(stored))
        if added:
            # Late joiners change the SRM counts and covariate balance of the results: bump the data version so
            # cached results documents go stale, as after an outcome batch.
            pilot.data_version += 1
            by_arm: dict[str, int] = {}
            for assignment in added:
                by_arm[assignment.arm] = by_arm.get(assignment.arm, 0) + 1
            events.record(
                session,
                actor,
                "roster.late_joiners_added",
                pilot.id,
                moderators=len(added),
                units=len({a.unit_id for a in added}),
                moderators_by_arm=by_arm,
                resent_unchanged=len(unchanged),
                **({"simulated_joined_at": joined_at.isoformat()} if joined_at is not None else {}),
            )
    return LateJoinResult(added, unchanged)


def _check_simulated_join(pilot, joined_at: datetime) -> None:
    why = None
    if not pilot.simulated:
        why = "is accepted only for simulated pilots"
    elif pilot.launched_at is not None and utc(joined_at) < utc(pilot.launched_at):
        why = f"must not be before the pilot's launch ({pilot.launched_at.isoformat()})"
    elif utc(joined_at) > utcnow():
        why = "must be in the past"
    if why is not None:
        raise ValidationFailed("The simulated joining time cannot be used.", [problem("joined_at", why)])


def _refuse_changes(rows: Sequence[RosterRow], stored: dict[str, RosterEntry]) -> None:
    changes = []
    for number, row in enumerate(rows, start=1):
        entry = stored.get(row.moderator_id)
        if entry is None:
            continue
        differing = [name for name, value in row.values().items() if getattr(entry, name) != value]
        if differing:
            changes.append({"row": number, "moderator_id": row.moderator_id, "fields": differing})
    if changes:
        raise Conflict(
            f"{len(changes)} moderator(s) are already on the roster with other values; roster entries never change "
            "after launch (re-send them unchanged, or leave them out).",
            changes[:100],
        )


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), 500):
        yield values[start : start + 500]


def _entries(session: Session, pilot_id: int, moderator_ids: Sequence[str]) -> dict[str, RosterEntry]:
    found = {}
    for chunk in _chunks(moderator_ids):
        query = select(RosterEntry).where(RosterEntry.pilot_id == pilot_id, RosterEntry.moderator_id.in_(chunk))
        found.update({entry.moderator_id: entry for entry in session.exec(query)})
    return found


def teams_of(session: Session, pilot_id: int, moderator_ids: Sequence[str]) -> dict[str, str]:
    """Each listed moderator's team on the pilot's roster."""
    return {moderator_id: entry.team for moderator_id, entry in _entries(session, pilot_id, moderator_ids).items()}


def _assignments(session: Session, pilot_id: int, moderator_ids: Sequence[str]) -> list[Assignment]:
    found: list[Assignment] = []
    for chunk in _chunks(moderator_ids):
        query = select(Assignment).where(Assignment.pilot_id == pilot_id, Assignment.moderator_id.in_(chunk))
        found += session.exec(query)
    return sorted(found, key=lambda a: a.moderator_id)


def attribute_names(session: Session, pilot_id: int) -> list[str]:
    """The extra attribute names used anywhere on the roster, sorted."""
    names: set[str] = set()
    for attributes in session.exec(select(RosterEntry.attributes).where(RosterEntry.pilot_id == pilot_id)):
        names.update(attributes)
    return sorted(names)


def _paged(session: Session, statement, key, key_of: Callable[[Any], str]) -> Iterator[Any]:
    """Rows of `statement` ordered by `key`, a page at a time (keyset pagination keeps memory flat)."""
    last = None
    while True:
        page_statement = statement if last is None else statement.where(key > last)
        page = list(session.exec(page_statement.order_by(key).limit(_PAGE)))
        yield from page
        if len(page) < _PAGE:
            return
        last = key_of(page[-1])


def _own_session(session: Session) -> Session:
    """A new session on `session`'s database, for rows read while an export streams.

    The request's session is closed when the view returns, before a streamed body is read; reusing it from the
    generator would silently open a new connection that nothing closes (and that holds its locks on PostgreSQL)."""
    return Session(session.get_bind())


def roster_table(session: Session, pilot_id: int) -> ExportTable:
    """The roster as an export: the core columns then one column per extra attribute (re-uploadable as is)."""
    extra = attribute_names(session, pilot_id)

    def rows() -> Iterator[dict[str, Any]]:
        statement = select(RosterEntry).where(RosterEntry.pilot_id == pilot_id)
        with _own_session(session) as reader:
            for entry in _paged(reader, statement, RosterEntry.moderator_id, lambda e: e.moderator_id):
                core = {name: getattr(entry, name) for name in CORE_COLUMNS}
                yield {**core, **{name: entry.attributes.get(name) for name in extra}}

    return ExportTable("moderators", [*CORE_COLUMNS, *extra], rows, identifiers=("moderator_id", "team"))


ASSIGNMENT_COLUMNS = ("moderator_id", "team", "arm", "stratum", "unit_id", "sequence", "late_joiner", "assigned_at")


def assignment_table(session: Session, pilot_id: int) -> ExportTable:
    """Every moderator's arm and stratum, by moderator id."""

    def rows() -> Iterator[dict[str, Any]]:
        statement = (
            select(Assignment.moderator_id, RosterEntry.team, Assignment)
            .join(
                RosterEntry,
                (RosterEntry.pilot_id == Assignment.pilot_id) & (RosterEntry.moderator_id == Assignment.moderator_id),
            )
            .where(Assignment.pilot_id == pilot_id)
        )
        with _own_session(session) as reader:
            for moderator_id, team, assignment in _paged(reader, statement, Assignment.moderator_id, lambda r: r[0]):
                values = {name: getattr(assignment, name) for name in ASSIGNMENT_COLUMNS if name != "team"}
                yield {**values, "moderator_id": moderator_id, "team": team}

    return ExportTable("assignments", ASSIGNMENT_COLUMNS, rows, identifiers=("moderator_id", "team", "unit_id"))
