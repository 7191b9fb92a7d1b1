"""Notes beside each result: pre-pilot adjustment, guardrail status, robustness check, review schedule."""

from __future__ import annotations

from webui.pages import explain

ACCURACY = {"name": "accuracy", "label": "Accuracy", "direction": "higher"}
CRITICAL = {"name": "critical_error_rate", "label": "Critical error rate", "direction": "lower"}


def test_adjustment_names_the_variance_reduction():
    comparison = {"adjusted": True, "cuped": {"theta": 0.4, "variance_reduction": 0.18}}
    assert explain.adjustment(ACCURACY, comparison).startswith(
        "Adjusted for pre-pilot accuracy (variance reduced by 18%)"
    )
    skipped = {"adjusted": False, "cuped": {"variance_reduction": None, "message": "No pre-period audits."}}
    assert explain.adjustment(ACCURACY, skipped) == "Not adjusted for pre-pilot accuracy: No pre-period audits."
    assert explain.adjustment(ACCURACY, {}) is None


def test_guardrail_states():
    met = {"arm": "b", "non_inferiority": {"non_inferior": True, "harmful": False, "margin": 0.005}}
    assert explain.guardrail(CRITICAL, met) == (
        "pass",
        "Guardrail met: any worsening is smaller than the allowed margin of 0.5 points.",
    )
    breached = {"arm": "b", "non_inferiority": {"non_inferior": False, "harmful": True, "margin": 0.005}}
    assert explain.guardrail(CRITICAL, breached)[0] == "fail"
    pending = {"arm": "b", "non_inferiority": {"non_inferior": False, "harmful": False, "margin": None}}
    css, text = explain.guardrail(CRITICAL, pending)
    assert css == "pending" and "not ruled out yet" in text
    assert explain.guardrail(CRITICAL, {"arm": "b"}) is None


def test_robustness_check_is_secondary():
    read = {"p_value": 0.513, "n_resamples": 999, "reviews": ["2026-03-08", "2026-03-15"]}
    text = explain.robustness({"randomization": read})
    assert text == (
        "Robustness check: a randomization test (re-running the random assignment 999 times; read at 2 reviews so "
        "far, its error rate spent over them) has not crossed, so on its own it does not confirm a real difference; "
        "at the latest data alone it gives p = 0.51."
    )
    crossed = explain.robustness({"randomization": {**read, "p_value": 0.004, "crossed_up": "2026-03-15"}})
    assert "crossed upwards on 2026-03-15, which supports a real difference" in crossed
    harm = {**read, "null_difference": 0.005, "crossed_up": "2026-03-08"}
    assert "showed harm beyond the margin on 2026-03-08" in explain.robustness({"randomization": harm})
    assert "not available" in explain.robustness({"randomization": {"p_value": None, "reason": "empty_arm"}})
    assert explain.robustness({}) is None


def test_review_schedule():
    design = {
        "method": "group_sequential",
        "look_dates": ["2026-10-30", "2026-11-08", "2026-11-17", "2026-11-27"],
        "looks_taken": 3,
        "next_look": "2026-11-27",
    }
    document = {"design": design, "runtime_days": 35, "min_days": 14, "end_reached": False}
    assert explain.reviews(document) == (
        "Review 3 of 4 done (on 2026-11-17). Next planned review: 2026-11-27 (review 4 of 4). 35 days of data so far."
    )
    before = dict(document, design=dict(design, looks_taken=0, next_look="2026-10-30"), runtime_days=5)
    assert explain.reviews(before).startswith("The first of 4 planned reviews is on 2026-10-30")
    assert explain.reviews({"design": {"method": "always_valid"}}).startswith("Results may be checked any day")
    assert explain.reviews({}) is None
    decided = dict(document, decision={"recommendation": "no_go", "decided_on": "2026-11-20"})
    assert explain.reviews(decided) == (
        "Review 3 of 4 done (on 2026-11-17). Later reviews are descriptive follow-up: the decision is made. "
        "35 days of data so far."
    )
    stopped = dict(document, stopped_early_on="2026-11-20")
    assert explain.reviews(stopped) == "Review 3 of 4 done (on 2026-11-17). 35 days of data so far."
    stopped_first = dict(before, stopped_early_on="2026-10-25")
    assert explain.reviews(stopped_first).startswith(
        "The pilot was stopped before its first planned review (2026-10-30), so there is no design-valid interval."
    )
