"""Stratified permuted-block randomization of a pilot's roster at launch, and of late joiners afterwards.

Units are moderators, or teams when the plan says `unit: team` (every moderator of a team gets the team's arm).
Each unit's stratum comes from `pilots.assignment.strata`; within a stratum, units sorted by id (code-point order)
take consecutive arms of the stratum's block sequence (`pilots.assignment.blocks`), whose generator depends only on
the pilot's seed and the stratum key. So the same roster, plan and seed give the same assignment on any database or
machine, whatever the upload order.

Late joiners continue their stratum's sequence: the first new unit of a stratum takes position `n`, where `n` is
the number of units already assigned there, and a batch's new units are taken in id order. A late joiner whose team
is already a unit of a team-randomized pilot gets the team's arm, stratum and position. Assignments are only ever
added, never changed or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from pilots.assignment.blocks import allocation_cycle, assign_strata, block_sequence, stratum_generator
from pilots.assignment.cutoff import data_from
from pilots.assignment.layers import ensure_no_conflicts
from pilots.assignment.strata import (
    FIXED_LABEL_ATTRIBUTES,
    MAX_STRATUM_KEY,
    Edges,
    absent_attributes,
    data_bands,
    moderator_labels,
    roster_columns,
    stratum_key,
    team_labels,
    unit_values,
)
from pilots.errors import Conflict, ValidationFailed, problem
from pilots.models import Assignment, Pilot, RosterEntry
from pilots.models._time import utcnow


@dataclass(frozen=True)
class Unit:
    """A randomized unit: its id (moderator id or team name), stratum key and the moderators it covers."""

    unit_id: str
    stratum: str
    members: tuple[RosterEntry, ...]


def plan_cycle(pilot: Pilot) -> tuple[str, ...]:
    """The allocation cycle of the pilot's arms and weights (422 naming `arms` when the plan cannot give one)."""
    try:
        return allocation_cycle([(arm["name"], arm.get("weight", 1)) for arm in pilot.arms])
    except (ValueError, KeyError, TypeError) as error:
        raise ValidationFailed("The pilot's arms cannot be randomized.", [problem("arms", str(error))]) from error


def launch_bands(entries: Sequence[RosterEntry], pilot: Pilot) -> dict[str, tuple[float, ...]]:
    """Quartile band edges of the pilot's continuous numeric strata attributes, from the roster randomized at launch
    (`pilots.assignment.strata`); late joiners are banded with the same edges."""
    return data_bands(unit_values(entries, pilot.strata, pilot.unit))


def build_units(
    entries: Sequence[RosterEntry], pilot: Pilot, row_of: Mapping[str, int] | None = None, edges: Edges | None = None
) -> list[Unit]:
    """Group moderators into units with their strata, sorted by unit id; 422 listing every missing value.

    `row_of` maps moderator ids to upload rows, so late-joiner errors point at the row that was sent; `edges` are the
    launch roster's quartile bands (`launch_bands`).
    """
    row_of = row_of or {}
    require_strata_columns(entries, pilot.strata)
    problems, labels = [], {}
    for entry in sorted(entries, key=lambda e: e.moderator_id):
        row = row_of.get(entry.moderator_id)
        found, missing = moderator_labels(entry, pilot.strata, edges)
        problems += [_missing(entry, name, row) for name in missing]
        if pilot.unit == "team" and not entry.team.strip():
            problems.append(_missing(entry, "team", row, "is needed because the pilot randomizes teams"))
        labels[entry.moderator_id] = found
    if problems:
        raise ValidationFailed("Some moderators lack a value the randomization needs.", problems)
    if pilot.unit == "team":
        teams: dict[str, list[RosterEntry]] = {}
        for entry in sorted(entries, key=lambda e: e.moderator_id):
            teams.setdefault(entry.team, []).append(entry)
        units = [Unit(team, stratum_key(team_labels(m, pilot.strata, edges)), tuple(m)) for team, m in teams.items()]
    else:
        units = [Unit(e.moderator_id, stratum_key(labels[e.moderator_id]), (e,)) for e in entries]
    units.sort(key=lambda u: u.unit_id)
    too_long = [u for u in units if len(u.stratum) > MAX_STRATUM_KEY]
    if too_long:
        raise ValidationFailed(
            f"Stratum keys are limited to {MAX_STRATUM_KEY} characters; shorten the attribute values.",
            [problem("strata", f"unit {u.unit_id!r}: stratum key has {len(u.stratum)} characters") for u in too_long],
        )
    return units


