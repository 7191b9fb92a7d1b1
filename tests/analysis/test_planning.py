"""The planner against statsmodels power classes, closed forms, group-sequential tables and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from analysis._planning_design import MIN_LOOK_STEP, at_horizon, merge_close_looks
from analysis.group_sequential import inflation_factor
from analysis.planning import (
    MAX_WEEKS,
    SequentialDesign,
    always_valid_z,
    difference_variance,
    plan_pilot,
)
from analysis.variance_components import VarianceComponents

ACCURACY = VarianceComponents.for_proportion(0.93, 0.03)
Z_SUM = stats.norm.isf(0.025) + stats.norm.ppf(0.8)


def _unit_sd(components: VarianceComponents, m: float, cv: float = 0.0) -> float:
    return float(np.sqrt(components.between * (1 + cv**2 + 1 / m) + components.within / m))


def test_closed_form_design_effect_without_count_noise():
    p, icc, m, k = 0.93, 0.02, 30.0, 100
    model = VarianceComponents.from_icc(icc, p * (1 - p))
    var = difference_variance(model, m, k, k, count_noise=False)
    assert var == pytest.approx(2 * p * (1 - p) * (1 + (m - 1) * icc) / (m * k), rel=1e-12)
    plan = plan_pilot(
        units_per_arm=(k, k),
        audits_per_unit_per_week=m,
        baseline=p,
        icc=icc,
        weeks=1,
        count_noise=False,
    )
    assert plan.week(1).mde == pytest.approx(Z_SUM * np.sqrt(var), rel=1e-12)
    assert plan.week(1).mde_relative == pytest.approx(plan.week(1).mde / p)


@pytest.mark.parametrize(("k_control", "k_treatment", "alpha"), [(120, 120, 0.05), (80, 40, 0.01)])
def test_fixed_design_matches_statsmodels_normal_power(k_control, k_treatment, alpha):
    plan = plan_pilot(
        units_per_arm=(k_control, k_treatment),
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=ACCURACY,
        weeks=4,
        alpha=alpha,
        target_effect=0.015,
        audit_rate_cv=0.3,
    )
    solver = NormalIndPower()
    ratio = k_treatment / k_control
    for row in plan.weeks:
        sd = _unit_sd(ACCURACY, row.audits_per_unit, 0.3)
        d = solver.solve_power(nobs1=k_control, alpha=alpha, power=0.8, ratio=ratio)
        # statsmodels counts the (negligible) wrong-direction tail too: agreement to 1e-5.
        assert row.mde == pytest.approx(d * sd, rel=1e-5)
        expected = solver.power(0.015 / sd, nobs1=k_control, alpha=alpha, ratio=ratio)
        assert row.power == pytest.approx(expected, rel=1e-9)


def test_fixed_design_t_matches_statsmodels_t_power():
    plan = plan_pilot(
        units_per_arm=(15, 15),
        audits_per_unit_per_week=10,
        baseline=0.93,
        variance=ACCURACY,
        weeks=3,
        target_effect=0.03,
        use_t=True,
    )
    solver = TTestIndPower()
    for row in plan.weeks:
        sd = _unit_sd(ACCURACY, row.audits_per_unit)
        d = solver.solve_power(nobs1=15, alpha=0.05, power=0.8, ratio=1.0)
        assert row.mde == pytest.approx(d * sd, rel=1e-6)
        assert row.power == pytest.approx(solver.power(0.03 / sd, 15, 0.05), rel=1e-8)
    z_plan = plan_pilot(units_per_arm=(15, 15), audits_per_unit_per_week=10, baseline=0.93, variance=ACCURACY, weeks=3)
    assert plan.week(3).mde > z_plan.week(3).mde  # t pays for the small sample


def test_information_curve_is_equally_spaced_without_between_variance():
    within_only = VarianceComponents(between=0.0, within=0.93 * 0.07)
    plan = plan_pilot(
        units_per_arm=(100, 100),
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=within_only,
        weeks=5,
        design=SequentialDesign("group_sequential"),
    )
    np.testing.assert_allclose(plan.information_fractions(), [0.2, 0.4, 0.6, 0.8, 1.0], rtol=1e-12)
    factor = inflation_factor(0.05, 0.8, [0.2, 0.4, 0.6, 0.8, 1.0], "obf")
    assert plan.week(5).inflation_factor == pytest.approx(factor, rel=1e-12)
    # Classical O'Brien-Fleming with 5 equal looks needs 1.028 (Jennison & Turnbull 2000, Table 2.3); the
    # Lan-DeMets O'Brien-Fleming-type spending function is close to it.
    assert 1.015 < factor < 1.035
    assert plan.week(1).inflation_factor == 1.0


def test_group_sequential_rows_use_planned_fractions_and_keep_power():
    design = SequentialDesign("group_sequential", looks_per_week=2, spending="pocock")
    plan = plan_pilot(
        units_per_arm=(120, 120),
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=ACCURACY,
        weeks=4,
        design=design,
    )
    fractions = plan.information_fractions(3)
    assert len(fractions) == 6 and fractions[-1] == 1.0
    assert np.all(np.diff(fractions) > 0)
    # The between-moderator ceiling makes information grow slower than linearly.
    assert fractions[2] > 0.5
    row = plan.week(3)
    factor = inflation_factor(0.05, 0.8, fractions, "pocock")
    assert row.inflation_factor == pytest.approx(factor, rel=1e-12)
    assert row.mde == pytest.approx(Z_SUM * np.sqrt(factor * row.variance_difference), rel=1e-12)
    at_mde = plan_pilot(
        units_per_arm=(120, 120),
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=ACCURACY,
        weeks=3,
        design=design,
        target_effect=row.mde,
    )
    assert at_mde.week(3).power == pytest.approx(0.8, abs=1e-4)


def test_always_valid_threshold_solves_the_mixture_likelihood_ratio():
    for alpha, rho in [(0.05, 1.0), (0.05, 8.0), (0.1, 30.0)]:
        v, z = 1.0, always_valid_z(alpha, rho)
        tau2, d = rho * v, z * np.sqrt(v)
        lam = np.sqrt(v / (v + tau2)) * np.exp(tau2 * d**2 / (2 * v * (v + tau2)))
        assert lam == pytest.approx(1 / alpha, rel=1e-10)
    common = dict(units_per_arm=(120, 120), audits_per_unit_per_week=12, baseline=0.93, variance=ACCURACY, weeks=3)
    design = SequentialDesign("always_valid", looks_per_week=7)
    plan = plan_pilot(**common, design=design)
    row = plan.week(3)
    # Calibrated over the planned daily looks: the false-go rate is exactly alpha, and power at the MDE is 0.8.
    assert plan_pilot(**common, design=design, target_effect=0.0).week(3).power == pytest.approx(0.05, abs=1e-4)
    at_mde = plan_pilot(**common, design=design, target_effect=row.mde).week(3)
    assert at_mde.power == pytest.approx(0.8, abs=1e-3)
    # Continuous monitoring costs more than weekly O'Brien-Fleming looks, less than the uncalibrated
    # Ville threshold at the optimal mixture (|z| >= 3.03 at the horizon for alpha 0.05).
    weekly = plan_pilot(**common, design=SequentialDesign("group_sequential"))
    ville = ((always_valid_z(0.05, 11.0) + stats.norm.ppf(0.8)) / Z_SUM) ** 2
    assert weekly.week(3).inflation_factor < row.inflation_factor < ville


def test_saturation_week_and_summary():
    plan = plan_pilot(
        total_units=240,
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=ACCURACY,
        weeks=10,
        target_effect=0.02,
    )
    mdes = np.array([row.mde for row in plan.weeks])
    gains = 1 - mdes[1:] / mdes[:-1]
    assert plan.saturation_week == int(np.argmax(gains < 0.05)) + 1
    assert plan.detectable_week == int(np.argmax(mdes <= 0.02)) + 1
    assert plan.summary.startswith("With 240 moderators at ~12 audits a week, you can detect +2.0 points")
    assert f"after {plan.saturation_week} weeks more data stops helping" in plan.summary
    # A strong between-moderator spread saturates earlier.
    spread = VarianceComponents.for_proportion(0.93, 0.06)
    wider = plan_pilot(total_units=240, audits_per_unit_per_week=12, baseline=0.93, variance=spread, weeks=10)
    assert wider.saturation_week < plan.saturation_week
    unreachable = plan_pilot(
        total_units=40,
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=ACCURACY,
        weeks=4,
        target_effect=0.005,
    )
    assert unreachable.detectable_week is None
    assert "cannot reliably detect +0.5 points" in unreachable.summary


def test_several_arms_split_alpha():
    three = plan_pilot(units_per_arm=(100, 100, 90), audits_per_unit_per_week=12, baseline=0.93, variance=ACCURACY)
    two = plan_pilot(
        units_per_arm=(100, 90),
        audits_per_unit_per_week=12,
        baseline=0.93,
        variance=ACCURACY,
        alpha=0.025,
    )
    assert three.alpha_per_comparison == pytest.approx(0.025)
    assert three.week(8).mde == pytest.approx(two.week(8).mde, rel=1e-12)


def test_pre_period_covariate_reduction_matches_direct_simulation():
    sb2, sw2, m_pre, m, k = 0.0009, 0.0642, 40, 20, 20_000
    rng = np.random.default_rng(4)
    mu = np.sqrt(sb2) * rng.standard_normal(k)
    pre = mu + np.sqrt(sw2 / m_pre) * rng.standard_normal(k)
    post = mu + np.sqrt(sw2 / m) * rng.standard_normal(k)
    theta = np.cov(pre, post)[0, 1] / pre.var(ddof=1)
    residual = np.var(post - theta * pre, ddof=1)
    model = VarianceComponents(sb2, sw2)
    planned = difference_variance(model, m, 1, 10**12, pre_period_audits_per_unit=m_pre, count_noise=False)
    # 20,000 units: the sample variance has relative sd ~1%.
    assert planned == pytest.approx(residual, rel=0.04)
    assert planned < difference_variance(model, m, 1, 10**12, count_noise=False)


def test_input_checks():
    base = dict(audits_per_unit_per_week=12, baseline=0.93, variance=ACCURACY)
    with pytest.raises(ValueError, match="units_per_arm or total_units"):
        plan_pilot(**base)
    with pytest.raises(ValueError, match="alpha"):
        plan_pilot(total_units=100, alpha=1.5, **base)
    with pytest.raises(ValueError, match="ICC"):
        plan_pilot(total_units=100, audits_per_unit_per_week=12, baseline=0.93)
    with pytest.raises(ValueError, match="use_t"):
        plan_pilot(total_units=100, use_t=True, design=SequentialDesign("always_valid"), **base)
    # The horizon is bounded: a plan's work grows with it (a far-off end date must not tie up a worker).
    for weeks in (0, MAX_WEEKS + 1, 10**6):
        with pytest.raises(ValueError, match=rf"^weeks must be between 1 and {MAX_WEEKS}, got {weeks}$"):
            plan_pilot(total_units=100, weeks=weeks, **base)


def _simulated_rejection_rate(effect_points: float, n_pilots: int, seed: int) -> tuple[float, dict]:
    """Fixed-horizon delta-method z tests on pilots drawn by the aggregated simulator (fixed roster)."""
    from pilots.simulation import (
        SimulationSettings,
        simple_assignment,
        simulate_roster,
        simulate_unit_days,
    )

    settings = SimulationSettings(n_moderators=200, pre_weeks=0, weeks=4, accuracy_effect_points=effect_points)
    rng = np.random.default_rng(seed)
    roster = simulate_roster(settings, rng)
    rejections = 0
    for _ in range(n_pilots):
        assignment = simple_assignment(roster, settings.arms, rng)
        days = simulate_unit_days(roster, assignment, settings, rng, handle_times=False)
        totals = days.totals(0, 28)
        variances, rates = [], []
        for mask in (days.arm_mask("treatment"), days.arm_mask("control")):
            y, x = totals["correct"][mask], totals["audits"][mask]
            r, k = y.sum() / x.sum(), mask.sum()
            rates.append(r)
            variances.append(np.sum((y - r * x) ** 2) / (k * (k - 1) * x.mean() ** 2))
        z = (rates[0] - rates[1]) / np.sqrt(sum(variances))
        rejections += abs(z) > stats.norm.isf(0.025)
    rate = roster.audits_per_week
    inputs = dict(
        units_per_arm=(100, 100),
        audits_per_unit_per_week=float(rate.mean()),
        audit_rate_cv=float(rate.std() / rate.mean()),
        baseline=float(roster.accuracy.mean()),
        variance=VarianceComponents(
            between=float(roster.accuracy.var(ddof=1)),
            within=float(np.mean(roster.accuracy * (1 - roster.accuracy))),
        ),
        weeks=4,
    )
    return rejections / n_pilots, inputs


@pytest.mark.parametrize("effect_points", [0.0, 1.5])
def test_planner_power_matches_simulated_pilots(effect_points):
    n_pilots = 800
    observed, inputs = _simulated_rejection_rate(effect_points, n_pilots, seed=31)
    planned = plan_pilot(**inputs, target_effect=effect_points / 100).week(4).power
    mc_se = np.sqrt(planned * (1 - planned) / n_pilots)
    # Planner power is ~0.6 at +1.5 points (0.05 under no effect); MC standard error ~0.017 (0.008).
    assert abs(observed - planned) < 3.5 * mc_se + 0.01


def test_merge_close_looks_keeps_the_last_look_and_spacing():
    merged = merge_close_looks(np.array([0.1, 0.1005, 0.2, 0.9995, 1.0]), min_step=0.01)
    np.testing.assert_array_equal(merged, [0.1005, 0.2, 1.0])
    daily = merge_close_looks(np.arange(1, 365) / 364)
    assert daily[-1] == 1.0 and daily.size <= 65 and np.all(np.diff(daily) >= MIN_LOOK_STEP)
    weekly = np.arange(1, 53) / 52
    np.testing.assert_array_equal(merge_close_looks(weekly), weekly)  # a year of weekly looks is never merged
    with pytest.raises(ValueError, match="increasing"):
        merge_close_looks(np.array([0.5, 0.4, 1.0]))


@pytest.mark.parametrize(
    ("method", "spending"), [("group_sequential", "obf"), ("group_sequential", "pocock"), ("always_valid", "obf")]
)
def test_daily_looks_over_a_year_are_planned(method, spending):
    """364 looks whose information barely grows late in the pilot used to overflow the recursive integration
    (group sequential) or leave the always-valid calibration without a sign change."""
    plan = plan_pilot(
        total_units=240,
        audits_per_unit_per_week=12,
        baseline=0.93,
        icc=0.15,
        weeks=52,
        design=SequentialDesign(method, looks_per_week=7, spending=spending),
        target_effect=0.015,
    )
    mdes = np.array([row.mde for row in plan.weeks])
    assert np.all(np.isfinite(mdes)) and np.all(np.diff(mdes) <= 1e-12)
    assert all(row.inflation_factor > 1 and 0 <= row.power <= 1 for row in plan.weeks[1:])
    # Daily looks cost more than the fixed design and, at the horizon, no less than weekly ones (within the
    # merging approximation, 0.2%).
    weekly = plan_pilot(
        total_units=240,
        audits_per_unit_per_week=12,
        baseline=0.93,
        icc=0.15,
        weeks=52,
        design=SequentialDesign(method, looks_per_week=1, spending=spending),
    )
    assert plan.week(52).mde > 0.998 * weekly.week(52).mde


def test_always_valid_plan_with_daily_looks_matches_simulation():
    """The always-valid design at the horizon of a daily-look plan, simulated at its (merged) looks: the false-go
    rate is alpha and the power at the planned MDE is the target, within Monte Carlo error (200,000 paths)."""
    common = dict(total_units=240, audits_per_unit_per_week=12, baseline=0.93, icc=0.15, weeks=30)
    design = SequentialDesign("always_valid", looks_per_week=7)
    plan = plan_pilot(**common, design=design)
    fractions = np.asarray(plan.information_fractions())
    variance = plan.week(30).variance_difference
    evaluated = at_horizon(design, 0.05, fractions, variance)
    t, c = evaluated.fractions, evaluated.thresholds
    rng = np.random.default_rng(11)
    drift = plan.week(30).mde / np.sqrt(variance)
    for theta, expected in ((0.0, 0.05), (drift, 0.8)):
        paths = 200_000
        score, crossed, previous = np.zeros(paths), np.zeros(paths, dtype=bool), 0.0
        for tk, ck in zip(t, c, strict=True):
            score += rng.standard_normal(paths) * np.sqrt(tk - previous) + theta * (tk - previous)
            previous = tk
            crossed |= np.abs(score / np.sqrt(tk)) >= ck
        rate = crossed.mean()
        assert rate == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / paths)), theta


def test_degenerate_inputs_name_the_parameter():
    base = dict(units_per_arm=(100, 100), audits_per_unit_per_week=12, baseline=0.93)
    with pytest.raises(ValueError, match=r"^variance components must be finite with a positive total"):
        plan_pilot(**base, variance=VarianceComponents(0.0, 0.0))
    with pytest.raises(ValueError, match=r"^audits_per_unit_per_week is too small"):
        plan_pilot(**{**base, "audits_per_unit_per_week": 5e-324}, variance=ACCURACY, design=SequentialDesign())
    with pytest.raises(ValueError, match=r"^power must exceed alpha / 2"):
        plan_pilot(**base, variance=ACCURACY, alpha=0.5, power=0.2)
    with pytest.raises(ValueError, match=r"^alpha per comparison must be at least"):
        plan_pilot(**base, variance=ACCURACY, alpha=1e-12, design=SequentialDesign("group_sequential"))
    with pytest.raises(ValueError, match=r"^alpha 0\.5 is more than an always-valid test can spend"):
        plan_pilot(**base, variance=ACCURACY, alpha=0.5, design=SequentialDesign("always_valid"))
    with pytest.raises(ValueError, match=r"^total_units is too few"):
        plan_pilot(**{**base, "units_per_arm": None}, total_units=3, weights=(1, 100), variance=ACCURACY)
    with pytest.raises(ValueError, match=r"^units_per_arm must give"):
        plan_pilot(**{**base, "units_per_arm": (10, 0)}, variance=ACCURACY)


@pytest.mark.parametrize("scale", [1e-280, 1e280])
def test_plan_scales_with_the_variance_components(scale):
    """Variances are linear in the components, so tiny or huge ones plan like ordinary ones (no underflow to a
    zero variance or overflow to infinity) and the MDE scales with their square root."""
    common = dict(units_per_arm=(120, 120), audits_per_unit_per_week=12, baseline=0.93, weeks=4, target_effect=0.01)
    design = SequentialDesign("group_sequential")
    plain = plan_pilot(**common, variance=ACCURACY, design=design)
    scaled = plan_pilot(
        **{**common, "target_effect": 0.01 * np.sqrt(scale)},
        variance=VarianceComponents(ACCURACY.between * scale, ACCURACY.within * scale),
        design=design,
    )
    for a, b in zip(plain.weeks, scaled.weeks, strict=True):
        assert b.mde == pytest.approx(a.mde * np.sqrt(scale), rel=1e-9)
        assert b.inflation_factor == pytest.approx(a.inflation_factor, rel=1e-9)
        assert b.power == pytest.approx(a.power, rel=1e-9)


def test_a_target_effect_far_beyond_the_mde_has_full_power():
    for design in (SequentialDesign(), SequentialDesign("group_sequential"), SequentialDesign("always_valid", 7)):
        plan = plan_pilot(
            units_per_arm=(100, 100),
            audits_per_unit_per_week=12,
            baseline=0.93,
            variance=ACCURACY,
            weeks=3,
            design=design,
            target_effect=1e300,
        )
        assert [row.power for row in plan.weeks] == pytest.approx([1.0] * 3, abs=1e-12)


@pytest.mark.parametrize("method", ["group_sequential", "always_valid"])
def test_horizons_that_merge_to_the_same_looks_are_computed_once(monkeypatch, method):
    """With information linear in time (ICC 0) 63 daily looks (week 9) and every second of 126 (week 18, merged at
    `MIN_LOOK_STEP`) are the same fractions, as are weeks 5-8 and the even weeks 10-16: the plan computes each such
    design and its drift once, so those weeks show the same inflation factor, bit for bit."""
    from analysis import _planning_design

    calls = []
    original = _planning_design.boundaries
    monkeypatch.setattr(_planning_design, "boundaries", lambda t, *a, **k: calls.append(len(t)) or original(t, *a, **k))
    plan = plan_pilot(
        total_units=200,
        audits_per_unit_per_week=12,
        baseline=0.93,
        icc=0.0,
        weeks=18,
        design=SequentialDesign(method, looks_per_week=7),
    )
    for week in (10, 12, 14, 16, 18):
        assert plan.week(week).inflation_factor == plan.week(week // 2).inflation_factor
    assert plan.week(17).inflation_factor != plan.week(9).inflation_factor
    if method == "group_sequential":
        assert len(calls) == 18 - 5
