"""Data-quality checks against scipy references and hand-computed SMDs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis import reasons
from analysis.checks import (
    BOSCHLOO_MAX_UNITS,
    attrition,
    audit_coverage,
    audit_rate_balance,
    covariate_balance,
    sample_ratio_mismatch,
    smd_numeric,
    smd_proportion,
)
from analysis.unconditional import boschloo


@pytest.mark.parametrize(
    ("counts", "weights"),
    [
        ({"control": 50, "treatment": 50}, {"control": 1, "treatment": 1}),
        ({"control": 61, "treatment": 39}, {"control": 1, "treatment": 1}),
        ({"control": 40, "a": 75, "b": 85}, {"control": 1, "a": 2, "b": 2}),
        ({"control": 5000, "treatment": 5300}, {"control": 1, "treatment": 1}),
    ],
)
def test_srm_matches_scipy_chisquare(counts: dict, weights: dict) -> None:
    arms = sorted(weights)
    obs = np.array([counts[a] for a in arms])
    w = np.array([weights[a] for a in arms])
    ref = stats.chisquare(obs, obs.sum() * w / w.sum())
    res = sample_ratio_mismatch(counts, weights)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.ok == (ref.pvalue >= 0.001)


def test_srm_flags_a_broken_split_in_words() -> None:
    res = sample_ratio_mismatch({"control": 5000, "treatment": 5400}, {"control": 1, "treatment": 1})
    assert not res.ok and "mismatch" in res.message.lower()
    assert sample_ratio_mismatch({"c": 49, "t": 51}, {"c": 1, "t": 1}).ok


def test_audit_coverage_is_fisher_on_audited_vs_assigned() -> None:
    """An arm whose outcomes never arrive: 10 of 10 vs 0 of 10 audited. The SRM check on audited units (10 vs 0,
    chi-square p = 0.0016) passes the 0.001 bar; coverage against the assignment does not."""
    assert sample_ratio_mismatch({"control": 10, "treatment": 0}, {"control": 1, "treatment": 1}).ok
    res = audit_coverage({"control": 10, "treatment": 10}, {"control": 10, "treatment": 0})
    ref = stats.fisher_exact([[10, 0], [0, 10]])
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12) and not res.ok
    assert "control 10 of 10, treatment 0 of 10 have audits" in res.message
    three = {"c": 40, "a": 40, "b": 40}
    seen = {"c": 30, "a": 28, "b": 12}
    ref3 = stats.chi2_contingency([[30, 10], [28, 12], [12, 28]], correction=False)
    res3 = audit_coverage(three, seen)
    assert res3.p_value == pytest.approx(ref3.pvalue, rel=1e-12) and not res3.ok


def test_audit_coverage_early_days_and_degenerate_inputs() -> None:
    assert audit_coverage({"c": 10, "t": 10}, {"c": 3, "t": 0}).ok  # day one: 3 audits, all in control
    assert audit_coverage({"c": 10, "t": 10}, {"c": 10, "t": 10}).p_value == 1.0
    nothing = audit_coverage({"c": 10, "t": 10}, {"c": 0, "t": 0})
    assert nothing.ok and nothing.reason == reasons.TOO_FEW_UNITS
    with pytest.raises(ValueError, match="between 0 and assigned"):
        audit_coverage({"c": 1, "t": 1}, {"c": 2, "t": 0})


def test_srm_input_checks() -> None:
    with pytest.raises(ValueError, match="same arms"):
        sample_ratio_mismatch({"c": 1, "t": 2}, {"c": 1})
    with pytest.raises(ValueError, match="threshold"):
        sample_ratio_mismatch({"c": 1, "t": 2}, {"c": 1, "t": 1}, threshold=1.5)
    empty = sample_ratio_mismatch({"c": 0, "t": 0}, {"c": 1, "t": 1})
    assert empty.ok and empty.reason == reasons.TOO_FEW_UNITS


def test_audit_rate_two_arms_is_welch() -> None:
    rng = np.random.default_rng(1)
    c, t = rng.gamma(10, 2, 40), rng.gamma(10, 2.6, 40)
    res = audit_rate_balance({"control": c, "treatment": t})
    ref = stats.ttest_ind(t, c, equal_var=False)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert not res.ok and "biased" in res.message


def test_audit_rate_three_arms_is_kruskal() -> None:
    rng = np.random.default_rng(2)
    samples = {a: rng.gamma(10, 2, 30) for a in ("a", "b", "control")}
    res = audit_rate_balance(samples)
    ref = stats.kruskal(*(samples[a] for a in sorted(samples)))
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.ok


def test_audit_rate_false_alarm_rate() -> None:
    """Balanced QA sampling, 50 moderators per arm, skewed rates: flag rate 0.01 +- 0.015 (600)."""
    rng = np.random.default_rng(3)
    flags = sum(not audit_rate_balance({"c": rng.gamma(3, 5, 50), "t": rng.gamma(3, 5, 50)}).ok for _ in range(600))
    assert abs(flags / 600 - 0.01) < 0.015


def test_audit_rate_constant_and_tiny() -> None:
    assert audit_rate_balance({"c": [10, 10], "t": [10, 10]}).p_value == 1.0
    assert audit_rate_balance({"c": [10], "t": [9, 11]}).reason == reasons.TOO_FEW_UNITS


def test_attrition_two_arms_is_boschloo_exact() -> None:
    res = attrition({"control": 50, "treatment": 50}, {"control": 2, "treatment": 12})
    ref = stats.boschloo_exact([[12, 2], [38, 48]], n=64)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    assert res.p_value < stats.fisher_exact([[12, 38], [2, 48]]).pvalue
    assert res.statistic == pytest.approx(0.24 - 0.04)
    assert not res.ok and "different rates" in res.message


def test_attrition_large_arms_is_fisher_exact_doubled() -> None:
    """Beyond BOSCHLOO_MAX_UNITS units in an arm the check reads Fisher's exact test (twice the smaller one-sided
    p-value): Boschloo's table of every outcome would be 25,001 x 25,001 here (5 GB; such a pilot's results once
    took 95 s)."""
    res = attrition({"control": 25_000, "treatment": 24_000}, {"control": 300, "treatment": 380})
    table = [[380, 24_000 - 380], [300, 25_000 - 300]]
    one_sided = min(
        stats.fisher_exact(table, alternative="greater").pvalue, stats.fisher_exact(table, alternative="less").pvalue
    )
    assert res.p_value == pytest.approx(2 * one_sided, rel=1e-12)
    assert res.p_value < 0.001 and not res.ok
    assert attrition({"c": 5_000, "t": 5_000}, {"c": 0, "t": 0}).p_value == 1.0


def test_attrition_uses_boschloo_up_to_the_limit() -> None:
    n = BOSCHLOO_MAX_UNITS
    res = attrition({"control": n, "treatment": n}, {"control": 3, "treatment": 14})
    assert res.p_value == pytest.approx(boschloo(14, n, 3, n).p_value, rel=1e-12)
    fisher = stats.fisher_exact([[14, n - 14], [3, n - 3]], alternative="greater").pvalue
    assert res.p_value < 2 * fisher  # the unconditional test is the more powerful one


def test_attrition_three_arms_and_edge_cases() -> None:
    units, gone = {"a": 40, "b": 40, "c": 40}, {"a": 3, "b": 4, "c": 5}
    res = attrition(units, gone)
    table = [[3, 37], [4, 36], [5, 35]]
    assert res.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    assert res.ok
    assert attrition({"c": 10, "t": 10}, {"c": 0, "t": 0}).p_value == 1.0
    with pytest.raises(ValueError, match="inactive"):
        attrition({"c": 10, "t": 10}, {"c": 11, "t": 0})


def test_smd_formulas_by_hand() -> None:
    """c = [1, 2, 3] (var 1), t = [2, 3, 4, 5] (var 5/3): SMD = 1.5 / sqrt(4/3)."""
    assert smd_numeric([1, 2, 3], [2, 3, 4, 5]) == pytest.approx(1.5 / math.sqrt(4 / 3))
    assert smd_proportion(0.5, 0.6) == pytest.approx(0.1 / math.sqrt(0.49 / 2))
    assert smd_numeric([2, 2], [2, 2]) == 0.0
    assert smd_numeric([2, 2], [3, 3]) == math.inf


def test_covariate_balance_numeric_and_categorical() -> None:
    arms = np.array(["c", "c", "c", "c", "t", "t", "t", "t"])
    tenure = np.array([1.0, 2, 3, 4, 1, 2, 3, 4])
    site = np.array(["MNL", "MNL", "DUB", "DUB", "MNL", "MNL", "MNL", "DUB"])
    res = covariate_balance(arms, {"tenure": tenure, "site": site}, control="c")
    by_key = {(r.attribute, r.level): r.smd for r in res.rows}
    assert by_key[("tenure", None)] == 0.0
    assert by_key[("site", "MNL")] == pytest.approx(smd_proportion(0.5, 0.75))
    assert by_key[("site", "DUB")] == pytest.approx(smd_proportion(0.5, 0.25))
    assert not res.ok and "site=MNL" in res.message
    assert res.statistic == pytest.approx(abs(smd_proportion(0.5, 0.75)))
    assert math.isnan(res.p_value)


def test_covariate_balance_passes_for_well_mixed_roster() -> None:
    rng = np.random.default_rng(4)
    tenure = rng.gamma(2, 12, 4000)
    arms = np.where(rng.permutation(4000) < 2000, "control", "treatment")
    res = covariate_balance(arms, {"tenure_months": tenure}, control="control")
    assert res.ok and res.statistic < 0.1
    with pytest.raises(ValueError, match="control"):
        covariate_balance(arms, {"x": tenure}, control="nobody")


def test_p_values_in_messages_stop_at_one_in_ten_thousand():
    assert [reasons.p_text(p) for p in (0.83, 0.0011, 0.0001, 9.6e-39)] == [
        "p = 0.83",
        "p = 0.0011",
        "p = 0.0001",
        "p < 0.0001",
    ]
