"""Ratio metrics: delta method vs direct computation, Welch t-test, cluster-robust OLS, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis import reasons
from analysis.ratio import (
    ConfidenceInterval,
    RatioStats,
    compare,
    difference_from_estimates,
    welch_df,
)

Y_C = np.array([18.0, 25, 9, 30, 14, 22])
X_C = np.array([20.0, 28, 12, 31, 15, 25])
Y_T = np.array([19.0, 27, 10, 12, 29])
X_T = np.array([20.0, 28, 11, 13, 30])


def _delta_direct(y: np.ndarray, x: np.ndarray) -> float:
    """The METHODS.md formula, computed unit by unit."""
    k = len(y)
    r = y.sum() / x.sum()
    return float(np.sum((y - r * x) ** 2) / (k * (k - 1) * x.mean() ** 2))


def _delta_moments(y: np.ndarray, x: np.ndarray) -> float:
    """Deng et al. (2018) textbook form with (K-1)-denominator sample moments."""
    k = len(y)
    cov = np.cov(y, x, ddof=1)
    xb, yb = x.mean(), y.mean()
    return float((cov[0, 0] / xb**2 - 2 * yb / xb**3 * cov[0, 1] + yb**2 / xb**4 * cov[1, 1]) / k)


def test_variance_equals_direct_and_moment_forms() -> None:
    s = RatioStats.from_units(Y_C, X_C)
    assert s.n == 6
    assert s.mean == pytest.approx(Y_C.sum() / X_C.sum(), rel=1e-15)
    assert s.variance() == pytest.approx(_delta_direct(Y_C, X_C), rel=1e-10)
    assert s.variance() == pytest.approx(_delta_moments(Y_C, X_C), rel=1e-10)


def test_pooling_by_addition_matches_concatenation() -> None:
    a = RatioStats.from_units(Y_C, X_C)
    b = RatioStats.from_units(Y_T, X_T)
    both = RatioStats.from_units(np.r_[Y_C, Y_T], np.r_[X_C, X_T])
    pooled = a + b
    assert pooled.n == both.n
    for field in ("sum_y", "sum_x", "sum_y2", "sum_x2", "sum_xy"):
        assert getattr(pooled, field) == pytest.approx(getattr(both, field), rel=1e-15)
    assert a + RatioStats.empty() == a


def test_units_without_audits_are_excluded() -> None:
    s = RatioStats.from_units([3, 0, 4], [5, 0, 6])
    assert s.n == 2
    assert s == RatioStats.from_units([3, 4], [5, 6])


def test_one_audit_per_unit_reduces_to_welch_t_test() -> None:
    """With x_i = 1 the ratio is a plain mean and the comparison is exactly Welch's t-test."""
    rng = np.random.default_rng(3)
    yc, yt = rng.normal(10, 2, 12), rng.normal(11, 4, 9)
    d = compare(RatioStats.from_units(yc, np.ones(12)), RatioStats.from_units(yt, np.ones(9)))
    ref = stats.ttest_ind(yt, yc, equal_var=False)
    ref_ci = ref.confidence_interval(0.95)
    assert d.reason is None
    assert d.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert d.df == pytest.approx(ref.df, rel=1e-10)
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert d.ci.low == pytest.approx(ref_ci.low, rel=1e-10)
    assert d.ci.high == pytest.approx(ref_ci.high, rel=1e-10)


def test_welch_df_formula_and_limits() -> None:
    assert welch_df(1.0, 11, 1.0, 11) == pytest.approx(20.0)
    assert welch_df(0.0, 5, 2.0, 9) == pytest.approx(8.0)
    assert welch_df(0.0, 5, 0.0, 9) == math.inf
    assert math.isnan(welch_df(1.0, 1, 1.0, 5))


def _per_audit_frame(rng: np.random.Generator, k_c: int, k_t: int):
    """Per-audit binary outcomes, unequal audits per unit, unit-level accuracy heterogeneity."""
    k = k_c + k_t
    audits = rng.integers(3, 60, k)
    p = rng.beta(18, 2, k)
    arm = np.r_[np.zeros(k_c), np.ones(k_t)]
    unit = np.repeat(np.arange(k), audits)
    outcome = (rng.random(audits.sum()) < np.repeat(p, audits)).astype(float)
    y = np.bincount(unit, weights=outcome, minlength=k)
    return outcome, np.repeat(arm, audits), unit, y, audits.astype(float), arm


