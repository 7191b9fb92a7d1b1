"""Results on awkward pilots: no data, empty arm, one unit, all-correct audits, drafts, teams, many arms."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import update

from analysis.spending import pocock
from pilots import rollups
from pilots.errors import Conflict, ValidationFailed
from pilots.models import Pilot
from pilots.models._time import utcnow
from pilots.results.document import build_document
from tests.pilots.results_support import START, assignment, make_pilot, settings, write_unit_days


def _safe(document: dict) -> dict:
    json.dumps(document, allow_nan=False)
    return document


def _write(session, pilot_id: int, sums: dict) -> None:
    rollups.add(session.connection(), pilot_id, sums)
    session.execute(update(Pilot).where(Pilot.id == pilot_id).values(data_version=Pilot.data_version + 1))
    session.commit()


def test_pilot_without_outcomes_is_provisional_continue(session):
    pilot_id, _ = make_pilot(session, settings(n_moderators=20), pre_period=False)
    document = _safe(build_document(session, pilot_id))
    assert document["data_through"] is None
    assert document["decision"]["recommendation"] == "continue"
    assert document["decision"]["provisional"] is True
    assert "No QA audits" in document["decision"]["reasons"][0]
    comparison = document["metrics"][0]["comparisons"][0]
    assert comparison["difference"] is None and comparison["ci"] == [None, None]
    assert comparison["reason"] == "no_look_yet"


def test_empty_arm_single_unit_and_all_correct_audits_stay_finite(session):
    pilot_id, _ = make_pilot(session, settings(n_moderators=20), pre_period=False)
    arms = assignment(session, pilot_id)
    control = sorted(m for m, arm in arms.items() if arm == "control")
    treatment = sorted(m for m, arm in arms.items() if arm == "treatment")
    day = START.isoformat()
    _write(session, pilot_id, {(m, day): [10, 10, 10, 0, 10, 400.0, 16000.0] for m in control})
    empty = _safe(build_document(session, pilot_id))
    comparison = empty["metrics"][0]["comparisons"][0]
    assert comparison["reason"] == "empty_arm" and comparison["p_value"] is None
    assert empty["srm"]["counts"]["treatment"] == 0
    assert empty["decision"]["recommendation"] in ("continue", "invalid")  # 10 vs 0 is p = 0.0016 > 0.001
    _write(
        session, pilot_id, {(treatment[0], (START + timedelta(days=1)).isoformat()): [10, 10, 10, 0, 10, 400.0, 1.6e4]}
    )
    single = _safe(build_document(session, pilot_id))
    assert single["metrics"][0]["comparisons"][0]["reason"] == "single_unit"
    _write(
        session,
        pilot_id,
        {(m, (START + timedelta(days=2)).isoformat()): [10, 10, 10, 0, 10, 400.0, 1.6e4] for m in treatment[1:]},
    )
    perfect = _safe(build_document(session, pilot_id))
    accuracy = perfect["metrics"][0]["comparisons"][0]
    assert accuracy["reason"] == "zero_variance" and accuracy["difference"] == 0.0
    assert perfect["decision"]["recommendation"] != "go"


def test_draft_pilot_is_a_conflict_and_early_as_of_is_rejected(session):
    sim = settings(n_moderators=20)
    pilot_id, _ = make_pilot(session, sim)
    with pytest.raises(ValidationFailed) as error:
        build_document(session, pilot_id, START - timedelta(days=1))
    assert error.value.details[0]["field"] == "as_of"
    draft = Pilot(
        **{**session.get(Pilot, pilot_id).model_dump(exclude={"id", "status", "plan_hash"}), "status": "draft"}
    )
    session.add(draft)
    session.commit()
    with pytest.raises(Conflict):
        build_document(session, draft.id)


def test_team_pilot_analyses_teams_with_a_randomization_test(session):
    sim = settings(n_moderators=150, accuracy_effect_points=2.0)
    pilot_id, roster = make_pilot(session, sim, unit="team", strata=[])
    write_unit_days(session, pilot_id, roster, sim)
    document = _safe(build_document(session, pilot_id))
    teams = len({row["team"] for row in roster})
    assert sum(document["srm"]["assigned"].values()) == teams
    comparison = document["metrics"][0]["comparisons"][0]
    randomization = comparison["randomization"]
    assert 0 < randomization["p_value"] <= 1 and randomization["n_resamples"] == 999
    assert any("Teams were randomized" in note for note in document["notes"])
    # Read sequentially at the weekly reviews (always-valid), its one-sided level spent over them, Pocock-type.
    reviews = [date.fromisoformat(d) for d in randomization["reviews"]]
    assert reviews and all((d - START).days % 7 == 6 for d in reviews[:-1])
    assert reviews[-1] <= date.fromisoformat(document["data_through"])
    spent = randomization["level_spent"]
    assert len(spent) == len(reviews) and spent == sorted(spent) and spent[-1] <= 0.025 + 1e-12
    assert spent[0] == pytest.approx(pocock(np.array([7 / _planned_days(session, pilot_id)]), 0.025)[0])
    crossed = randomization["crossed_up"] or randomization["crossed_down"]
    assert crossed is None or crossed in randomization["reviews"]
    if comparison["crossing"] in ("up", "down"):
        side = "crossed_up" if comparison["crossing"] == "up" else "crossed_down"
        assert randomization["confirms"] == (randomization[side] is not None)


def test_team_pilot_reads_each_review_once_its_audits_have_settled(session):
    """A review's randomization test is read from a week after it (late audits of its days have arrived by then), so
    a results page read every day sees each review's statistics once they no longer change."""
    sim = settings(n_moderators=150, weeks=6)
    pilot_id, roster = make_pilot(session, sim, unit="team", strata=[])
    write_unit_days(session, pilot_id, roster, sim)
    read = {}
    for day in (19, 20, 26, 27):
        document = build_document(session, pilot_id, START + timedelta(days=day), keep=False)
        read[day] = document["metrics"][0]["comparisons"][0]["randomization"]["reviews"]
    weekly = [(START + timedelta(days=d)).isoformat() for d in (6, 13, 20)]
    assert read[19] == weekly[:1] and read[20] == weekly[:2]
    assert read[26] == weekly[:2] and read[27] == weekly[:3]


