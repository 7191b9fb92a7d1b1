"""CUPED for ratio metrics: ANCOVA on linearized values, unbiased, variance reduction ~ rho^2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from analysis import reasons
from analysis.cuped import UnitArrays, cuped_compare, linearized_covariate
from analysis.ratio import RatioStats, compare


def _pilot(rng: np.random.Generator, k: int, m: int, effect: float = 0.0, a=18.0, b=2.0):
    """Two arms of k moderators, m audits each in both periods, accuracy ~ Beta(a, b) per moderator
    shared by the pre-period and the pilot; treatment adds ``effect`` to accuracy."""
    p = rng.beta(a, b, (2, k))
    x = np.full((2, k), float(m))
    pre = rng.binomial(m, p).astype(float)
    post_p = np.clip(p + np.array([[0.0], [effect]]), 0, 1)
    y = rng.binomial(m, post_p).astype(float)
    return [UnitArrays.of(y[i], x[i], pre[i], x[i]) for i in range(2)]


def _linearized(arms: list[UnitArrays]):
    """Direct, independent computation of l and m for every unit, and arm labels."""
    l_all, m_all, arm = [], [], []
    pre_y = np.concatenate([a.pre_y for a in arms])
    pre_x = np.concatenate([a.pre_x for a in arms])
    r_pre = pre_y[pre_x > 0].sum() / pre_x[pre_x > 0].sum()
    for i, a in enumerate(arms):
        r = a.y.sum() / a.x.sum()
        for yi, xi, pyi, pxi in zip(a.y, a.x, a.pre_y, a.pre_x, strict=True):
            l_all.append((yi - r * xi) / a.x.mean())
            m_all.append((pyi - r_pre * pxi) / pre_x.mean() if pxi > 0 else 0.0)
            arm.append(i)
    return np.array(l_all), np.array(m_all), np.array(arm, dtype=float)


def test_theta_and_adjusted_difference_equal_ancova_on_linearized_values() -> None:
    """OLS l ~ 1 + arm + m: the m coefficient is theta and the arm coefficient is the adjustment
    added to the raw difference. Tolerance rel 1e-9 (floating point)."""
    rng = np.random.default_rng(7)
    arms = _pilot(rng, 30, 25, effect=0.02)
    arms[0] = UnitArrays.of(arms[0].y, arms[0].x + np.arange(30) % 3, arms[0].pre_y, arms[0].pre_x)
    res = cuped_compare(arms[0], arms[1])
    l_all, m_all, arm = _linearized(arms)
    fit = sm.OLS(l_all, np.column_stack([np.ones_like(arm), arm, m_all])).fit()
    assert res.reason is None
    assert res.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert res.adjusted.difference == pytest.approx(res.raw.difference + fit.params[1], rel=1e-9)
    expected = sm.OLS(l_all, np.column_stack([np.ones_like(arm), arm, m_all])).fit(cov_type="HC2").bse[1] ** 2
    assert res.adjusted.se**2 == pytest.approx(expected, rel=1e-9)
    assert res.variance_reduction == pytest.approx(1 - expected / res.raw.se**2, rel=1e-9)


def test_few_units_with_one_arm_all_correct_keep_an_honest_standard_error() -> None:
    """The issue's extreme case: 3 vs 3 moderators, treatment all correct in both periods. The in-sample slope used
    to shrink the adjusted standard error to a tenth of the raw one; the HC2 sandwich of the ANCOVA arm coefficient
    (statsmodels, the independent reference) keeps it at the raw one's size, and the df lose one for the slope."""
    control = UnitArrays.of([18, 19, 17], [20, 20, 20], [17, 19, 18], [20, 20, 20])
    treatment = UnitArrays.of([20, 22, 19], [20, 22, 19], [21, 18, 20], [21, 18, 20])
    res = cuped_compare(control, treatment)
    l_all, m_all, arm = _linearized([control, treatment])
    fit = sm.OLS(l_all, np.column_stack([np.ones_like(arm), arm, m_all])).fit(cov_type="HC2")
    assert res.adjusted.se == pytest.approx(fit.bse[1], rel=1e-9)
    assert res.adjusted.se >= res.raw.se
    assert res.adjusted.p_value > res.raw.p_value > 0.05
    assert res.adjusted.df < res.raw.df


def test_without_a_covariate_effect_hc2_is_the_welch_variance_and_df_lose_one() -> None:
    """A covariate that is pure noise: HC2 of the arm coefficient is close to Welch, and with equal arms and spread
    the df approach K - 3 (one fewer than the raw comparison's K - 2)."""
    rng = np.random.default_rng(11)
    k = 40
    p = np.full((2, k), 0.9)
    x = np.full((2, k), 30.0)
    arms = [UnitArrays.of(rng.binomial(30, p[i]), x[i], rng.binomial(30, p[i]), x[i]) for i in range(2)]
    res = cuped_compare(*arms)
    assert res.adjusted.df == pytest.approx(res.raw.df * (2 * k - 3) / (2 * k - 2), rel=0.1)
    assert res.adjusted.df < 2 * k - 3 + 1e-9
    assert res.adjusted.se == pytest.approx(res.raw.se, rel=0.1)


def test_raw_part_is_the_plain_ratio_comparison() -> None:
    arms = _pilot(np.random.default_rng(1), 20, 10)
    res = cuped_compare(arms[0], arms[1])
    assert res.raw == compare(*(RatioStats.from_units(a.y, a.x) for a in arms))