def test_delta_se_equals_cluster_robust_cr0_times_small_sample_factor() -> None:
    """OLS of the per-audit outcome on an arm dummy reproduces both ratios; its CR0 cluster-robust
    variance per arm is sum_i (y_i - R x_i)^2 / sum_x^2, i.e. the delta variance times (K-1)/K.

    Exact relation: Var_delta(R_t - R_c) = K_c/(K_c-1) V0_c + K_t/(K_t-1) V0_t, where V0_c is the
    CR0 intercept variance and V0_t = V0(slope) - V0_c. Tolerance: rel 1e-9 (floating point only).
    """
    rng = np.random.default_rng(11)
    k_c, k_t = 23, 31
    outcome, arm_audit, unit, y, x, arm = _per_audit_frame(rng, k_c, k_t)
    fit = sm.OLS(outcome, sm.add_constant(arm_audit)).fit(
        cov_type="cluster", cov_kwds={"groups": unit, "use_correction": False}
    )
    c = RatioStats.from_units(y[arm == 0], x[arm == 0])
    t = RatioStats.from_units(y[arm == 1], x[arm == 1])
    d = compare(c, t)
    assert fit.params[0] == pytest.approx(c.mean, rel=1e-12)
    assert fit.params[1] == pytest.approx(d.difference, rel=1e-10)
    v0_c = fit.cov_params()[0, 0]
    v0_t = fit.cov_params()[1, 1] - v0_c
    assert c.variance() == pytest.approx(k_c / (k_c - 1) * v0_c, rel=1e-9)
    assert t.variance() == pytest.approx(k_t / (k_t - 1) * v0_t, rel=1e-9)
    assert d.se**2 == pytest.approx(k_c / (k_c - 1) * v0_c + k_t / (k_t - 1) * v0_t, rel=1e-9)


def test_equal_arms_se_equals_statsmodels_default_cluster_se_up_to_its_factor() -> None:
    """With K units per arm the delta SE^2 is K/(K-1) x CR0. statsmodels' default (CR1) multiplies
    CR0 by G/(G-1) (N-1)/(N-2) with G = 2K clusters and N audits; we undo both factors exactly."""
    rng = np.random.default_rng(5)
    k = 40
    outcome, arm_audit, unit, y, x, _ = _per_audit_frame(rng, k, k)
    fit = sm.OLS(outcome, sm.add_constant(arm_audit)).fit(cov_type="cluster", cov_kwds={"groups": unit})
    g, n = 2 * k, len(outcome)
    cr0 = fit.bse[1] ** 2 / (g / (g - 1) * (n - 1) / (n - 2))
    d = compare(RatioStats.from_units(y[:k], x[:k]), RatioStats.from_units(y[k:], x[k:]))
    assert d.se**2 == pytest.approx(k / (k - 1) * cr0, rel=1e-9)


def test_relative_lift_delta_method_and_log_interval() -> None:
    c, t = RatioStats.from_units(Y_C, X_C), RatioStats.from_units(Y_T, X_T)
    d = compare(c, t, alpha=0.1)
    rc, rt, vc, vt = c.mean, t.mean, c.variance(), t.variance()
    assert d.relative == pytest.approx(rt / rc - 1, rel=1e-12)
    assert d.relative_se == pytest.approx(math.sqrt(vt / rc**2 + rt**2 * vc / rc**4), rel=1e-12)
    q = stats.t.ppf(0.95, d.df)
    half = q * math.sqrt(vt / rt**2 + vc / rc**2)
    assert d.relative_ci_form == "log"
    assert d.relative_ci.low == pytest.approx(rt / rc * math.exp(-half) - 1, rel=1e-10)
    assert d.relative_ci.high == pytest.approx(rt / rc * math.exp(half) - 1, rel=1e-10)
    assert d.relative_ci.contains(d.relative)


def test_zero_treatment_mean_falls_back_to_ratio_form() -> None:
    d = compare(RatioStats.from_units([1, 3, 0], [10, 10, 10]), RatioStats.from_units([0, 0], [5, 9]))
    assert d.reason is None
    assert d.relative == -1.0
    assert d.relative_ci_form == "ratio"
    assert d.relative_ci.low == pytest.approx(-1 - stats.t.ppf(0.975, d.df) * d.relative_se)


def test_degenerate_inputs_return_reasons_not_exceptions() -> None:
    good = RatioStats.from_units(Y_T, X_T)
    empty = compare(RatioStats.empty(), good)
    assert empty.reason == reasons.EMPTY_ARM and math.isnan(empty.p_value)
    assert empty.message == reasons.MESSAGES[reasons.EMPTY_ARM]
    no_audits = compare(RatioStats(3, 0.0, 0.0, 0.0, 0.0, 0.0), good)
    assert no_audits.reason == reasons.NO_AUDITS
    single = compare(RatioStats.from_units([4], [5]), good)
    assert single.reason == reasons.SINGLE_UNIT
    assert single.difference == pytest.approx(good.mean - 0.8)
    assert math.isnan(single.se) and math.isnan(single.ci.low)


