"""Randomization test: agreement with scipy.stats.permutation_test and exactness under the null."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis import reasons
from analysis.permutation import randomization_test


def _complete_randomization(n_treated: int, k: int):
    """Unstratified: a random n_treated of k units are treated."""

    def reassign(rng: np.random.Generator) -> np.ndarray:
        labels = np.zeros(k, dtype=int)
        labels[rng.permutation(k)[:n_treated]] = 1
        return labels

    return reassign


def _stratified_blocks(strata: np.ndarray, block: int = 4):
    """Stratified permuted blocks of size 4 (2 control, 2 treatment) within each stratum, the
    kind of procedure the domain layer runs."""

    def reassign(rng: np.random.Generator) -> np.ndarray:
        labels = np.empty(len(strata), dtype=int)
        for s in np.unique(strata):
            idx = rng.permutation(np.flatnonzero(strata == s))
            n_blocks = math.ceil(len(idx) / block)
            seq = np.concatenate([rng.permutation([0, 0, 1, 1]) for _ in range(n_blocks)])
            labels[idx] = seq[: len(idx)]
        return labels

    return reassign


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_agrees_with_scipy_exact_permutation_test(alternative: str) -> None:
    """6 + 6 units: scipy enumerates all 924 splits (exact); our Monte-Carlo p with 4,000
    resamples must agree within 4 Monte-Carlo standard errors."""
    rng = np.random.default_rng(1)
    x = rng.integers(5, 30, 12).astype(float)
    y = rng.binomial(x.astype(int), 0.8).astype(float)
    arms = np.r_[np.zeros(6, int), np.ones(6, int)]

    def ratio_diff(yx_c, yx_t):
        return yx_t[0].sum() / yx_t[1].sum() - yx_c[0].sum() / yx_c[1].sum()

    def stat(c, t, axis=-1):
        return ratio_diff((y[c], x[c]), (y[t], x[t]))

    ref = stats.permutation_test(
        (np.arange(6), np.arange(6, 12)),
        stat,
        permutation_type="independent",
        vectorized=False,
        n_resamples=np.inf,
        alternative=alternative,
    )
    res = randomization_test(
        y,
        x,
        arms,
        _complete_randomization(6, 12),
        control=0,
        treatment=1,
        n_resamples=4000,
        seed=2,
        alternative=alternative,
    )
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    # scipy's exact p counts the observed split among the 924; ours adds 1 to both counts.
    assert abs(res.p_value - ref.pvalue) < 4 * max(res.mc_se, 1 / 4000)


def test_p_value_formula_and_mc_se() -> None:
    """Phipson & Smyth: p = (b + 1) / (n + 1), computed directly from the returned null."""
    rng = np.random.default_rng(3)
    x = np.full(20, 10.0)
    y = rng.binomial(10, 0.7, 20).astype(float)
    arms = np.r_[np.zeros(10, int), np.ones(10, int)]
    res = randomization_test(
        y, x, arms, _complete_randomization(10, 20), control=0, treatment=1, n_resamples=199, seed=4
    )
    b = np.sum(np.abs(res.null_distribution) >= abs(res.statistic) - 1e-14)
    assert res.p_value == pytest.approx((b + 1) / 200)
    assert res.mc_se == pytest.approx(math.sqrt(res.p_value * (1 - res.p_value) / 199))
    assert 0 < res.p_value <= 1


def test_exact_under_the_null_with_stratified_design() -> None:
    """400 seeded null pilots of 24 units in 3 strata with large stratum effects and heavy-tailed
    unit rates; each analysed with 99 re-randomizations of the same stratified block procedure.
    The rejection rate at 0.05 is within 0.05 +- 0.035 (about 3 binomial SE) and at 0.20 within
    0.20 +- 0.06; p-values are never below 1/100."""
    rng = np.random.default_rng(12345)
    strata = np.repeat([0, 1, 2], 8)
    reassign = _stratified_blocks(strata)
    ps = []
    for _ in range(400):
        x = rng.integers(5, 60, 24).astype(float)
        rate = np.clip(np.array([0.6, 0.8, 0.95])[strata] + 0.05 * rng.standard_t(2, 24), 0, 1)
        y = rng.binomial(x.astype(int), rate).astype(float)
        arms = reassign(rng)
        res = randomization_test(
            y,
            x,
            arms,
            reassign,
            control=0,
            treatment=1,
            n_resamples=99,
            seed=int(rng.integers(2**31)),
        )
        ps.append(res.p_value)
    ps = np.array(ps)
    assert abs(np.mean(ps <= 0.05) - 0.05) < 0.035
    assert abs(np.mean(ps <= 0.20) - 0.20) < 0.06
    assert ps.min() >= 1 / 100


def test_detects_a_large_effect_with_the_studentized_statistic() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(20, 40, 30).astype(float)
    arms = np.r_[np.zeros(15, int), np.ones(15, int)]
    y = rng.binomial(x.astype(int), np.where(arms == 1, 0.95, 0.8)).astype(float)
    res = randomization_test(
        y,
        x,
        arms,
        _complete_randomization(15, 30),
        control=0,
        treatment=1,
        n_resamples=499,
        seed=1,
        statistic="t",
    )
    assert res.statistic > 0 and res.p_value == pytest.approx(1 / 500)


def test_empty_arm_returns_reason() -> None:
    arms = np.zeros(4, int)
    res = randomization_test([1, 2, 3, 4], [5, 5, 5, 5], arms, lambda rng: arms, control=0, treatment=1, n_resamples=9)
    assert res.reason == reasons.EMPTY_ARM and math.isnan(res.p_value)


def test_input_checks() -> None:
    arms = np.array([0, 1, 0, 1])

    def ok(rng):
        return arms

    with pytest.raises(ValueError, match="n_resamples"):
        randomization_test([1] * 4, [2] * 4, arms, ok, control=0, treatment=1, n_resamples=0)
    with pytest.raises(ValueError, match="equal length"):
        randomization_test([1] * 3, [2] * 4, arms, ok, control=0, treatment=1)
    with pytest.raises(ValueError, match="callable"):
        randomization_test([1] * 4, [2] * 4, arms, None, control=0, treatment=1)
    with pytest.raises(ValueError, match="alternative"):
        randomization_test([1] * 4, [2] * 4, arms, ok, control=0, treatment=1, alternative="up")
    with pytest.raises(ValueError, match="reassign must return"):
        randomization_test([1] * 4, [2] * 4, arms, lambda rng: arms[:3], control=0, treatment=1, n_resamples=2)


def test_batched_welch_statistic_equals_compare_on_every_draw():
    """The null distribution of the t statistic is computed for all re-randomizations at once; each value equals
    `analysis.ratio.compare`'s statistic for that draw (degenerate draws included, through the scalar path)."""
    from analysis.permutation import _statistic_fn, _welch_t_batch

    rng = np.random.default_rng(0)
    for _ in range(100):
        k = int(rng.integers(4, 40))
        x = rng.integers(0, 50, size=k).astype(float)
        y = np.floor(x * rng.uniform(0.7, 1.0, size=k))
        draws = rng.integers(0, 3, size=(50, k)).astype(str)
        scalar = _statistic_fn(y, x, "0", "1", "t")
        expected = np.array([scalar(row) for row in draws])
        np.testing.assert_array_equal(_welch_t_batch(y, x, draws, "0", "1", scalar), expected)