def _rho_squared(a: float, b: float, m: int) -> float:
    """Unit-level correlation of pre and post accuracy with m audits each and p ~ Beta(a, b):
    rho = Var(p) / (Var(p) + E[p(1-p)] / m)."""
    mean = a / (a + b)
    var_p = a * b / ((a + b) ** 2 * (a + b + 1))
    within = (mean - var_p - mean**2) / m
    return (var_p / (var_p + within)) ** 2


def test_unbiased_and_variance_reduction_matches_rho_squared() -> None:
    """600 seeded pilots, 50 moderators per arm, 40 audits each period, Beta(9, 1) accuracy
    (rho^2 ~ 0.54). The adjusted estimate's mean is the true effect within 3 MC standard errors;
    its sampling variance is (1 - rho^2) of the raw one within 0.06, and the reported
    variance_reduction averages rho^2 within 0.05."""
    rng = np.random.default_rng(2024)
    a, b, m, effect = 9.0, 1.0, 40, -0.01
    raw, adj, red = [], [], []
    for _ in range(600):
        res = cuped_compare(*_pilot(rng, 50, m, effect, a, b))
        raw.append(res.raw.difference)
        adj.append(res.adjusted.difference)
        red.append(res.variance_reduction)
    raw, adj = np.array(raw), np.array(adj)
    rho2 = _rho_squared(a, b, m)
    assert abs(adj.mean() - effect) < 3 * adj.std(ddof=1) / math.sqrt(len(adj))
    assert 1 - adj.var(ddof=1) / raw.var(ddof=1) == pytest.approx(rho2, abs=0.06)
    assert np.mean(red) == pytest.approx(rho2, abs=0.05)


def test_adjusted_interval_coverage() -> None:
    """Coverage of the adjusted 95% interval over 500 seeded null pilots: 0.95 +- 0.025."""
    rng = np.random.default_rng(99)
    hits = sum(cuped_compare(*_pilot(rng, 50, 30)).adjusted.ci.contains(0.0) for _ in range(500))
    assert abs(hits / 500 - 0.95) < 0.025


def test_units_without_pre_period_keep_unadjusted_value() -> None:
    """Five units per arm lack history: their covariate is 0 (adjusted value = raw value) and the
    result still equals ANCOVA on the linearized values with m = 0 for them."""
    rng = np.random.default_rng(3)
    no_pre = [UnitArrays.of(a.y, a.x, a.pre_y, np.where(np.arange(25) < 5, 0.0, a.pre_x)) for a in _pilot(rng, 25, 20)]
    ms = linearized_covariate([a.pre_y for a in no_pre], [a.pre_x for a in no_pre])
    assert all(np.all(m[:5] == 0.0) and np.all(m[5:] != 0.0) for m in ms)
    res = cuped_compare(*no_pre)
    l_all, m_all, arm = _linearized(no_pre)
    fit = sm.OLS(l_all, np.column_stack([np.ones_like(arm), arm, m_all])).fit()
    assert res.reason is None
    assert res.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert res.adjusted.difference == pytest.approx(res.raw.difference + fit.params[1], rel=1e-9)
    assert res.variance_reduction > 0


def test_no_pre_period_skips_adjustment() -> None:
    arms = _pilot(np.random.default_rng(4), 10, 10)
    bare = [UnitArrays.of(a.y, a.x, np.zeros(10), np.zeros(10)) for a in arms]
    res = cuped_compare(*bare)
    assert res.reason == reasons.NO_PRE_PERIOD
    assert res.adjusted is res.raw and res.theta == 0.0 and res.variance_reduction == 0.0


def test_constant_covariate_skips_adjustment() -> None:
    arms = _pilot(np.random.default_rng(5), 10, 10)
    flat = [UnitArrays.of(a.y, a.x, a.x * 0.9, a.x) for a in arms]
    res = cuped_compare(*flat)
    assert res.reason == reasons.CONSTANT_COVARIATE
    assert res.message == reasons.MESSAGES[reasons.CONSTANT_COVARIATE]


def test_degenerate_raw_comparison_passes_through() -> None:
    one = UnitArrays.of([3.0], [4.0], [2.0], [4.0])
    other = _pilot(np.random.default_rng(6), 5, 10)[1]
    res = cuped_compare(one, other)
    assert res.reason == reasons.SINGLE_UNIT
    assert res.adjusted.reason == reasons.SINGLE_UNIT


def test_tuples_accepted_and_inputs_validated() -> None:
    arms = _pilot(np.random.default_rng(8), 6, 10)
    as_tuples = [(a.y, a.x, a.pre_y, a.pre_x) for a in arms]
    assert cuped_compare(*as_tuples).theta == cuped_compare(*arms).theta
    with pytest.raises(ValueError, match="pre_x must be one-dimensional"):
        UnitArrays.of([1, 2], [1, 2], [1, 2], [1])
    with pytest.raises(ValueError, match="non-negative"):
        UnitArrays.of([1, 2], [1, 2], [1, 2], [1, -2])
    with pytest.raises(ValueError, match="alpha"):
        cuped_compare(*arms, alpha=2.0)
    with pytest.raises(ValueError, match="arms must be"):
        cuped_compare([1, 2], arms[1])
