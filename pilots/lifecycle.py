"""The pilot lifecycle: create and edit a draft, launch it (randomize and lock the plan), conclude it.

Each public function that changes state owns its unit of work: it takes the write lock, checks the pilot's status,
changes it, records an event with the actor in the same transaction and commits. Lookups never commit.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from pilots import access, decisions, events
from pilots.accounts import can
from pilots.assignment.cutoff import launch_start_date, utc
from pilots.assignment.randomization import randomize
from pilots.db import write_transaction
from pilots.errors import Conflict, ValidationFailed, problem
from pilots.lookup import get_pilot
from pilots.models import Assignment, Event, Pilot, RosterEntry, User
from pilots.models._time import utcnow
from pilots.planning.canonical import canonical_plan, plan_hash
from pilots.results import frozen
from pilots.schemas import PilotCreate, PilotPublic, PilotUpdate, problems_from
from pilots.schemas.fields import MAX_SEED
from pilots.schemas.horizon import ensure_supported_horizon


def list_pilots(
    session: Session, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Pilot], int]:
    """A page of pilots, newest first, and the total number matching `status`."""
    statement = select(Pilot)
    count = select(func.count()).select_from(Pilot)
    if status is not None:
        statement = statement.where(Pilot.status == status)
        count = count.where(Pilot.status == status)
    pilots = list(session.exec(statement.order_by(Pilot.id.desc()).offset(offset).limit(limit)))
    return pilots, session.exec(count).one()


def to_public(session: Session, pilots: list[Pilot]) -> list[PilotPublic]:
    """API views of `pilots`, with roster sizes and assigned-unit counts (two grouped queries for the whole list)."""
    ids = [pilot.id for pilot in pilots]
    collaborators = access.collaborators(session, ids)
    roster = dict(
        session.exec(
            select(RosterEntry.pilot_id, func.count())
            .where(RosterEntry.pilot_id.in_(ids))
            .group_by(RosterEntry.pilot_id)
        ).all()
    )
    units = dict(
        session.exec(
            select(Assignment.pilot_id, func.count(func.distinct(Assignment.unit_id)))
            .where(Assignment.pilot_id.in_(ids))
            .group_by(Assignment.pilot_id)
        ).all()
    )
    return [
        PilotPublic.model_validate(
            {
                **pilot.model_dump(),
                "collaborators": collaborators.get(pilot.id, []),
                "roster_size": roster.get(pilot.id, 0),
                "assigned_units": units.get(pilot.id, 0),
                "decision": decisions.decision_public(pilot),
            }
        )
        for pilot in pilots
    ]


def pilot_events(session: Session, pilot_id: int) -> list[Event]:
    """The pilot's audit trail, oldest first (404 for an unknown pilot)."""
    get_pilot(session, pilot_id)
    return events.history(session, pilot_id)


def create_pilot(session: Session, data: PilotCreate, actor: str) -> Pilot:
    """Register a draft pilot owned by the actor (or, when an admin named one, by `data.owner`). Who may set
    `owner` and `seed` is checked by the caller (`pilots.access.ensure_may_set`); a seed given here is recorded as
    set by hand."""
    with write_transaction(session):
        if data.owner is not None:
            _check_owner(session, data.owner)
        pilot = Pilot(**_columns(data), owner=data.owner or actor, status="draft")
        session.add(pilot)
        session.flush()
        events.record(session, actor, "pilot.created", pilot.id, plan=canonical_plan(pilot))
        if data.seed is not None:
            events.record(session, actor, "pilot.seed_set", pilot.id, seed=data.seed)
    return pilot


