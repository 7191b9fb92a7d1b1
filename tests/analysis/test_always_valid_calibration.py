"""Always-valid calibration at the edges: schedules too short to spend a large alpha, and a year of daily looks."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.always_valid import (
    MAX_NOMINAL_ALPHA,
    crossing_probability,
    design_mixture,
    design_or_most_liberal,
    mixture_threshold,
    tune_tau2,
)
from analysis.information import calibration_schedule, monotone
from analysis.planning import difference_variance
from analysis.variance_components import VarianceComponents


def _year_of_daily_looks() -> tuple[np.ndarray, np.ndarray]:
    """Planned Var(difference) at daily looks 3..364 (100 moderators per arm, ICC 0.03, 1.2 audits a day)."""
    components = VarianceComponents(between=0.003, within=0.09)
    days = np.arange(3, 365)
    v = np.array([difference_variance(components, 1.2 * d, 100, 100, audit_rate_cv=0.3) for d in days])
    v = np.minimum.accumulate(v)
    return v, v[-1] / v


@pytest.mark.parametrize(("looks", "alpha"), [(1, 0.15), (1, 0.5), (2, 0.3), (3, 0.5), (2, 0.5)])
def test_a_schedule_too_short_for_alpha_gets_the_most_liberal_design(looks, alpha):
    fractions = np.linspace(1.0 / looks, 1.0, looks)
    with pytest.raises(ValueError):  # what raised through /results before
        design_mixture(1e-4, alpha, fractions)
    design, spent = design_or_most_liberal(1e-4, alpha, fractions)
    assert design.nominal_alpha == MAX_NOMINAL_ALPHA and 0 < spent < alpha
    assert spent == pytest.approx(crossing_probability(fractions, design.tau2 / 1e-4, MAX_NOMINAL_ALPHA))


def test_a_schedule_that_can_spend_alpha_is_calibrated_exactly():
    fractions = np.linspace(0.1, 1.0, 10)
    design, spent = design_or_most_liberal(1e-4, 0.05, fractions)
    assert spent == 0.05
    assert crossing_probability(fractions, design.tau2 / 1e-4, design.nominal_alpha) == pytest.approx(0.05, abs=1e-6)


def test_calibration_schedule_merges_close_looks_and_keeps_the_plan():
    _, t = _year_of_daily_looks()
    merged = calibration_schedule(t)
    assert merged[-1] == 1.0 and merged.max() <= 1.0 and np.all(np.diff(merged) >= 0.003)
    assert set(merged.tolist()) <= set(t.tolist())  # every kept look is where the plan put it
    assert monotone(t).max() > 2.0  # what the engine integrated over before: fractions pushed far past 1
    assert calibration_schedule([0.5, 0.5, 0.5006, 1.0]).tolist() == [0.5006, 1.0]


def test_a_year_of_daily_looks_spends_alpha_by_simulation():
    """False-crossing rate of the calibrated mixture at all 362 daily looks, against alpha 0.05 (20,000 null paths
    in information time; s.e. 0.0015). The earlier calibration on `monotone` fractions crossed about 0.039."""
    v, t = _year_of_daily_looks()
    design, spent = design_or_most_liberal(v[-1], 0.05, calibration_schedule(t))
    assert spent == 0.05
    rng = np.random.default_rng(20261207)
    n = 20_000
    steps = np.diff(np.concatenate([[0.0], t]))
    z = np.cumsum(rng.standard_normal((n, t.size)) * np.sqrt(steps), axis=1) / np.sqrt(t)
    rate = float((np.abs(z) >= mixture_threshold(v, design.tau2, design.nominal_alpha)).any(axis=1).mean())
    se = float(np.sqrt(0.05 * 0.95 / n))
    assert abs(rate - 0.05) < 3 * se, rate
    old = design_mixture(v[-1], 0.05, monotone(t), tau2=tune_tau2(v[-1], 0.05))
    old_rate = float((np.abs(z) >= mixture_threshold(v, old.tau2, old.nominal_alpha)).any(axis=1).mean())
    assert old_rate < 0.05 - 3 * se  # the miscalibration this replaces (power lost)
