"""The results engine's sequential layer against `analysis` computed directly."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from analysis.always_valid import always_valid, design_mixture
from analysis.gs_monitor import Look, monitor
from pilots.results.looks import InformationPlan, planned_look_days
from pilots.results.sequential import LookSeries, mixture, run


def _series(days, effect: float, seed: int) -> tuple[LookSeries, np.ndarray]:
    rng = np.random.default_rng(seed)
    variances = 4e-4 / (np.asarray(days) + 1.0) + 2e-5
    estimates = effect + rng.normal(0, np.sqrt(variances))
    return LookSeries(tuple(days), tuple(estimates), tuple(variances), tuple([60.0] * len(days))), variances


def test_planned_looks():
    assert planned_look_days("group_sequential", 3, 42) == (13, 27, 41)
    assert planned_look_days("always_valid", 3, 10) == tuple(range(2, 10))


@pytest.mark.parametrize("effect", [0.0, 0.01, 0.03])
def test_always_valid_latest_p_value_equals_the_full_calibrated_one(effect):
    days = planned_look_days("always_valid", 1, 28)
    series, planned = _series(days, effect, seed=3)
    plan = InformationPlan(days, planned, "pre_period", "plan")
    outcome = run("always_valid", series, plan, 0.05, "obf", final=False)
    design = design_mixture(planned[-1], 0.05, planned[-1] / planned)
    direct = always_valid(series.estimates, series.variances, design, series.dfs)
    assert outcome.p_value == pytest.approx(direct.p_values[-1], rel=1e-3, abs=1e-6)
    assert outcome.low == pytest.approx(direct.cs_low[-1], rel=1e-3)
    assert outcome.high == pytest.approx(direct.cs_high[-1], rel=1e-3)
    assert outcome.information_source == "planned"
    history = [point.p_value for point in outcome.history]
    assert history == pytest.approx(list(direct.p_values), rel=1e-3, abs=1e-6)  # the running p-value at every look
    assert all(later <= earlier for earlier, later in pairwise(history))


def test_group_sequential_matches_monitor_at_planned_fractions():
    days = planned_look_days("group_sequential", 4, 56)
    series, planned = _series(days[:3], 0.02, seed=4)
    plan = InformationPlan(days, np.append(planned, planned[-1] * 0.9), "pre_period", "plan")
    outcome = run("group_sequential", series, plan, 0.05, "obf", final=False)
    fractions = plan.planned_fractions()[:3]
    triples = zip(series.estimates, series.variances, fractions, strict=True)
    looks = [Look(e, np.sqrt(v), t, 60.0) for e, v, t in triples]
    direct = monitor(looks, 0.05, "obf")
    assert (outcome.low, outcome.high) == pytest.approx((direct.rci.low, direct.rci.high))
    assert outcome.crossing == (direct.status if direct.status != "futility" else "none")


def test_mixture_memo_returns_the_same_design():
    fractions = np.linspace(0.1, 1.0, 10)
    assert mixture(1e-4, 0.05, fractions) is mixture(1e-4, 0.05, fractions + 1e-7)