def require_strata_columns(entries: Sequence[Any], strata: Sequence[str]) -> None:
    """422 naming each stratum attribute that no moderator of `entries` (roster entries or upload rows) has a value
    for: one problem per missing column, rather than one per moderator at launch."""
    absent = absent_attributes(entries, strata)
    if absent:
        columns = ", ".join(roster_columns(entries))
        raise ValidationFailed(
            f"The pilot is stratified by {', '.join(absent)}, which the roster does not have (its columns: {columns}). "
            "Add the column to the roster, or edit the pilot's strata while it is a draft.",
            [
                problem(name, f"is a stratum of the pilot but no column of the roster (columns: {columns})")
                for name in absent
            ],
        )


def _missing(entry: RosterEntry, name: str, row: int | None, message: str = "is missing or not a number") -> dict:
    return problem(name, f"moderator {entry.moderator_id!r}: {name} {message}", row)


def randomize(session: Session, pilot: Pilot, at: datetime | None = None) -> list[Assignment]:
    """Assign the pilot's whole roster at time `at` (naive UTC: the launch time; adds the rows to the session, the
    caller's unit of work commits; `at` defaults to now).

    Raises ValidationFailed (422) when the roster is empty, a stratum value is missing, there are fewer units than
    arms or the draw leaves an arm without units; Conflict (409) when the pilot already has assignments or when
    moderators/teams are in another running pilot of the same layer.
    """
    at = at or utcnow()
    already = session.exec(select(func.count()).select_from(Assignment).where(Assignment.pilot_id == pilot.id)).one()
    if already:
        raise Conflict(f"Pilot {pilot.id} is already randomized; assignments never change.", {"assignments": already})
    entries = list(session.exec(select(RosterEntry).where(RosterEntry.pilot_id == pilot.id)))
    if not entries:
        raise ValidationFailed(
            f"Pilot {pilot.id} has no roster; upload one with PUT /api/v1/pilots/{pilot.id}/roster before launch.",
            [problem("roster", "is empty")],
        )
    cycle = plan_cycle(pilot)
    units = build_units(entries, pilot, edges=launch_bands(entries, pilot))
    _require_unit_per_arm(pilot, len(units))
    teams = [u.unit_id for u in units] if pilot.unit == "team" else []
    ensure_no_conflicts(session, pilot, [e.moderator_id for e in entries], teams)
    arms, positions = assign_strata([u.stratum for u in units], cycle, lambda key: stratum_generator(pilot.seed, key))
    _require_every_arm_filled(pilot, units, arms)
    assignments = [
        _assignment(pilot, unit, member, arm, position, late_joiner=False, at=at)
        for unit, arm, position in zip(units, arms, positions, strict=True)
        for member in unit.members
    ]
    session.add_all(assignments)
    return assignments


def _units_word(pilot: Pilot, count: int) -> str:
    noun = "team" if pilot.unit == "team" else "moderator"
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _require_unit_per_arm(pilot: Pilot, units: int) -> None:
    """422 naming `roster` when there are fewer randomized units than arms: some arm would get nobody, and an arm
    without units has nothing to compare."""
    arms = len(pilot.arms)
    if units < arms:
        raise ValidationFailed(
            f"Pilot {pilot.id} has {arms} arms, so it needs at least {arms} randomized units (one per arm); the roster "
            f"has {_units_word(pilot, units)}.",
            [
                problem(
                    "roster",
                    f"has {_units_word(pilot, units)}; every one of the {arms} arms needs at least one, so at least "
                    f"{arms} are needed",
                )
            ],
        )


def _require_every_arm_filled(pilot: Pilot, units: Sequence[Unit], arms: Sequence[str]) -> None:
    """422 naming `roster` when the draw left an arm without units. With at least one unit per arm this still happens
    when the units are spread over many small strata or the weights are uneven: each stratum's blocks are balanced
    only once full. Nothing is written; more units (or fewer strata) make it unlikely."""
    empty = [arm["name"] for arm in pilot.arms if arm["name"] not in set(arms)]
    if not empty:
        return
    strata = len({unit.stratum for unit in units})
    raise ValidationFailed(
        f"The randomization of pilot {pilot.id} left {', '.join(map(repr, empty))} with no units: "
        f"{_units_word(pilot, len(units))} in {strata} strat{'um' if strata == 1 else 'a'} are too few for "
        f"{len(pilot.arms)} arms. Add units to the roster or stratify by fewer attributes; nothing was saved.",
        [
            problem(
                "roster",
                f"has {_units_word(pilot, len(units))} in {strata} strat{'um' if strata == 1 else 'a'}; the draw left "
                f"arm {name!r} without any, and every arm needs at least one",
            )
            for name in empty
        ],
    )


