"""QA-domain results end to end: outcomes with policies, auditors and item ids through ingestion, then the results
document's policy / queue effects, auditor checks, adjusted estimate, critical-policy guardrail and QA health."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from analysis.ratio import RatioStats, compare
from pilots.models import Outcome
from pilots.results.document import build_document
from pilots.simulation.qa import QaScenario
from tests.pilots.results_support import START, assignment, ingest_audits, make_pilot, settings
from webui.database import sessions

CELL_KEYS = {"value", "arm", "units", "audits", "difference", "ci", "p_value", "q_value", "reason"}


def _document(app, session, sim, **pilot):
    pilot_id, roster = make_pilot(session, sim, **pilot)
    with app.app_context():
        factory = sessions()
    ingest_audits(factory, session, pilot_id, roster, sim)
    session.commit()
    document = build_document(session, pilot_id)
    json.dumps(document, allow_nan=False)
    return pilot_id, document


def _check(document, name):
    return next(c for c in document["checks"] if c["name"] == name)


def test_policy_cells_equal_a_direct_per_unit_computation_and_carry_bh_q_values(app, session):
    sim = settings(n_moderators=80, weeks=3, pre_weeks=1, qa=QaScenario(double_audit_share=0.1, grading_error=0.03))
    pilot_id, document = _document(app, session, sim)
    metric = document["metrics"][0]
    assert metric["by_policy"] and metric["by_queue"]
    assert all(set(row) >= CELL_KEYS for row in metric["by_policy"] + metric["by_queue"])
    arms = assignment(session, pilot_id)
    y, x = {}, {}
    for moderator, correct in session.exec(
        select(Outcome.moderator_id, Outcome.correct).where(
            Outcome.pilot_id == pilot_id, Outcome.day >= START, Outcome.policy == "spam"
        )
    ):
        x[moderator] = x.get(moderator, 0) + 1
        y[moderator] = y.get(moderator, 0) + bool(correct)
    stats = {
        arm: RatioStats.from_units([y[m] for m in x if arms[m] == arm], [x[m] for m in x if arms[m] == arm])
        for arm in ("control", "treatment")
    }
    direct = compare(stats["control"], stats["treatment"])
    spam = next(row for row in metric["by_policy"] if row["value"] == "spam")
    assert spam["difference"] == pytest.approx(direct.difference, abs=1e-12)
    assert spam["ci"] == pytest.approx([direct.ci.low, direct.ci.high], abs=1e-12)
    assert spam["audits"] == sum(x.values())
    assert all(row["q_value"] >= row["p_value"] for row in metric["by_policy"] if row["p_value"] is not None)
    assert "Descriptive" in metric["policy_note"]
    # Double audits: agreement with intervals, by arm and by auditor pair.
    agreement = document["qa_health"]["agreement"]
    assert agreement["items"] > 50
    assert 0 < agreement["ac1"] <= 1 and agreement["ac1_ci"][0] < agreement["ac1"]
    assert {row["arm"] for row in agreement["by_arm"]} == {"control", "treatment"}
    assert document["qa_health"]["auditors"][0].keys() >= {"auditor_id", "audits", "leniency", "ci"}
    adjusted = metric["comparisons"][0]["auditor_adjusted"]
    assert adjusted["difference"] is not None and "leniency" in adjusted["message"]
    assert _check(document, "auditor_balance")["ok"] is True
    assert _check(document, "auditor_blinding")["ok"] is True
    # What the grading noise costs: the share of a grade's variance (1 - alpha) and the detectable effect without it.
    cost = document["qa_health"]["measurement"]
    assert cost["grade_error_share"] == pytest.approx(1 - agreement["krippendorff_alpha"])
    assert 0 < cost["mde_without_noise"] < cost["mde"] < 0.2
    assert cost["mde"] / cost["mde_without_noise"] == pytest.approx(cost["mde_ratio"])
    assert 0 < cost["error_share"] < 1 and "error-free grading" in cost["message"]


def test_skewed_auditor_allocation_makes_the_verdict_invalid_and_the_adjustment_removes_the_bias(app, session):
    qa = QaScenario(leniency_sd_points=4.0, allocation="skewed", skew=0.9)
    sim = settings(n_moderators=120, weeks=4, pre_weeks=2, qa=qa)
    _, document = _document(app, session, sim)
    balance = _check(document, "auditor_balance")
    assert balance["ok"] is False and balance["p_value"] < 0.001
    assert "auditors" in balance["message"]
    assert document["decision"]["recommendation"] == "invalid"
    comparison = document["metrics"][0]["comparisons"][0]
    # No true effect: the raw difference is inflated by lenient auditors; the adjusted one is close to zero.
    assert comparison["raw"]["difference"] > 0.01
    assert abs(comparison["auditor_adjusted"]["difference"]) < comparison["raw"]["difference"] / 3
    assert "differs materially" in comparison["auditor_adjusted"]["message"]


def test_without_double_audits_agreement_is_null_with_a_reason(app, session):
    sim = settings(n_moderators=40, weeks=2, pre_weeks=1)
    _, document = _document(app, session, sim)
    assert document["qa_health"]["agreement"] is None
    assert "item_id" in document["qa_health"]["agreement_reason"]


def test_registered_critical_policy_harm_is_a_no_go_with_that_reason(app, session):
    qa = QaScenario(policy_effects_points=(("hate_speech", -12.0),))
    sim = settings(n_moderators=160, weeks=4, pre_weeks=1, accuracy_effect_points=1.0, qa=qa)
    metrics = [
        {
            "name": "accuracy",
            "role": "primary",
            "margin": None,
            "relative": False,
            "critical_policies": [{"policy": "hate_speech", "margin": 0.01, "relative": False}],
        }
    ]
    _, document = _document(app, session, sim, metrics=metrics)
    metric = document["metrics"][0]
    [segment] = metric["critical_policies"]
    assert segment["policy"] == "hate_speech" and segment["harmful"] is True
    assert document["decision"]["recommendation"] == "no_go"
    assert any("hate_speech" in reason for reason in document["decision"]["reasons"])
    harm = next(row for row in metric["by_policy"] if row["value"] == "hate_speech")
    assert harm["difference"] < -0.05 and harm["q_value"] < 0.05
    assert any(test["p_value"] is not None and test["p_value"] < 0.01 for test in metric["by_policy_heterogeneity"])
