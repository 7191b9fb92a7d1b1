"""The plain-language layer: sentences for each kind of outcome, rounding, p-values, margins."""

from __future__ import annotations

import pytest

from webui.pages import wording

ACCURACY = {
    "name": "accuracy",
    "role": "primary",
    "direction": "higher",
    "arms": [{"arm": "control", "mean": 0.9}, {"arm": "treatment", "mean": 0.89}],
}
CRITICAL = {
    "name": "critical_error_rate",
    "role": "guardrail",
    "direction": "lower",
    "arms": [{"arm": "control", "mean": 0.02}, {"arm": "treatment", "mean": 0.024}],
}


def _comparison(difference, low, high, **extra):
    return {"arm": "treatment", "difference": difference, "ci": [low, high], **extra}


def test_a_clear_worsening_is_called_one():
    text = wording.metric_sentence(ACCURACY, _comparison(-0.012, -0.02, -0.004))
    assert text.startswith("Accuracy went down by 1.2 points (95% interval \u22122.0 to \u22120.4 points)")
    assert text.endswith("That is a clear worsening.")


def test_no_change_and_noise():
    text = wording.metric_sentence(ACCURACY, _comparison(0.0001, -0.01, 0.01), level="90%")
    assert "Accuracy did not change (90% interval \u22121.0 to 1.0 points)" in text
    assert text.endswith("may still be noise.")


def test_a_futility_stop_says_more_weeks_would_not_help():
    text = wording.metric_sentence(ACCURACY, _comparison(-0.001, -0.02, 0.018, crossing="futility"))
    assert text.startswith("Accuracy went down by 0.1 points (95% interval \u22122.0 to 1.8 points)")
    assert "stopped here for futility" in text and text.endswith("would probably not change the answer.")


def test_guardrail_that_may_breach_its_margin():
    text = wording.metric_sentence(CRITICAL, _comparison(0.004, 0.001, 0.007), margin=0.005)
    assert "went up by 0.40 points (95% interval 0.10 to 0.70 points)" in text
    assert text.endswith("does not rule out a worsening bigger than the allowed margin of 0.5 points.")


def test_decimal_points_stay_plural():
    assert "went up by 1.0 points " in wording.metric_sentence(ACCURACY, _comparison(0.01, 0.0, 0.02))


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.62, "p = 0.62"), (0.0421, "p = 0.04"), (0.0042, "p = 0.004"), (0.00002, "p < 0.001"), (None, "")],
)
def test_p_values(value, text):
    assert wording.p_value(value) == text


def test_relative_margin_uses_the_control_mean():
    plan = [{"name": "critical_error_rate", "role": "guardrail", "margin": 0.25, "relative": True}]
    assert wording.resolve_margin(CRITICAL, plan) == pytest.approx(0.005)
    assert wording.resolve_margin(ACCURACY, plan) is None
    assert wording.resolve_margin(dict(CRITICAL, margin=0.003), plan) == pytest.approx(0.003)


def test_design_rows_are_labelled_in_order():
    rows = wording.design_rows({"min_days": 14, "method": "always_valid", "alpha": 0.05, "extra_flag": True})
    assert rows == [
        ("Method", "Always-valid (look any day)"),
        ("Significance level (alpha)", "0.05"),
        ("Minimum runtime (days)", "14"),
        ("Extra flag", "yes"),
    ]


def test_unknown_recommendation_is_not_a_verdict():
    assert wording.verdict("maybe").label == "No verdict"
    assert wording.interval_level({"alpha": 0.1}) == "90%"


def test_no_estimate_yet_gives_the_reason():
    comparison = {"arm": "treatment", "difference": None, "ci": [None, None], "message": "No planned look yet."}
    assert wording.metric_sentence(ACCURACY, comparison) == (
        "Accuracy: no comparison of the treatment group with control yet. No planned look yet."
    )


def test_estimate_without_interval_says_why():
    comparison = _comparison(0.012, None, None, p_value_reason="Information is degenerate at this look.")
    text = wording.metric_sentence(ACCURACY, comparison)
    assert text.startswith("Accuracy went up by 1.2 points in the treatment group, compared with control, so far.")
    assert text.endswith("Interval not yet available: Information is degenerate at this look.")
    assert wording.NO_INTERVAL in wording.metric_sentence(ACCURACY, _comparison(0.012, None, None))


def test_an_interval_that_misses_its_estimate_is_not_shown():
    text = wording.metric_sentence(ACCURACY, _comparison(0.023, 0.038, 0.017))
    assert "interval" in text and wording.INCONSISTENT in text and "3.8" not in text


def test_sentence_ends_never_round_to_zero():
    text = wording.metric_sentence(ACCURACY, _comparison(0.033, 0.0041, 0.0595))
    assert "(95% interval 0.4 to 5.9 points)" in text and "clear improvement" in text


def test_number_of_nothing():
    assert wording.number(None, 2) == "n/a"


def test_margin_from_the_engine_is_absolute():
    metric = dict(CRITICAL, margin=0.05, relative=True, comparisons=[{"non_inferiority": {"margin": 0.0012}}])
    assert wording.resolve_margin(metric, []) == pytest.approx(0.0012)
    metric = dict(CRITICAL, margin=0.25, relative=True)
    assert wording.resolve_margin(metric, []) == pytest.approx(0.005)


def test_audit_trail_actions_read_as_words():
    from webui.pages.wording import event_label

    assert event_label("pilot.launched") == "Launched: roster randomized, plan locked"
    assert event_label("outcomes.ingested") == "QA outcomes received"
    assert event_label("roster.something_new") == "Roster: something new"


def test_compact_writes_settings_as_people_do():
    written = [wording.compact(v) for v in (0.5, 5, 0.25, 148, 1036.4, -2500)]
    assert written == ["0.5", "5", "0.25", "148", "1,036", "\u22122,500"]
