"""End-to-end results on simulated pilots stored through the real tables (roster -> launch -> rollups / ingestion)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from sqlmodel import select

from analysis.ratio import RatioStats, compare
from pilots.models import Outcome
from pilots.results import results_document, service
from pilots.results.document import build_document
from pilots.roster import add_late_joiners
from pilots.roster.upload import RosterRow
from tests.pilots.results_support import START, assignment, ingest_audits, make_pilot, settings, write_unit_days
from webui.database import sessions

GUARDRAILS = [
    {"name": "accuracy", "role": "primary"},
    {"name": "critical_error_rate", "role": "guardrail", "margin": 0.004},
]


def _safe(document: dict) -> dict:
    json.dumps(document, allow_nan=False)  # never NaN / Infinity
    return document


def test_no_effect_pilot_is_not_go_and_srm_ok(session):
    sim = settings()
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim)
    document = _safe(build_document(session, pilot_id))
    assert document["decision"]["recommendation"] != "go"
    assert document["srm"]["ok"] is True
    assert sum(document["srm"]["counts"].values()) == 120
    comparison = document["metrics"][0]["comparisons"][0]
    assert comparison["adjusted"] is True
    assert comparison["ci"][0] <= 0 <= comparison["ci"][1]
    assert len(comparison["history"]) == document["runtime_days"] - 2  # daily looks from day 3


def test_strong_effect_goes_with_the_effect_inside_the_interval(session):
    sim = settings(accuracy_effect_points=3.0)
    pilot_id, roster = make_pilot(session, sim, metrics=GUARDRAILS)
    write_unit_days(session, pilot_id, roster, sim)
    document = _safe(build_document(session, pilot_id))
    assert document["decision"]["recommendation"] == "go", document["decision"]
    accuracy = document["metrics"][0]["comparisons"][0]
    assert accuracy["significant"] and accuracy["crossing"] == "up"
    assert accuracy["ci"][0] <= 0.03 <= accuracy["ci"][1]
    assert accuracy["cuped"]["variance_reduction"] > 0
    guard = document["metrics"][1]["comparisons"][0]["non_inferiority"]
    assert guard["non_inferior"] is True


def test_group_sequential_pilot_uses_planned_reviews(session):
    sim = settings(accuracy_effect_points=3.0)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=3)
    write_unit_days(session, pilot_id, roster, sim, through=START + timedelta(days=30))
    document = _safe(build_document(session, pilot_id))
    assert document["design"]["look_dates"] == ["2026-03-15", "2026-03-29", "2026-04-12"]
    comparison = document["metrics"][0]["comparisons"][0]
    assert [point["date"] for point in comparison["history"]] == ["2026-03-15", "2026-03-29"][
        : len(comparison["history"])
    ]
    assert comparison["look"]["information_source"] in ("planned", "observed")
    assert document["decision"]["recommendation"] in ("go", "continue")


def test_raw_difference_equals_direct_computation_from_raw_outcomes(app, session):
    sim = settings(n_moderators=40, weeks=3, pre_weeks=2, accuracy_effect_points=1.0)
    pilot_id, roster = make_pilot(session, sim)
    with app.app_context():
        factory = sessions()
    assert ingest_audits(factory, session, pilot_id, roster, sim) > 2000
    session.commit()  # end the read snapshot taken before the ingestion service wrote
    document = _safe(build_document(session, pilot_id))
    arms = assignment(session, pilot_id)
    y = {m: 0.0 for m in arms}
    x = {m: 0.0 for m in arms}
    for moderator, correct in session.exec(
        select(Outcome.moderator_id, Outcome.correct).where(Outcome.pilot_id == pilot_id, Outcome.day >= START)
    ):
        x[moderator] += 1
        y[moderator] += bool(correct)
    stats = {
        arm: RatioStats.from_units([y[m] for m in arms if arms[m] == arm], [x[m] for m in arms if arms[m] == arm])
        for arm in ("control", "treatment")
    }
    direct = compare(stats["control"], stats["treatment"])
    raw = document["metrics"][0]["comparisons"][0]["raw"]
    assert raw["difference"] == pytest.approx(direct.difference, abs=1e-9)
    assert raw["ci"] == pytest.approx([direct.ci.low, direct.ci.high], abs=1e-9)
    arm_rows = {row["arm"]: row for row in document["metrics"][0]["arms"]}
    assert arm_rows["control"]["audits"] == stats["control"].sum_x


def _comparable(document: dict) -> dict:
    return {key: value for key, value in document.items() if key not in ("pilot_id", "as_of", "data_version")}


def test_as_of_equals_a_pilot_that_only_had_data_until_then(session):
    sim = settings(accuracy_effect_points=1.5)
    cut = START + timedelta(days=19)
    full_id, roster = make_pilot(session, sim)
    write_unit_days(session, full_id, roster, sim)
    partial_id, _ = make_pilot(session, sim)
    write_unit_days(session, partial_id, roster, sim, through=cut)
    as_of = _safe(build_document(session, full_id, cut))
    assert as_of["as_of"] == cut.isoformat() and as_of["data_through"] <= cut.isoformat()
    assert _comparable(as_of) == _comparable(build_document(session, partial_id))


def test_guardrail_violation_is_no_go_naming_the_guardrail(session):
    sim = settings(critical_effect_relative=1.5)
    pilot_id, roster = make_pilot(session, sim, metrics=GUARDRAILS)
    write_unit_days(session, pilot_id, roster, sim)
    document = _safe(build_document(session, pilot_id))
    assert document["decision"]["recommendation"] == "no_go"
    assert any("Critical error rate" in reason for reason in document["decision"]["reasons"])
    guard = document["metrics"][1]["comparisons"][0]["non_inferiority"]
    assert guard["harmful"] is True


def test_an_arm_whose_outcomes_never_arrive_is_invalid_even_with_twenty_moderators(session):
    """10 control moderators audited, none of the 10 treatment ones: the SRM check on audited units alone (10 vs 0,
    p = 0.0016) would pass; audit coverage against the assignment fails and the verdict says why."""
    sim = settings(n_moderators=20)
    pilot_id, roster = make_pilot(session, sim, strata=[])
    write_unit_days(session, pilot_id, roster, sim, keep=lambda m, arm: arm == "control")
    document = _safe(build_document(session, pilot_id))
    assert document["srm"]["counts"]["treatment"] == 0 and document["srm"]["ok"] is True
    coverage = next(c for c in document["checks"] if c["name"] == "audit_coverage")
    assert coverage["ok"] is False and coverage["p_value"] < 0.001
    assert document["decision"]["recommendation"] == "invalid"
    assert any("audit coverage" in reason for reason in document["decision"]["reasons"])


def test_broken_sample_ratio_is_invalid(session):
    sim = settings(accuracy_effect_points=3.0)
    pilot_id, roster = make_pilot(session, sim)
    dropped = {m for k, m in enumerate(sorted(roster.moderator_ids)) if k % 2 == 0}
    write_unit_days(session, pilot_id, roster, sim, keep=lambda m, arm: arm == "control" or m not in dropped)
    document = _safe(build_document(session, pilot_id))
    assert document["decision"]["recommendation"] == "invalid"
    assert document["srm"]["ok"] is False
    assert document["srm"]["p_value"] < 0.001


def test_cache_hit_does_not_recompute_and_a_new_batch_invalidates(session, monkeypatch):
    calls = []
    real = service.build_document

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "build_document", counting)
    sim = settings()
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim, through=START + timedelta(days=13))
    first = results_document(session, pilot_id)
    again = results_document(session, pilot_id)
    assert len(calls) == 1 and again == first
    as_of = results_document(session, pilot_id, date(2026, 3, 10))
    assert len(calls) == 2 and as_of["as_of"] == "2026-03-10"
    write_unit_days(session, pilot_id, roster, sim, seed=9)  # a new batch bumps data_version
    session.expire_all()
    fresh = results_document(session, pilot_id)
    assert len(calls) == 3 and fresh["data_version"] == first["data_version"] + 1
    results_document(session, pilot_id)
    assert len(calls) == 3
    results_document(session, pilot_id, use_cache=False)
    assert len(calls) == 4
    assert np.isfinite(fresh["srm"]["p_value"])


def test_late_joiners_make_cached_results_stale(session):
    sim = settings()
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim, through=START + timedelta(days=13))
    before = results_document(session, pilot_id)
    joiner = RosterRow("late-1", roster[0]["team"], roster[0]["site"], roster[0]["language"], 3.0)
    add_late_joiners(session, pilot_id, [joiner], "pm-user")
    session.expire_all()
    after = results_document(session, pilot_id)
    assert after["data_version"] == before["data_version"] + 1
    assert sum(after["srm"]["assigned"].values()) == sum(before["srm"]["assigned"].values()) + 1
