"""Multiplicity adjustments against statsmodels multipletests and scipy.stats.dunnett."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.multiplicity import (
    bonferroni,
    bonferroni_alpha,
    dunnett_adjust,
    dunnett_ratio,
    holm,
    many_to_one_correlation,
)
from analysis.ratio import RatioStats

P_CASES = [
    [0.01, 0.04, 0.03, 0.005],
    [0.2, 0.2, 0.01],
    [0.049, 0.051],
    [0.5],
    [0.001, 0.9, 0.02, 0.02, 0.3, 0.04],
]


@pytest.mark.parametrize("p", P_CASES)
def test_holm_matches_statsmodels(p: list[float]) -> None:
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    res = holm(p)
    np.testing.assert_allclose(res.adjusted, adjusted, rtol=1e-12)
    assert res.reject == tuple(bool(r) for r in reject)


@pytest.mark.parametrize("p", P_CASES)
def test_bonferroni_matches_statsmodels(p: list[float]) -> None:
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="bonferroni")
    res = bonferroni(p)
    np.testing.assert_allclose(res.adjusted, adjusted, rtol=1e-12)
    assert res.reject == tuple(bool(r) for r in reject)


def test_bonferroni_alpha_split() -> None:
    assert bonferroni_alpha(0.05, 2) == pytest.approx(0.025)
    with pytest.raises(ValueError, match="n_comparisons"):
        bonferroni_alpha(0.05, 0)


def test_input_checks() -> None:
    with pytest.raises(ValueError, match="p_values"):
        holm([0.1, 1.2])
    with pytest.raises(ValueError, match="p_values"):
        holm([])
    with pytest.raises(ValueError, match="alpha"):
        holm([0.1], alpha=0)
    with pytest.raises(ValueError, match="correlation"):
        dunnett_adjust([1.0, 2.0], np.eye(3))
    with pytest.raises(ValueError, match="df"):
        dunnett_adjust([1.0], np.eye(1), df=0)


def test_dunnett_matches_scipy_on_raw_data() -> None:
    """scipy.stats.dunnett pools the variance with df = N - (k + 1); the same statistics with the
    many-to-one correlation from the group sizes must give its p-values (QMC tolerance 2e-3)."""
    rng = np.random.default_rng(42)
    control = rng.normal(0, 1, 15)
    groups = [rng.normal(0.5, 1, 12), rng.normal(0.9, 1, 18), rng.normal(0.1, 1, 10)]
    ref = stats.dunnett(*groups, control=control, rng=1)
    n_all = len(control) + sum(len(g) for g in groups)
    df = n_all - (len(groups) + 1)
    pooled = sum(((g - g.mean()) ** 2).sum() for g in [control, *groups]) / df
    v_c = pooled / len(control)
    v_t = np.array([pooled / len(g) for g in groups])
    t = np.array([g.mean() - control.mean() for g in groups]) / np.sqrt(v_c + v_t)
    np.testing.assert_allclose(t, ref.statistic, rtol=1e-10)
    res = dunnett_adjust(t, many_to_one_correlation(v_c, v_t), df=df)
    np.testing.assert_allclose(res.adjusted, ref.pvalue, atol=2e-3)


def test_dunnett_normal_limit_closed_forms() -> None:
    """Independent statistics: P(max |Z| >= t) = 1 - (1 - p)^k (Sidak). Perfect correlation: the
    family behaves like a single test. Tolerance 1e-4 (QMC)."""
    z = np.array([2.2, 1.5, 0.4])
    p = 2 * stats.norm.sf(z)
    res = dunnett_adjust(z, np.eye(3))
    np.testing.assert_allclose(res.adjusted, 1 - (1 - p) ** 3, atol=1e-4)
    single = dunnett_adjust([2.0], np.eye(1))
    assert single.adjusted[0] == pytest.approx(2 * stats.norm.sf(2.0), rel=1e-12)


def test_dunnett_between_raw_and_bonferroni() -> None:
    corr = many_to_one_correlation(1.0, [1.0, 1.0])
    assert corr[0, 1] == pytest.approx(0.5)
    res = dunnett_adjust([2.4, 2.4], corr, df=60)
    raw = 2 * stats.t.sf(2.4, 60)
    assert raw < res.adjusted[0] < 2 * raw


def test_dunnett_ratio_arms() -> None:
    rng = np.random.default_rng(9)

    def arm(p: float) -> RatioStats:
        x = rng.integers(10, 40, 30)
        return RatioStats.from_units(rng.binomial(x, rng.beta(p * 20, (1 - p) * 20, 30)), x)

    res = dunnett_ratio(arm(0.85), [arm(0.85), arm(0.92)])
    assert res.method == "dunnett"
    assert all(a >= p for a, p in zip(res.adjusted, res.p_values, strict=True))
    with pytest.raises(ValueError, match="degenerate"):
        dunnett_ratio(arm(0.85), [RatioStats.empty()])