def test_all_correct_audits_in_both_arms_give_no_difference() -> None:
    d = compare(RatioStats.from_units([5, 7, 9], [5, 7, 9]), RatioStats.from_units([3, 4], [3, 4]))
    assert d.reason == reasons.ZERO_VARIANCE
    assert (d.difference, d.se, d.p_value, d.relative) == (0.0, 0.0, 1.0, 0.0)
    assert d.ci == ConfidenceInterval(0.0, 0.0)


def test_zero_variance_unequal_means_follows_scipy() -> None:
    d = compare(RatioStats.from_units([5, 5], [10, 10]), RatioStats.from_units([8, 4], [10, 5]))
    assert d.reason == reasons.ZERO_VARIANCE
    assert d.difference == pytest.approx(0.3)
    assert d.p_value == 0.0


def test_one_arm_without_variance_is_regular() -> None:
    """Control all correct, treatment varies: df falls to K_t - 1, nothing degenerate."""
    d = compare(RatioStats.from_units([5, 7, 9], [5, 7, 9]), RatioStats.from_units(Y_T, X_T))
    assert d.reason is None
    assert d.df == pytest.approx(len(Y_T) - 1)


def test_zero_control_mean_keeps_absolute_difference() -> None:
    d = compare(RatioStats.from_units([0, 0, 0], [5, 7, 9]), RatioStats.from_units([1, 0], [3, 4]))
    assert d.reason == reasons.ZERO_CONTROL_MEAN
    assert d.difference == pytest.approx(1 / 7)
    assert math.isfinite(d.p_value) and math.isnan(d.relative)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_alpha_must_be_in_open_unit_interval(alpha: float) -> None:
    good = RatioStats.from_units(Y_T, X_T)
    with pytest.raises(ValueError, match="alpha"):
        compare(good, good, alpha=alpha)


def test_from_units_validates_inputs() -> None:
    with pytest.raises(ValueError, match="x must have the same shape"):
        RatioStats.from_units([1, 2], [1])
    with pytest.raises(ValueError, match="non-negative"):
        RatioStats.from_units([1, 2], [1, -1])
    with pytest.raises(ValueError, match="finite"):
        RatioStats.from_units([1, np.nan], [1, 1])
    with pytest.raises(ValueError, match="n must be"):
        RatioStats(-1, 0, 0, 0, 0, 0)


def test_coverage_with_clustered_binary_outcomes_and_naive_undercoverage() -> None:
    """50 moderators per arm, audits Poisson(30)+1, accuracy ~ Beta(18, 2) per moderator (ICC ~0.05,
    design effect ~2.4). 1,000 seeded pilots: the Welch/delta interval covers the true difference
    (0) at 0.95 +- 0.02 (MC SE 0.007); the naive per-audit binomial interval covers < 0.88."""
    rng = np.random.default_rng(20240601)
    n_sim, k = 1000, 50
    hits = naive_hits = rel_hits = 0
    for _ in range(n_sim):
        x = rng.poisson(30, (2, k)) + 1
        y = rng.binomial(x, rng.beta(18, 2, (2, k)))
        c, t = RatioStats.from_units(y[0], x[0]), RatioStats.from_units(y[1], x[1])
        d = compare(c, t)
        hits += d.ci.contains(0.0)
        rel_hits += d.relative_ci.contains(0.0)
        naive_se = math.sqrt(sum(s.mean * (1 - s.mean) / s.sum_x for s in (c, t)))
        naive_hits += abs(d.difference) <= 1.959964 * naive_se
    assert abs(hits / n_sim - 0.95) < 0.02
    assert abs(rel_hits / n_sim - 0.95) < 0.02
    assert naive_hits / n_sim < 0.88


def test_difference_from_estimates_is_the_compare_back_end() -> None:
    c, t = RatioStats.from_units(Y_C, X_C), RatioStats.from_units(Y_T, X_T)
    direct = difference_from_estimates(c.mean, c.variance(), c.n, t.mean, t.variance(), t.n)
    assert direct == compare(c, t)
    with pytest.raises(ValueError, match="control_var"):
        difference_from_estimates(0.5, -1.0, 5, 0.6, 0.1, 5)
    with pytest.raises(ValueError, match="control_n"):
        difference_from_estimates(0.5, 0.1, 1, 0.6, 0.1, 5)


def test_log_form_interval_too_wide_for_a_double_is_infinite_not_an_error():
    # An 8-team stress pilot with delayed outcomes: a tiny control mean with a large variance and Welch df near 1
    # put the upper end of the log-form relative interval beyond exp(709); math.expm1 raised and /results gave 500.
    from analysis.ratio import difference_from_estimates

    result = difference_from_estimates(0.01, 1.0, 2, 0.5, 0.01, 2)
    assert result.relative_ci.high == float("inf") and math.isfinite(result.relative_ci.low)