def update_pilot(session: Session, pilot_id: int, patch: PilotUpdate, actor: str) -> Pilot:
    """Apply a merge patch to a draft pilot (409 once launched). The merged plan is re-validated as a whole."""
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        _require_draft(pilot)
        data = _merged(pilot, patch)
        before = canonical_plan(pilot)
        for name, value in _columns(data).items():
            setattr(pilot, name, value)
        if data.owner is not None and data.owner != pilot.owner:
            _check_owner(session, data.owner)
            pilot.owner = data.owner
        after = canonical_plan(pilot)
        changed = sorted(name for name in after if after[name] != before[name])
        if changed:
            pilot.updated_at = utcnow()
            events.record(
                session,
                actor,
                "pilot.updated",
                pilot.id,
                fields=changed,
                before={name: before[name] for name in changed},
                after={name: after[name] for name in changed},
            )
        if "seed" in changed and pilot.seed is not None:
            events.record(session, actor, "pilot.seed_set", pilot.id, seed=pilot.seed)
    return pilot


def launch_pilot(session: Session, pilot_id: int, actor: str, launched_at: datetime | None = None) -> Pilot:
    """Randomize the roster, lock the plan (store its hash) and start the pilot.

    A start date already past at launch is moved to the launch day (`pilots.assignment.cutoff`), recorded in the
    audit trail (`start_date_moved`) and kept as `registered_start_date`; 422 naming `end_date` when the moved plan
    breaks a plan rule (the end date passed, or fewer days than `design.min_days` remain). The variance models and
    planned information schedule are frozen into the locked plan (`pilots.results.frozen`).

    `launched_at` (not in the future) is a simulated randomization time: only simulation mode passes it
    (the API refuses it otherwise), and the pilot is marked `simulated`. 409 unless the pilot is a draft, or when its
    moderators are in a running pilot of the same layer; 422 when the roster is empty, lacks a stratum attribute or
    leaves an arm without units (`pilots.assignment.randomization`), or when stored dates span more than the engine
    supports (`pilots.schemas.horizon`).
    Nothing is written unless everything succeeds.
    """
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        if pilot.status != "draft":
            raise Conflict(
                f"Pilot {pilot.id} is already {pilot.status}; a pilot is launched once.",
                {"status": pilot.status, "plan_hash": pilot.plan_hash},
            )
        seed_source = "set by hand" if pilot.seed is not None else "drawn at launch"
        if pilot.seed is None:
            pilot.seed = secrets.randbelow(MAX_SEED + 1)
        now = utcnow()
        launched_at = utc(launched_at) if launched_at is not None else None
        if launched_at is not None and launched_at > now:
            raise ValidationFailed(
                "A simulated launch time must be in the past.",
                [problem("launched_at", f"{launched_at.isoformat()} is in the future")],
            )
        at = launched_at or now
        registered = pilot.start_date
        start = launch_start_date(registered, at)
        if start != registered:
            _check_moved_start(pilot, start)
            pilot.start_date, pilot.registered_start_date = start, registered
        ensure_supported_horizon(pilot, "launched")
        assignments = randomize(session, pilot, at)
        pilot.status, pilot.launched_at, pilot.updated_at = "running", at, now
        pilot.simulated = launched_at is not None
        session.flush()
        pilot.information_plan = frozen.freeze(session, pilot)
        pilot.plan_hash = plan_hash(pilot)
        arms: dict[str, int] = {}
        for assignment in assignments:
            arms[assignment.arm] = arms.get(assignment.arm, 0) + 1
        extra: dict[str, Any] = {}
        if start != registered:
            extra["start_date_moved"] = {"from": registered.isoformat(), "to": start.isoformat()}
        if pilot.simulated:
            extra["simulated"] = True
            extra["launched_at"] = at.isoformat()
        events.record(
            session,
            actor,
            "pilot.launched",
            pilot.id,
            plan_hash=pilot.plan_hash,
            seed=pilot.seed,
            seed_source=seed_source,
            units=len({a.unit_id for a in assignments}),
            moderators_by_arm=arms,
            information_source=pilot.information_plan["source"],
            **extra,
        )
    return pilot


