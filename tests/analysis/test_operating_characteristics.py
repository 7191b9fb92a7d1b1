"""Operating characteristics of the sequential designs on simulated whole pilots (seeded, CI-sized).

Fixed roster, heterogeneous moderators (accuracy ~0.93 +- 0.03, 5-25 audits a week), 6 weeks of
daily data. Daily looks for the always-valid design, weekly reviews for group-sequential.
The larger version with a markdown table is bench/validate_sequential.py.
"""

import numpy as np
import pytest

from analysis.ratio import RatioStats, compare
from tests.analysis.pilot_sim import PilotSpec, planned_variances, simulate_batched
from tests.analysis.sequential_eval import (
    always_valid_daily,
    fixed_horizon,
    group_sequential_weekly,
    naive_daily,
    rate,
)

ALPHA = 0.05
N_NULL = 600


@pytest.fixture(scope="module", params=[100, 400], ids=lambda k: f"{k}mods")
def null_pilots(request):
    spec = PilotSpec(moderators=request.param, days=42)
    return (
        spec,
        planned_variances(spec, n_pilots=100),
        simulate_batched(spec, N_NULL, seed=request.param),
    )


def _assert_at_most_alpha(outcome, label):
    p, se = rate(outcome)
    print(f"{label}: false-go {p:.3f} (MC se {se:.3f})")
    assert p <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / N_NULL), label


def test_simulator_matches_ratio_compare(null_pilots):
    spec, _, looks = null_pilots
    half = spec.moderators // 2
    y, x = looks.y[0], looks.x[0]
    d = compare(RatioStats.from_units(y[:half], x[:half]), RatioStats.from_units(y[half:], x[half:]))
    assert looks.estimate[0, -1] == pytest.approx(d.difference, rel=1e-12)
    assert looks.variance[0, -1] == pytest.approx(d.se**2, rel=1e-9)
    assert looks.df[0, -1] == pytest.approx(d.df, rel=1e-9)


def test_always_valid_daily_false_go_at_most_alpha(null_pilots):
    spec, plan, looks = null_pilots
    _assert_at_most_alpha(always_valid_daily(looks, plan, ALPHA), f"always_valid {spec.moderators}")


def test_group_sequential_weekly_false_go_at_most_alpha(null_pilots):
    spec, plan, looks = null_pilots
    _assert_at_most_alpha(group_sequential_weekly(looks, plan, ALPHA), f"gs planned t {spec.moderators}")
    observed = group_sequential_weekly(looks, plan, ALPHA, fractions="observed")
    _assert_at_most_alpha(observed, f"gs observed t {spec.moderators}")


def test_futility_bounds_only_ever_remove_crossings(null_pilots):
    """Non-binding futility leaves the efficacy boundaries as they are: every pilot that crosses with futility
    stopping crosses without it too, so the false-go rate can only fall."""
    spec, plan, looks = null_pilots
    plain = group_sequential_weekly(looks, plan, ALPHA)
    with_futility = group_sequential_weekly(looks, plan, ALPHA, futility=True)
    _assert_at_most_alpha(with_futility, f"gs + futility {spec.moderators}")
    crossed = with_futility.decision != 0
    assert np.array_equal(with_futility.decision[crossed], plain.decision[crossed])


def test_naive_daily_peeking_inflates_false_go(null_pilots):
    spec, _, looks = null_pilots
    fixed, _ = rate(fixed_horizon(looks, ALPHA))
    naive, _ = rate(naive_daily(looks, ALPHA))
    print(f"{spec.moderators}: fixed horizon {fixed:.3f}, naive daily peeking {naive:.3f}")
    assert abs(fixed - ALPHA) <= 3 * np.sqrt(ALPHA * (1 - ALPHA) / N_NULL)
    assert naive > 3 * ALPHA


@pytest.fixture(scope="module")
def effect_pilots():
    spec = PilotSpec(moderators=100, days=42, effect=0.01)
    return spec, planned_variances(spec, n_pilots=100), simulate_batched(spec, 400, seed=31)


def test_confidence_sequence_coverage_over_all_looks(effect_pilots):
    spec, plan, looks = effect_pilots
    covered = always_valid_daily(looks, plan, ALPHA, true_effect=spec.effect).covered
    rci = group_sequential_weekly(looks, plan, ALPHA, true_effect=spec.effect).covered
    se = np.sqrt(ALPHA * (1 - ALPHA) / covered.size)
    print(f"CS coverage over all daily looks {covered.mean():.3f}; RCI at decision {rci.mean():.3f}")
    assert covered.mean() >= 1 - ALPHA - 2 * se
    assert rci.mean() >= 1 - ALPHA - 2 * se


def test_power_under_ramping_effect_reported():
    spec = PilotSpec(moderators=100, days=42, effect=0.02, ramp_days=14)
    plan = planned_variances(spec, n_pilots=100)
    looks = simulate_batched(spec, 300, seed=41)
    power = {
        "fixed": rate(fixed_horizon(looks, ALPHA), "up")[0],
        "always_valid": rate(always_valid_daily(looks, plan, ALPHA), "up")[0],
        "group_sequential": rate(group_sequential_weekly(looks, plan, ALPHA), "up")[0],
    }
    print("power, +2 points ramping over 2 weeks, 100 moderators:", power)
    # Sanity only: the sequential price is visible but bounded.
    assert 0.3 < power["fixed"] < 0.8
    assert power["fixed"] - 0.15 < power["group_sequential"] <= power["fixed"] + 0.05
    assert power["fixed"] - 0.3 < power["always_valid"] <= power["fixed"] + 0.05
