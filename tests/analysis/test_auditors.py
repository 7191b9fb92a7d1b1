"""Auditor allocation, leniency, blinding and the measurement-error cost: closed forms, statsmodels and seeded
simulations of audits clustered within moderators."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis import reasons
from analysis.auditors import (
    adjusted_sums,
    arm_interaction,
    auditor_balance,
    blinding_check,
    fit_leniency,
    scaled_chi2_sf,
)


def _world(rng, units=80, auditors=8, audits=40, skew=0.0, leniency_sd=0.04, unblinded=0.0):
    """Per-audit arrays: unit, arm (0/1), auditor, grade; auditors tied to one of two sites, units to sites."""
    arm = np.resize([0, 1], units)
    rng.shuffle(arm)
    site = np.arange(units) % 2
    lenient = rng.normal(0, leniency_sd, auditors)
    lenient -= lenient.mean()
    accuracy = np.clip(rng.normal(0.9, 0.03, units), 0, 1)
    unit = np.repeat(np.arange(units), audits)
    per_site = auditors // 2
    offset = rng.integers(0, per_site, unit.size)
    ranks = np.argsort(lenient.reshape(2, per_site), axis=1)
    steer = (arm[unit] == 1) & (rng.random(unit.size) < skew)
    offset = np.where(steer, ranks[site[unit], rng.integers(per_site // 2, per_site, unit.size)], offset)
    auditor = site[unit] * per_site + offset
    knows = np.arange(auditors) % 2 == 0
    shift = lenient[auditor] + np.where(knows[auditor] & (arm[unit] == 1), unblinded, 0.0)
    grade = (rng.random(unit.size) < accuracy[unit] + shift).astype(float)
    return unit, arm, auditor, grade, site


def _matrix(unit, auditor, values, units, auditors):
    return np.bincount(unit * auditors + auditor, weights=values, minlength=units * auditors).reshape(units, auditors)


def test_scaled_chi2_with_chi2_moments_is_the_chi2_tail():
    assert scaled_chi2_sf(12.0, 5.0, 10.0) == pytest.approx(stats.chi2.sf(12.0, 5))


def test_leniency_equals_ols_with_unit_and_auditor_dummies():
    rng = np.random.default_rng(3)
    unit = np.repeat(np.arange(30), 20)
    auditor = rng.integers(0, 6, unit.size)  # every auditor grades every site: one connected set
    grade = (rng.random(unit.size) < 0.85 + np.linspace(-0.05, 0.05, 6)[auditor]).astype(float)
    cells = unit * 6 + auditor
    keys, inverse = np.unique(cells, return_inverse=True)
    n = np.bincount(inverse)
    y = np.bincount(inverse, weights=grade)
    fitted = fit_leniency(keys // 6, keys % 6, n, y, 6, iterations=5000, tolerance=1e-13)
    design = np.column_stack([np.eye(30)[unit], np.eye(6)[auditor][:, 1:]])
    ols = sm.OLS(grade, design).fit()
    effects = np.concatenate([[0.0], ols.params[30:]])
    weights = np.bincount(auditor, minlength=6)
    effects -= np.average(effects, weights=weights)
    assert fitted.effect == pytest.approx(effects, abs=1e-8)
    assert fitted.residual_variance == pytest.approx(ols.ssr / (grade.size - 30 - 5), rel=1e-6)


def _balance(seed, skew):
    rng = np.random.default_rng(seed)
    unit, arm, auditor, _, site = _world(rng, skew=skew)
    audits = _matrix(unit, auditor, np.ones(unit.size), 80, 8)
    labels = np.array(["control", "treatment"])[arm]
    return auditor_balance(audits, labels, [str(s) for s in site], seed=seed, permutations=200)


def test_balance_check_fires_on_skewed_routing_and_holds_its_level_otherwise():
    skewed = [_balance(seed, 0.5) for seed in range(5)]
    assert all(not check.ok for check in skewed)
    null = [_balance(100 + seed, 0.0).p_value for seed in range(60)]
    # Calibrated against the permutation distribution: roughly uniform p-values, no alarms at the 0.001 bar.
    assert min(null) > 0.001
    assert 0.3 < np.mean(null) < 0.7


def test_balance_with_one_auditor_or_one_arm_has_a_reason():
    one = auditor_balance(np.ones((6, 1)) * 5, ["a", "b"] * 3, ["s"] * 6)
    assert one.ok and one.reason == reasons.TOO_FEW_AUDITORS
    assert auditor_balance(np.ones((4, 3)), ["a"] * 4, ["s"] * 4).reason == reasons.TOO_FEW_UNITS


def _interaction(seed, unblinded):
    rng = np.random.default_rng(seed)
    unit, arm, auditor, grade, _ = _world(rng, units=160, audits=60, leniency_sd=0.0, unblinded=unblinded)
    y = _matrix(unit, auditor, grade, 160, 8)
    x = _matrix(unit, auditor, np.ones(unit.size), 160, 8)
    return blinding_check(arm_interaction(y, x, arm == 0, arm == 1))


def test_blinding_check_flags_auditors_who_grade_the_new_arm_differently():
    assert sum(not _interaction(seed, 0.08).ok for seed in range(4)) >= 3
    assert "may know who uses the new tool" in _interaction(0, 0.08).message
    assert all(_interaction(50 + seed, 0.0).ok for seed in range(8))


def test_adjusted_sums_remove_leniency():
    y = np.array([[3.0, 2.0], [1.0, 4.0]])
    x = np.array([[4.0, 2.0], [1.0, 5.0]])
    assert adjusted_sums(y, x, [0.1, -0.05]).tolist() == pytest.approx([5 - 0.4 + 0.1, 5 - 0.1 + 0.25])
