"""Lifecycle service functions on a real database: transitions, the plan lock, atomicity and the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from pilots import lifecycle
from pilots.errors import Conflict, NotFound, ValidationFailed
from pilots.events import history
from pilots.models import Assignment, Pilot, RosterEntry
from pilots.planning.canonical import plan_hash, plan_matches, verify_plan
from pilots.schemas import PilotCreate, PilotUpdate

LAUNCH = datetime(2024, 3, 4, tzinfo=UTC)  # simulation mode at the start date: the plans below are in the past

PLAN = {
    "name": "Policy refresher",
    "kind": "training",
    "layer": "training",
    "strata": ["site"],
    "metrics": [{"name": "accuracy"}, {"name": "critical_error_rate", "role": "guardrail", "margin": 0.01}],
    "start_date": "2024-03-04",
    "end_date": "2024-04-01",
}


def new_pilot(session, **changes) -> Pilot:
    return lifecycle.create_pilot(session, PilotCreate.model_validate_json(json.dumps(PLAN | changes)), "alice")


def roster(session, pilot: Pilot, ids=("a1", "a2", "a3", "a4"), **fields) -> None:
    for moderator in ids:
        values = {"site": "dublin"} | fields
        session.add(RosterEntry(pilot_id=pilot.id, moderator_id=moderator, **values))
    session.commit()


def test_create_stores_a_draft_with_owner_and_event(session):
    pilot = new_pilot(session)
    assert pilot.id is not None and pilot.status == "draft" and pilot.owner == "alice"
    assert pilot.design["min_days"] == 14
    assert pilot.arms[0] == {"name": "control", "weight": 1, "display_name": "Control"}
    assert pilot.seed is None  # drawn at launch
    [event] = history(session, pilot.id)
    assert (event.action, event.actor) == ("pilot.created", "alice")


def test_update_records_what_changed(session):
    pilot = new_pilot(session)
    seed = pilot.seed
    lifecycle.update_pilot(session, pilot.id, PilotUpdate(seed=5, design={"looks": 3}), "bob")
    session.expire_all()
    stored = session.get(Pilot, pilot.id)
    assert stored.seed == 5 and stored.design["looks"] == 3 and stored.design["alpha"] == 0.05
    event, seed_set = history(session, pilot.id)[-2:]
    assert event.action == "pilot.updated" and event.actor == "bob"
    assert event.details["fields"] == ["design", "seed"]
    assert event.details["before"]["seed"] == seed and event.details["after"]["seed"] == 5
    assert (seed_set.action, seed_set.actor, seed_set.details) == ("pilot.seed_set", "bob", {"seed": 5})


def test_invalid_update_changes_nothing(session):
    pilot = new_pilot(session)
    with pytest.raises(ValidationFailed) as raised:
        lifecycle.update_pilot(session, pilot.id, PilotUpdate(end_date="2024-03-01"), "bob")
    assert raised.value.details[0]["field"] == "end_date"
    session.expire_all()
    assert session.get(Pilot, pilot.id).end_date.isoformat() == "2024-04-01"
    assert len(history(session, pilot.id)) == 1


def test_launch_locks_the_plan(session):
    pilot = new_pilot(session)
    roster(session, pilot)
    launched = lifecycle.launch_pilot(session, pilot.id, "carol", launched_at=LAUNCH)
    assert launched.status == "running" and launched.launched_at is not None
    assert launched.plan_hash == plan_hash(launched) and plan_matches(launched)
    verify_plan(launched)
    assert len(session.exec(select(Assignment).where(Assignment.pilot_id == pilot.id)).all()) == 4
    event = history(session, pilot.id)[-1]
    assert event.action == "pilot.launched" and event.details["plan_hash"] == launched.plan_hash
    assert event.details["units"] == 4 and sum(event.details["moderators_by_arm"].values()) == 4
    with pytest.raises(Conflict, match="locked"):
        lifecycle.update_pilot(session, pilot.id, PilotUpdate(name="x"), "carol")
    with pytest.raises(Conflict, match="launched once"):
        lifecycle.launch_pilot(session, pilot.id, "carol", launched_at=LAUNCH)


def test_failed_launch_writes_nothing(session):
    pilot = new_pilot(session)
    roster(session, pilot, site="")
    with pytest.raises(ValidationFailed):
        lifecycle.launch_pilot(session, pilot.id, "carol", launched_at=LAUNCH)
    session.expire_all()
    assert session.get(Pilot, pilot.id).status == "draft"
    assert session.get(Pilot, pilot.id).plan_hash is None
    assert session.exec(select(Assignment).where(Assignment.pilot_id == pilot.id)).all() == []
    assert [e.action for e in history(session, pilot.id)] == ["pilot.created"]


def test_layer_conflict_blocks_launch(session):
    first, second = new_pilot(session), new_pilot(session, name="Second refresher")
    roster(session, first)
    roster(session, second, ids=("a4", "a5"))
    lifecycle.launch_pilot(session, first.id, "carol", launched_at=LAUNCH)
    with pytest.raises(Conflict):
        lifecycle.launch_pilot(session, second.id, "carol", launched_at=LAUNCH)
    session.expire_all()
    assert session.get(Pilot, second.id).status == "draft"


def test_conclude_transitions(session):
    pilot = new_pilot(session)
    with pytest.raises(Conflict, match="only a running pilot"):
        lifecycle.conclude_pilot(session, pilot.id, "dan")
    roster(session, pilot)
    lifecycle.launch_pilot(session, pilot.id, "carol", launched_at=LAUNCH)
    concluded = lifecycle.conclude_pilot(session, pilot.id, "dan", note="stop")
    assert concluded.status == "concluded" and concluded.concluded_at >= concluded.launched_at
    verify_plan(concluded)
    assert history(session, pilot.id)[-1].details["note"] == "stop"
    with pytest.raises(Conflict):
        lifecycle.conclude_pilot(session, pilot.id, "dan")


@pytest.mark.parametrize("pilot_id", [0, -1, 2**31, 10**30, 424242])
def test_get_unknown_or_out_of_range_is_not_found(session, pilot_id):
    with pytest.raises(NotFound):
        lifecycle.get_pilot(session, pilot_id)


def test_list_and_public_counts(session):
    pilots = [new_pilot(session, name=f"p{i}") for i in range(3)]
    roster(session, pilots[0])
    lifecycle.launch_pilot(session, pilots[0].id, "carol", launched_at=LAUNCH)
    page, total = lifecycle.list_pilots(session, status="draft", limit=1)
    assert total == 2 and [p.id for p in page] == [pilots[2].id]
    public = lifecycle.to_public(session, [pilots[0], pilots[1]])
    assert (public[0].roster_size, public[0].assigned_units) == (4, 4)
    assert (public[1].roster_size, public[1].assigned_units) == (0, 0)
