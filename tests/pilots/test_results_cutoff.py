"""No outcome from before randomization counts as pilot data; a start date before the launch moves to the launch day;
simulated launches and joins; the information plan frozen at launch. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select

from pilots import lifecycle, rollups
from pilots.assignment.cutoff import data_from, launch_start_date
from pilots.errors import ValidationFailed
from pilots.models import Assignment, Event, Pilot
from pilots.models._time import utcnow
from pilots.planning.canonical import plan_hash, plan_matches
from pilots.results.document import build_document
from pilots.roster import add_late_joiners
from pilots.roster.upload import RosterRow
from tests.pilots.results_support import START, make_pilot, settings, write_unit_days

DAY = [3, 2, 3, 0, 3, 90.0, 2700.0]  # 3 audits (2 correct, no critical, 30 s each) in one moderator-day


def _rows(moderators, days) -> dict:
    return {(m, d.isoformat()): list(DAY) for m in moderators for d in days}


def _pilot_audits(document: dict) -> int:
    return sum(arm["audits"] for arm in document["metrics"][0]["arms"])


def test_the_cutoff_rule_counts_whole_days_from_the_assignment():
    assert data_from(datetime(2026, 3, 2, 0, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert data_from(datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)) == date(2026, 3, 3)
    assert data_from(datetime(2026, 3, 2, 23, 59)) == date(2026, 3, 3)  # naive times are UTC
    assert launch_start_date(date(2026, 3, 2), datetime(2026, 3, 12, 9, tzinfo=UTC)) == date(2026, 3, 12)
    assert launch_start_date(date(2026, 3, 20), datetime(2026, 3, 12, 9, tzinfo=UTC)) == date(2026, 3, 20)


def test_a_past_start_date_moves_to_the_launch_day_and_earlier_audits_are_not_pilot_data(session):
    """The launch roster: ten days of audits before the (real) launch are pre-period covariates, the launch day is
    set aside (randomized mid-day), and only later days are pilot data."""
    today = utcnow().date()
    sim = settings(n_moderators=40, start_date=today - timedelta(days=10), weeks=5)
    pilot_id, roster = make_pilot(session, sim, launch=False)
    lifecycle.launch_pilot(session, pilot_id, "pm-user")  # now: not simulated
    pilot = session.get(Pilot, pilot_id)
    session.refresh(pilot)
    assert pilot.start_date == today and pilot.registered_start_date == today - timedelta(days=10)
    assert pilot.simulated is False and plan_matches(pilot)
    launched = session.exec(select(Event).where(Event.action == "pilot.launched")).one()
    assert launched.details["start_date_moved"] == {
        "from": (today - timedelta(days=10)).isoformat(),
        "to": today.isoformat(),
    }
    moderators = roster.moderator_ids
    before = [today - timedelta(days=k) for k in range(1, 11)]
    after = [today + timedelta(days=k) for k in range(1, 4)]
    rows = _rows(moderators, [*before, today, *after])
    rollups.add(session.connection(), pilot_id, rows)
    session.commit()
    document = build_document(session, pilot_id)
    assert _pilot_audits(document) == 3 * len(moderators) * len(after)
    assert document["set_aside"]["audits"] == 3 * len(moderators)  # the launch day itself
    assert document["set_aside"]["late_joiner_audits"] == 0
    assert document["registered_start_date"] == (today - timedelta(days=10)).isoformat()
    assert any("was before the launch" in note for note in document["notes"])
    assert any("set aside" in note for note in document["notes"])
    units = {
        (r["moderator_id"], r["period"]): r["audits"]
        for r in rollups.units_table(_factory(session), pilot_id, today).rows()
    }
    assert units[(moderators[0], "pre")] == 3 * len(before)  # inside the pre-period window: covariates


def test_a_moved_start_that_breaks_the_plan_is_refused(session):
    today = utcnow().date()
    sim = settings(n_moderators=20, start_date=today - timedelta(days=40), weeks=6)  # ends in 2 days: < 14 left
    pilot_id, _ = make_pilot(session, sim, launch=False)
    with pytest.raises(ValidationFailed) as raised:
        lifecycle.launch_pilot(session, pilot_id, "pm-user")
    assert any(p["field"] == "end_date" for p in raised.value.details)
    session.rollback()
    assert session.get(Pilot, pilot_id).status == "draft"


def test_late_joiners_count_from_when_they_joined(session):
    sim = settings(n_moderators=40, weeks=4)
    pilot_id, roster = make_pilot(session, sim)
    joined = datetime.combine(START + timedelta(days=9), time(15, 30), tzinfo=UTC)
    late = [RosterRow(f"late-{k}", roster[0]["team"], roster[0]["site"], roster[0]["language"], 3.0) for k in range(4)]
    add_late_joiners(session, pilot_id, late, "pm-user", joined_at=joined)
    stored = session.exec(select(Assignment).where(Assignment.late_joiner == True)).all()  # noqa: E712
    assert {a.data_from for a in stored} == {START + timedelta(days=10)}
    days = [START + timedelta(days=k) for k in range(20)]
    launch_roster = roster.moderator_ids
    rollups.add(session.connection(), pilot_id, _rows([*launch_roster, *(r.moderator_id for r in late)], days))
    session.commit()
    document = build_document(session, pilot_id)
    assert _pilot_audits(document) == 3 * (len(launch_roster) * 20 + len(late) * 10)
    assert document["set_aside"] == {
        "audits": 3 * len(late) * 10,
        "units": len(late),
        "late_joiner_audits": 3 * len(late) * 10,
        "rule": document["set_aside"]["rule"],
    }


def test_a_simulated_join_needs_a_simulated_pilot_and_a_time_after_its_launch(session):
    sim = settings(n_moderators=20, weeks=3)
    pilot_id, roster = make_pilot(session, sim)
    row = RosterRow("late-1", roster[0]["team"], roster[0]["site"], roster[0]["language"], 3.0)
    with pytest.raises(ValidationFailed) as raised:
        add_late_joiners(session, pilot_id, [row], "pm", joined_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert raised.value.details[0]["field"] == "joined_at"


def test_a_later_pre_period_upload_leaves_every_boundary_unchanged(session):
    """The variance model and the planned information schedule are frozen at launch, in the plan hash."""
    sim = settings(n_moderators=80, weeks=4, accuracy_effect_points=1.0)
    pilot_id, roster = make_pilot(session, sim, launch=False, method="group_sequential", looks=4)
    everyone_control = {m: "control" for m in roster.moderator_ids}
    write_unit_days(
        session,
        pilot_id,
        roster,
        sim,
        since=START - timedelta(days=7),
        arms=everyone_control,
        seed=3,
        through=START - timedelta(days=1),
    )
    lifecycle.launch_pilot(session, pilot_id, "tests", launched_at=datetime.combine(START, time(0), tzinfo=UTC))
    pilot = session.get(Pilot, pilot_id)
    session.refresh(pilot)
    assert pilot.information_plan["source"] == "pre_period" and plan_matches(pilot)
    write_unit_days(session, pilot_id, roster, sim, since=START, through=START + timedelta(days=20))
    first = build_document(session, pilot_id)
    write_unit_days(session, pilot_id, roster, sim, through=START - timedelta(days=8), arms=everyone_control, seed=4)
    second = build_document(session, pilot_id)
    assert first["information_plan"] == second["information_plan"] == "frozen_at_launch"
    for a, b in zip(first["metrics"][0]["comparisons"], second["metrics"][0]["comparisons"], strict=True):
        # Information fractions, and so the spending-function boundaries, are exactly the frozen ones; the reported
        # critical value is t-corrected with the estimate's own Welch degrees of freedom, which the adjustment moves
        # in the fifth digit (a property of the estimate, not of the plan).
        assert a["look"]["date"] == b["look"]["date"]
        assert a["look"]["information_fraction"] == b["look"]["information_fraction"]
        assert a["boundary"] == pytest.approx(b["boundary"], rel=1e-4)
        assert a["look"]["information_source"] == b["look"]["information_source"]
    # the pre-period upload did change the CUPED adjustment (so the comparison above is not vacuous)
    assert first["metrics"][0]["comparisons"][0]["difference"] != second["metrics"][0]["comparisons"][0]["difference"]
    session.refresh(pilot)
    assert plan_matches(pilot)
    pilot.information_plan = {**pilot.information_plan, "units": {"control": 1, "treatment": 1}}
    assert plan_hash(pilot) != pilot.plan_hash  # the frozen plan is inside the hash


def test_pilots_launched_before_plans_were_frozen_keep_working(session):
    sim = settings(n_moderators=60, weeks=3)
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim)
    pilot = session.get(Pilot, pilot_id)
    pilot.information_plan = None
    pilot.plan_hash = plan_hash(pilot)
    session.commit()
    document = build_document(session, pilot_id)
    assert document["information_plan"] == "fitted_at_each_look"
    assert document["metrics"][0]["comparisons"][0]["look"]["information_source"] in ("planned", "observed")


def _factory(session):
    from sqlalchemy.orm import sessionmaker
    from sqlmodel import Session

    return sessionmaker(bind=session.get_bind(), class_=Session)


@pytest.mark.parametrize(("days", "alpha"), [(2, 0.15), (3, 0.2), (7, 0.5), (10, 0.5)])
def test_short_always_valid_pilots_with_a_large_alpha_give_results(session, days, alpha):
    """Too few looks to spend alpha: the engine spends what it can (and says so) instead of raising."""
    sim = settings(n_moderators=40, weeks=2, accuracy_effect_points=5.0)
    pilot_id, roster = make_pilot(session, sim, launch=False, min_days=1)
    pilot = session.get(Pilot, pilot_id)
    pilot.end_date = START + timedelta(days=days - 1)
    pilot.design = {**pilot.design, "alpha": alpha}
    session.commit()
    lifecycle.launch_pilot(session, pilot_id, "tests", launched_at=datetime.combine(START, time(0), tzinfo=UTC))
    write_unit_days(session, pilot_id, roster, sim)
    for day in range(days):
        document = build_document(session, pilot_id, START + timedelta(days=day))
        assert document["decision"]["recommendation"] in ("go", "no_go", "continue", "invalid")
    look = document["metrics"][0]["comparisons"][0]["look"]
    assert look is not None
    if days <= 3:  # a single daily look: at most about 0.14 can be spent, and the page says so
        assert "conservative" in look["message"]
