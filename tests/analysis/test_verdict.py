"""Verdict rules of METHODS.md section 6 and the guardrail non-inferiority helper."""

import math

import pytest

from analysis.verdict import CheckSummary, PrimaryStatus, decide, non_inferiority

OK = [CheckSummary("sample_ratio", True, "Arms are balanced (p = 0.41).")]
ACC_UP = PrimaryStatus("accuracy", "up", "higher_is_better", "+1.2 points")


def _guard_ok():
    return non_inferiority("critical_error_rate", 0.001, -0.002, 0.004, "lower_is_better", 0.005)


def test_non_inferiority_lower_is_better_absolute():
    ok = _guard_ok()
    assert ok.non_inferior and not ok.harmful
    pending = non_inferiority("critical_error_rate", 0.003, -0.001, 0.007, "lower_is_better", 0.005)
    assert not pending.non_inferior and not pending.harmful
    assert "not yet shown" in pending.message
    harm = non_inferiority("critical_error_rate", 0.009, 0.006, 0.012, "lower_is_better", 0.005)
    assert harm.harmful and not harm.non_inferior
    assert "worse beyond its guardrail" in harm.message


def test_non_inferiority_higher_is_better_and_relative():
    # Accuracy must not drop more than 1 point: the lower bound decides.
    assert non_inferiority("accuracy", -0.002, -0.008, 0.004, "higher_is_better", 0.01).non_inferior
    assert non_inferiority("accuracy", -0.02, -0.03, -0.012, "higher_is_better", 0.01).harmful
    # Handle time may rise at most 5% of a 300 s control mean = 15 s.
    r = non_inferiority("handle_time", 9.0, 2.0, 16.0, "lower_is_better", 0.05, relative=True, control_mean=300.0)
    assert r.margin == pytest.approx(15.0)
    assert not r.non_inferior and not r.harmful
    assert non_inferiority(
        "handle_time", 5.0, 1.0, 14.0, "lower_is_better", 0.05, relative=True, control_mean=300.0
    ).non_inferior


def test_non_inferiority_input_checks_and_missing_data():
    with pytest.raises(ValueError, match="margin"):
        non_inferiority("x", 0, -1, 1, "lower_is_better", -0.1)
    with pytest.raises(ValueError, match="control_mean"):
        non_inferiority("x", 0, -1, 1, "lower_is_better", 0.1, relative=True)
    nan = non_inferiority("x", math.nan, math.nan, math.nan, "lower_is_better", 0.1)
    assert not nan.non_inferior and not nan.harmful and "not enough data" in nan.message


def test_failed_check_is_invalid_whatever_the_p_values():
    checks = [
        *OK,
        CheckSummary("audit_rate", False, "Treatment moderators were audited 30% more often."),
    ]
    v = decide(checks, [ACC_UP], [_guard_ok()], 30, 14, False)
    assert v.decision == "invalid"
    assert any("audited 30% more often" in r for r in v.reasons)


def test_go_needs_benefit_and_every_guardrail_non_inferior():
    v = decide(OK, [ACC_UP], [_guard_ok()], 30, 14, False)
    assert v.decision == "go" and not v.provisional
    assert any("accuracy (+1.2 points) improved significantly" in r for r in v.reasons)
    pending = non_inferiority("critical_error_rate", 0.003, -0.001, 0.007, "lower_is_better", 0.005)
    waiting = decide(OK, [ACC_UP], [pending], 30, 14, False)
    assert waiting.decision == "continue"
    assert any("Waiting on guardrails" in r for r in waiting.reasons)
    assert decide(OK, [ACC_UP], [pending], 42, 14, True).decision == "no_go"


def test_lower_is_better_primary_crossing_down_is_good():
    errors_down = PrimaryStatus("critical_error_rate", "down", "lower_is_better")
    assert decide(OK, [errors_down], [], 30, 14, False).decision == "go"
    errors_up = PrimaryStatus("critical_error_rate", "up", "lower_is_better")
    v = decide(OK, [errors_up], [], 30, 14, False)
    assert v.decision == "no_go" and "got significantly worse" in v.reasons[0]


def test_no_go_on_harm_futility_guardrail_harm_or_end_without_efficacy():
    harm_guard = non_inferiority("handle_time", 30.0, 20.0, 40.0, "lower_is_better", 15.0)
    assert decide(OK, [ACC_UP], [harm_guard], 30, 14, False).decision == "no_go"
    futile = PrimaryStatus("accuracy", "futility")
    v = decide(OK, [futile], [], 21, 14, False)
    assert v.decision == "no_go" and "futility" in v.reasons[0]
    none = PrimaryStatus("accuracy", "none")
    end = decide(OK, [none], [_guard_ok()], 42, 14, True)
    assert end.decision == "no_go" and "planned end was reached" in end.reasons[0]
    assert decide(OK, [none], [_guard_ok()], 20, 14, False).decision == "continue"


def test_provisional_before_minimum_runtime():
    v = decide(OK, [ACC_UP], [_guard_ok()], 5, 14, False)
    assert v.decision == "go" and v.provisional
    assert v.reasons[0].startswith("Provisional: the pilot has run 5 of at least 14 days")


def test_needs_a_primary():
    with pytest.raises(ValueError, match="primaries"):
        decide(OK, [], [], 1, 1, False)


def test_a_pilot_stopped_before_its_end_is_not_judged_as_if_it_ran_its_course():
    none = PrimaryStatus("accuracy", "none", summary="+0.4 points, interval -1.0 to +1.8")
    stopped = decide(OK, [none], [_guard_ok()], 10, 14, False, stopped=True)
    assert stopped.decision == "continue" and stopped.provisional
    assert stopped.reasons[1] == (
        "Stopped before a decision: the pilot was stopped before its planned end without a significant change in "
        "accuracy (+0.4 points, interval -1.0 to +1.8)."
    )
    assert not any("keep collecting" in r or "planned end was reached" in r for r in stopped.reasons)
    # A boundary crossed before the stop is still a decision; the planned end, when reached, decides as before.
    assert decide(OK, [ACC_UP], [_guard_ok()], 20, 14, False, stopped=True).decision == "go"
    assert decide(OK, [none], [_guard_ok()], 42, 14, True, stopped=True).decision == "no_go"


def test_a_crossing_waiting_for_confirmation_says_so():
    waiting = PrimaryStatus("accuracy", "none", summary="+2.6 points, interval +1.3 to +4.0", unconfirmed=True)
    running = decide(OK, [waiting], [_guard_ok()], 20, 14, False)
    assert running.decision == "continue"
    assert running.reasons[0] == (
        "accuracy (+2.6 points, interval +1.3 to +4.0) crossed its decision boundary, but the decision waits for the "
        "randomization test to confirm the crossing; keep collecting audits."
    )
    assert not any("No significant change" in r for r in running.reasons)
    end = decide(OK, [waiting], [_guard_ok()], 42, 14, True)
    assert end.decision == "no_go" and "did not confirm the crossing" in end.reasons[0]
    stopped = decide(OK, [waiting], [_guard_ok()], 20, 14, False, stopped=True)
    assert "had not confirmed the crossing when the pilot was stopped" in stopped.reasons[0]
