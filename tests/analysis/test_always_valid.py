"""Mixture SPRT: closed forms, tuning, finite-horizon calibration (vs Monte Carlo), t correction."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.always_valid import (
    always_valid,
    crossing_probability,
    design_mixture,
    log_likelihood_ratio,
    mixture_threshold,
    tune_tau2,
)

SCHEDULE = np.arange(1, 43) / (np.arange(1, 43) + 7.0) * (49.0 / 42.0)  # fixed-cohort curve, ends at 1


def test_likelihood_ratio_closed_form_and_threshold():
    d, v, tau2 = 0.013, 4e-5, 3e-4
    expected = math.sqrt(v / (v + tau2)) * math.exp(tau2 * d**2 / (2 * v * (v + tau2)))
    assert math.exp(log_likelihood_ratio(d / math.sqrt(v), v, tau2)) == pytest.approx(expected, rel=1e-12)
    # The threshold is where Lambda = 1/a.
    c = mixture_threshold(v, tau2, 0.05)
    assert math.exp(log_likelihood_ratio(c, v, tau2)) == pytest.approx(20.0, rel=1e-10)
    # Lambda equals the ratio of the marginal likelihoods N(0, V + tau2) / N(0, V) at d.
    ratio = stats.norm.pdf(d, 0, math.sqrt(v + tau2)) / stats.norm.pdf(d, 0, math.sqrt(v))
    assert math.exp(log_likelihood_ratio(d / math.sqrt(v), v, tau2)) == pytest.approx(ratio, rel=1e-10)


def test_tune_tau2_minimises_final_threshold():
    v_final = 6e-5
    tau2 = tune_tau2(v_final, 0.05)
    grid = v_final * np.exp(np.linspace(-4, 8, 4001))
    best = grid[np.argmin(mixture_threshold(v_final, grid, 0.05))]
    assert tau2 == pytest.approx(best, rel=0.01)
    assert mixture_threshold(v_final, tau2, 0.05) < mixture_threshold(v_final, 100 * v_final, 0.05)


def test_uncalibrated_is_conservative_and_calibration_spends_alpha():
    design = design_mixture(1.0, 0.05, SCHEDULE)
    ratio = design.tau2
    assert crossing_probability(SCHEDULE, ratio, 0.05) < 0.02  # Ville on a finite horizon
    assert design.nominal_alpha > 0.05
    assert crossing_probability(SCHEDULE, ratio, design.nominal_alpha) == pytest.approx(0.05, abs=1e-7)
    # Independent check: Brownian motion in information time at the planned looks.
    rng = np.random.default_rng(2024)
    n = 200_000
    s = np.cumsum(rng.standard_normal((n, SCHEDULE.size)) * np.sqrt(np.diff(SCHEDULE, prepend=0.0)), axis=1)
    z = s / np.sqrt(SCHEDULE)
    c = mixture_threshold(1.0 / SCHEDULE, design.tau2, design.nominal_alpha)
    assert (np.abs(z) >= c).any(axis=1).mean() == pytest.approx(0.05, abs=4 * math.sqrt(0.0475 / n))


def test_p_values_confidence_sequence_and_rejection_agree():
    v_final = 5e-5
    design = design_mixture(v_final, 0.05, SCHEDULE)
    v = v_final / SCHEDULE[:20]
    d = 0.004 + 0.0012 * np.arange(20)
    res = always_valid(d, v, design)
    p = np.asarray(res.p_values)
    assert np.all(np.diff(p) <= 0)
    np.testing.assert_array_equal(np.asarray(res.rejected), p <= 0.05 + 1e-9)
    lows, highs = np.asarray(res.cs_low), np.asarray(res.cs_high)
    assert np.all(np.diff(lows) >= 0) and np.all(np.diff(highs) <= 0)
    # Rejecting zero is the same event as zero leaving the confidence sequence.
    np.testing.assert_array_equal(np.asarray(res.rejected), (lows > 0) | (highs < 0))
    assert res.direction == "up" and res.first_rejection == int(np.argmax(res.rejected))
    ville = always_valid(d, v, design_mixture(v_final, 0.05))
    assert np.all(np.asarray(ville.p_values) >= p - 1e-12)
    np.testing.assert_allclose(ville.p_values, np.minimum(1, 1 / np.maximum.accumulate(ville.likelihood_ratios)))


def test_t_correction_widens_with_few_degrees_of_freedom():
    design = design_mixture(1e-4, 0.05, SCHEDULE)
    d, v = np.array([0.02, 0.03]), np.array([1.2e-4, 1e-4])
    normal = always_valid(d, v, design)
    small = always_valid(d, v, design, df=[20.0, 20.0])
    assert all(s > n for s, n in zip(small.thresholds, normal.thresholds, strict=True))
    c = mixture_threshold(v, design.tau2, design.nominal_alpha)
    np.testing.assert_allclose(small.thresholds, stats.t.isf(stats.norm.sf(c), 20.0))
    assert np.all(np.asarray(small.p_values) >= np.asarray(normal.p_values))


def test_input_validation():
    with pytest.raises(ValueError, match="planned_final_variance"):
        design_mixture(0.0)
    with pytest.raises(ValueError, match="alpha"):
        tune_tau2(1.0, 0.0)
    design = design_mixture(1.0)
    with pytest.raises(ValueError, match="variances"):
        always_valid([0.1], [0.0], design)
    with pytest.raises(ValueError, match="df"):
        always_valid([0.1], [1.0], design, df=[-1.0])


def test_running_intersection_never_becomes_empty():
    """Estimates that jump (few units, re-estimated variance) would empty the intersection; it restarts instead."""
    from analysis.always_valid import always_valid, design_mixture

    design = design_mixture(0.0001, 0.05)
    estimates = [0.05, 0.05, -0.05, -0.05]
    variances = [0.0001, 0.0001, 0.0001, 0.0001]
    result = always_valid(estimates, variances, design, with_p_values=False)
    for estimate, low, high in zip(estimates, result.cs_low, result.cs_high, strict=True):
        assert low <= estimate <= high
    assert result.cs_low[1] >= result.cs_low[0]  # still intersected while it is not empty
