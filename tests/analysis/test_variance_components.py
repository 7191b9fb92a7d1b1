"""ANOVA variance components against hand computation, a direct per-audit computation and statsmodels REML."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis.variance_components import VarianceComponents, estimate_variance_components


def _sums(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([g.sum() for g in groups]),
        np.array([g.size for g in groups], dtype=float),
        np.array([(g**2).sum() for g in groups]),
    )


def _simulate_groups(rng, k, sizes, between_sd, within_sd, mean=10.0) -> list[np.ndarray]:
    mu = mean + between_sd * rng.standard_normal(k)
    return [m + within_sd * rng.standard_normal(int(s)) for m, s in zip(mu, sizes, strict=True)]


def test_balanced_closed_form_by_hand():
    groups = [np.array([1.0, 2, 3, 4]), np.array([2.0, 3, 4, 5]), np.array([6.0, 7, 8, 9])]
    est = estimate_variance_components(*_sums(groups))
    # SSB = 4 * (2^2 + 1^2 + 3^2) = 56, MSB = 28; SSW = 3 * 5 = 15, MSW = 15 / 9; n0 = 4.
    assert est.ms_between == pytest.approx(28.0, rel=1e-12)
    assert est.ms_within == pytest.approx(15 / 9, rel=1e-12)
    assert est.n0 == pytest.approx(4.0, rel=1e-12)
    assert est.components.between == pytest.approx((28 - 15 / 9) / 4, rel=1e-12)
    assert est.mean == pytest.approx(4.5)
    assert est.icc == pytest.approx(((28 - 15 / 9) / 4) / ((28 - 15 / 9) / 4 + 15 / 9), rel=1e-12)


def test_unbalanced_matches_direct_per_audit_computation():
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 25, 40)
    groups = _simulate_groups(rng, 40, sizes, 1.5, 3.0)
    values = np.concatenate(groups)
    grand = values.mean()
    ssw = sum(((g - g.mean()) ** 2).sum() for g in groups)
    ssb = sum(g.size * (g.mean() - grand) ** 2 for g in groups)
    n, k = values.size, len(groups)
    n0 = (n - sum(g.size**2 for g in groups) / n) / (k - 1)
    msw, msb = ssw / (n - k), ssb / (k - 1)
    est = estimate_variance_components(*_sums(groups))
    assert est.ms_within == pytest.approx(msw, rel=1e-10)
    assert est.ms_between == pytest.approx(msb, rel=1e-10)
    assert est.n0 == pytest.approx(n0, rel=1e-12)
    assert est.components.between == pytest.approx((msb - msw) / n0, rel=1e-10)
    assert (est.n_units, est.n_audits) == (k, n)


def test_agrees_with_statsmodels_reml_on_unbalanced_data():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(12)
    k = 300
    sizes = rng.integers(2, 30, k)
    groups = _simulate_groups(rng, k, sizes, 1.0, 2.0)
    values = np.concatenate(groups)
    labels = np.repeat(np.arange(k), sizes)
    with warnings.catch_warnings():
        # statsmodels may warn about its optimizer path; the comparison below checks the answer.
        warnings.simplefilter("ignore")
        fit = sm.MixedLM(values, np.ones((values.size, 1)), groups=labels).fit(reml=True)
    est = estimate_variance_components(*_sums(groups))
    # ANOVA and REML are different estimators of the same quantities. Over 10 seeds at 300 units their
    # between-variance estimates differed by 3% (sd) and at most 5%; the sampling sd of either is ~10%.
    assert est.components.between == pytest.approx(float(np.asarray(fit.cov_re)[0, 0]), rel=0.1)
    assert est.components.within == pytest.approx(float(fit.scale), rel=0.005)
    assert est.mean == pytest.approx(values.mean())


def test_unbiased_for_binary_outcomes_by_simulation():
    rng = np.random.default_rng(8)
    sd, p = 0.03, 0.93
    estimates = []
    for _ in range(300):
        rates = np.clip(p + sd * rng.standard_normal(200), 0, 1)
        counts = rng.poisson(40, 200)
        correct = rng.binomial(counts, rates)
        estimates.append(estimate_variance_components(correct, counts).between_unbounded)
    estimates = np.array(estimates)
    mc_se = estimates.std(ddof=1) / np.sqrt(estimates.size)
    truth = np.var(np.clip(p + sd * rng.standard_normal(1_000_000), 0, 1))
    assert abs(estimates.mean() - truth) < 4 * mc_se + 2e-6


def test_degenerate_inputs_return_reasons():
    one = estimate_variance_components([3.0], [4.0])
    assert one.reason == "too_few_units"
    single_audits = estimate_variance_components([1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
    assert single_audits.reason == "no_within_replication"
    # Units without audits are ignored.
    with_empty = estimate_variance_components([3.0, 0.0, 5.0], [4.0, 0.0, 6.0])
    without = estimate_variance_components([3.0, 5.0], [4.0, 6.0])
    assert with_empty == without
    # No heterogeneity: the raw estimate is negative, the reported one truncated at zero.
    flat = estimate_variance_components([5.0, 5.0, 5.0], [10.0, 10.0, 10.0])
    assert flat.between_unbounded < 0 and flat.components.between == 0.0
    with pytest.raises(ValueError, match="same length"):
        estimate_variance_components([1.0, 2.0], [3.0])


def test_model_helpers():
    model = VarianceComponents.for_proportion(0.93, 0.03)
    assert model.between == pytest.approx(0.0009)
    assert model.within == pytest.approx(0.93 * 0.07 - 0.0009)
    assert model.design_effect(1) == 1.0
    assert model.design_effect(41) == pytest.approx(1 + 40 * model.icc)
    assert model.unit_mean_variance(10) == pytest.approx(0.0009 + model.within / 10)
    split = VarianceComponents.from_icc(0.2, 5.0)
    assert (split.between, split.within) == pytest.approx((1.0, 4.0))
    with pytest.raises(ValueError, match="icc"):
        VarianceComponents.from_icc(1.5, 1.0)


def test_groups_centre_by_arm_so_an_effect_does_not_inflate_the_between_variance():
    """Data with a large arm effect: with the arm as a fixed group the mean squares equal a direct per-audit
    computation of the nested ANOVA (moderators within arms; the residual mean square from statsmodels OLS on
    moderator dummies), and the effect is not counted as between-moderator variance; without groups it is."""
    pd = pytest.importorskip("pandas")
    smf = pytest.importorskip("statsmodels.formula.api")

    rng = np.random.default_rng(5)
    k = 60
    sizes = rng.integers(3, 20, k)
    groups = _simulate_groups(rng, k, sizes, 1.0, 2.0)
    arm = np.arange(k) % 2
    groups = [g + 1.5 * a for g, a in zip(groups, arm, strict=True)]  # a real effect of 1.5 in arm 1
    frame = pd.DataFrame(
        {"v": np.concatenate(groups), "arm": np.repeat(arm, sizes), "unit": np.repeat(np.arange(k), sizes)}
    )
    unit_mean = frame.groupby("unit").v.transform("mean")
    arm_mean = frame.groupby("arm").v.transform("mean")
    ms_between = float(((unit_mean - arm_mean) ** 2).sum()) / (k - 2)
    residual = smf.ols("v ~ C(unit)", frame).fit()
    centred = estimate_variance_components(*_sums(groups), groups=arm)
    pooled = estimate_variance_components(*_sums(groups))
    assert centred.ms_between == pytest.approx(ms_between, rel=1e-9)
    assert centred.ms_within == pytest.approx(residual.mse_resid, rel=1e-9)
    n = sizes.sum()
    n0 = (n - sum((sizes[arm == a] ** 2).sum() / sizes[arm == a].sum() for a in (0, 1))) / (k - 2)
    assert centred.components.between == pytest.approx((centred.ms_between - centred.ms_within) / n0, rel=1e-9)
    assert pooled.components.between > centred.components.between + 0.2  # the effect (1.5^2 / 4) counted
    assert centred.mean == pytest.approx(frame.v.mean())