def _assignment(
    pilot: Pilot, unit: Unit, member: RosterEntry, arm: str, position: int, late_joiner: bool, at: datetime
) -> Assignment:
    return Assignment(
        pilot_id=pilot.id,
        moderator_id=member.moderator_id,
        unit_id=unit.unit_id,
        arm=arm,
        stratum=unit.stratum,
        sequence=position,
        late_joiner=late_joiner,
        assigned_at=at,
        data_from=data_from(at),
    )


def assign_late_joiners(
    session: Session,
    pilot: Pilot,
    entries: Sequence[RosterEntry],
    row_of: Mapping[str, int] | None = None,
    *,
    at: datetime | None = None,
) -> list[Assignment]:
    """Assign moderators added to a running pilot at time `at` (naive UTC) by continuing their strata's sequences
    (the caller commits; `at` defaults to now).

    `entries` are new roster entries (already added to the session). Raises ValidationFailed for missing stratum
    values and Conflict for layer clashes, before anything is assigned.
    """
    if not entries:
        return []
    at = at or utcnow()
    cycle = plan_cycle(pilot)
    edges: dict[str, tuple[float, ...]] = {}
    if any(name not in FIXED_LABEL_ATTRIBUTES for name in pilot.strata):  # only extra attributes can have data bands
        launched = session.exec(
            select(RosterEntry).where(RosterEntry.pilot_id == pilot.id, RosterEntry.late_joiner == False)  # noqa: E712
        ).all()
        edges = launch_bands(launched, pilot)
    every = build_units(entries, pilot, row_of, edges)  # validates every late joiner, including those joining teams
    joined: dict[str, Assignment] = {}
    if pilot.unit == "team":
        joined = _team_assignments(session, pilot, {e.team for e in entries})
    units = [u for u in every if u.unit_id not in joined] if pilot.unit == "team" else every
    teams = sorted({e.team for e in entries}) if pilot.unit == "team" else []
    ensure_no_conflicts(session, pilot, [e.moderator_id for e in entries], teams)
    assignments = []
    for entry in sorted(entries, key=lambda e: e.moderator_id):
        if entry.team in joined and pilot.unit == "team":
            team = joined[entry.team]
            unit = Unit(team.unit_id, team.stratum, (entry,))
            assignments.append(_assignment(pilot, unit, entry, team.arm, team.sequence, late_joiner=True, at=at))
    by_stratum: dict[str, list[Unit]] = {}
    for unit in units:
        by_stratum.setdefault(unit.stratum, []).append(unit)
    for key in sorted(by_stratum):
        start = _units_in_stratum(session, pilot, key)
        sequence = block_sequence(cycle, stratum_generator(pilot.seed, key), start + len(by_stratum[key]))
        for offset, unit in enumerate(by_stratum[key]):
            position = start + offset
            assignments += [
                _assignment(pilot, unit, member, sequence[position], position, late_joiner=True, at=at)
                for member in unit.members
            ]
    session.add_all(assignments)
    return sorted(assignments, key=lambda a: a.moderator_id)


def _team_assignments(session: Session, pilot: Pilot, teams: set[str]) -> dict[str, Assignment]:
    """One existing assignment per already-randomized team among `teams` (every member shares arm and stratum)."""
    found: dict[str, Assignment] = {}
    for team in sorted(teams):
        query = select(Assignment).where(Assignment.pilot_id == pilot.id, Assignment.unit_id == team).limit(1)
        existing = session.exec(query).first()
        if existing is not None:
            found[team] = existing
    return found


def _units_in_stratum(session: Session, pilot: Pilot, key: str) -> int:
    query = select(func.count(func.distinct(Assignment.unit_id))).where(
        Assignment.pilot_id == pilot.id, Assignment.stratum == key
    )
    return session.exec(query).one()