def _check_moved_start(pilot: Pilot, start) -> None:
    """422 (naming the field) when moving the start date to the launch day breaks a rule of the plan."""
    plan = {**canonical_plan(pilot), "start_date": start.isoformat()}
    try:
        PilotCreate.model_validate_json(json.dumps(plan))
    except ValidationError as error:
        raise ValidationFailed(
            f"The start date {pilot.start_date.isoformat()} is past, so launching now moves it to the launch day "
            f"{start.isoformat()}, and the plan no longer holds; edit the dates first.",
            problems_from(error),
        ) from error


def conclude_pilot(
    session: Session,
    pilot_id: int,
    actor: str,
    note: str | None = None,
    *,
    decision: str | None = None,
    rationale: str | None = None,
) -> Pilot:
    """End a running pilot (409 for a draft or an already concluded one). Its data and plan stay as they are.

    With a `decision` the pilot gets its decision record, beside the engine's recommendation at this moment; a
    decision that differs from it (or `stopped`) needs a `rationale` (422 naming it otherwise).
    """
    _require_running(get_pilot(session, pilot_id))
    recommendation, provisional = (None, None)
    if decision is not None:
        # Computed before the write lock: the results service may write its cache in its own transaction.
        recommendation, provisional = decisions.current_recommendation(session, pilot_id)
        decisions.check_rationale(decision, rationale, recommendation)
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        _require_running(pilot)
        now = utcnow()
        pilot.status, pilot.concluded_at, pilot.updated_at = "concluded", now, now
        if decision is not None:
            decisions.record(pilot, decision, rationale, actor, recommendation, provisional)
        events.record(
            session,
            actor,
            "pilot.concluded",
            pilot.id,
            note=note,
            plan_hash=pilot.plan_hash,
            **(
                {"decision": decision, "rationale": pilot.decision_rationale, "recommendation": recommendation}
                if decision is not None
                else {}
            ),
        )
    return pilot


def _require_running(pilot: Pilot) -> None:
    if pilot.status != "running":
        raise Conflict(
            f"Pilot {pilot.id} is {pilot.status}; only a running pilot can be concluded.", {"status": pilot.status}
        )


def _check_owner(session: Session, name: str) -> None:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None or not user.active or not can(user.role, "write"):
        raise ValidationFailed(
            "The owner must be an active pm or admin.", [problem("owner", f"no active pm or admin is named {name!r}")]
        )


def _require_draft(pilot: Pilot) -> None:
    if pilot.status != "draft":
        raise Conflict(
            f"Pilot {pilot.id} is {pilot.status}: its plan was locked at launch (plan_hash {pilot.plan_hash}) and "
            "cannot be edited.",
            {"status": pilot.status, "plan_hash": pilot.plan_hash},
        )


def _merged(pilot: Pilot, patch: PilotUpdate) -> PilotCreate:
    given = patch.model_dump(mode="json", exclude_unset=True)
    if "owner" in given and given["owner"] is None:
        raise ValidationFailed("The pilot could not be updated.", [problem("owner", "must not be null")])
    merged: dict[str, Any] = canonical_plan(pilot)
    if isinstance(given.get("design"), dict):
        given["design"] = {**merged["design"], **patch.design.model_dump(mode="json", exclude_unset=True)}
    merged.update(given)
    try:
        return PilotCreate.model_validate_json(json.dumps(merged))
    except ValidationError as error:
        raise ValidationFailed("The edited plan is invalid.", problems_from(error)) from error


def _columns(data: PilotCreate) -> dict[str, Any]:
    """The plan columns of the Pilot table from validated input (nested models stored as plain JSON)."""
    dumped = data.model_dump(mode="json")
    return {
        "name": data.name,
        "kind": data.kind,
        "hypothesis": data.hypothesis,
        "layer": data.layer,
        "unit": data.unit,
        "arms": dumped["arms"],
        "strata": list(data.strata),
        "seed": data.seed,
        "metrics": dumped["metrics"],
        "design": dumped["design"],
        "start_date": data.start_date,
        "end_date": data.end_date,
        "pre_period_start": data.pre_period_start,
    }