def _planned_days(session, pilot_id: int) -> int:
    pilot = session.get(Pilot, pilot_id)
    return (pilot.end_date - pilot.start_date).days + 1


def test_several_arms_and_primaries_split_alpha(session):
    sim = settings(n_moderators=90, arms=("control", "a", "b"), accuracy_effect_points=3.0, weeks=4)
    arms = [{"name": "control", "weight": 1}, {"name": "a", "weight": 1}, {"name": "b", "weight": 1}]
    metrics = [{"name": "accuracy", "role": "primary"}, {"name": "handle_time", "role": "primary"}]
    pilot_id, roster = make_pilot(session, sim, arms=arms, metrics=metrics, method="group_sequential")
    write_unit_days(session, pilot_id, roster, sim)
    document = _safe(build_document(session, pilot_id))
    assert document["multiplicity"]["arms"] == "bonferroni"
    assert document["multiplicity"]["primaries"] == "holm"
    assert document["multiplicity"]["alpha_per_arm"] == pytest.approx(0.025)
    for metric in document["metrics"]:
        assert [c["arm"] for c in metric["comparisons"]] == ["a", "b"]
        for comparison in metric["comparisons"]:
            assert comparison["alpha"] in (pytest.approx(0.0125), pytest.approx(0.025))
    weeks = document["metrics"][0]["by_week"]
    assert {row["arm"] for row in weeks} == {"a", "b"} and weeks[0]["label"].startswith("descriptive")
    assert document["metrics"][0]["heterogeneity"][0]["segment"] == "site"


def test_as_of_after_the_end_is_the_full_pilot(session):
    sim = settings(n_moderators=30, weeks=3)
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim)
    late = build_document(session, pilot_id, utcnow().date())  # after the end (and no later than today)
    assert late["end_reached"] is True and late["data_through"] == build_document(session, pilot_id)["data_through"]
