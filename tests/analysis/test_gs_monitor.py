"""Group-sequential monitoring and information time: crossings, RCI, stagewise p, t correction."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.group_sequential import FutilityDesign, boundaries
from analysis.gs_monitor import Look, monitor, stagewise_p_value, t_critical, z_equivalent
from analysis.information import information_time, monotone

T5 = np.arange(1, 6) / 5


def test_t_correction_keeps_the_nominal_tail_probability():
    for b, df in [(2.031, 40.0), (4.877, 95.0), (2.5, 8.0)]:
        c = t_critical(b, df)
        assert stats.t.sf(c, df) == pytest.approx(stats.norm.sf(b), rel=1e-9)
        assert z_equivalent(c, df) == pytest.approx(b, rel=1e-9)
    assert t_critical(2.0, math.inf) == 2.0
    assert t_critical(math.inf, 30.0) == math.inf
    assert z_equivalent(-2.5, 10.0) == pytest.approx(-z_equivalent(2.5, 10.0))


def test_crossing_status_rci_and_p_value_at_stop():
    b = boundaries(T5, 0.05, "obf")
    se = 0.01
    looks = [Look(0.01, se, 0.2), Look(0.02, se, 0.4), Look(0.03, se, 0.6, df=60.0)]
    res = monitor(looks, 0.05, "obf")
    assert res.crossings == ("none", "none", "up")
    assert res.stopped_at == 2 and res.status == "up"
    c = t_critical(b.upper[2], 60.0)
    assert res.rci.low == pytest.approx(0.03 - c * se) and res.rci.high == pytest.approx(0.03 + c * se)
    # Stagewise p: P0(upper crossing before look 3) + P0(reach look 3 with Z >= z3), two-sided.
    z3 = z_equivalent(3.0, 60.0)
    assert res.p_value == pytest.approx(stagewise_p_value(b, 2, z3))
    assert 0 < res.p_value < 0.05


def test_stagewise_p_value_reduces_to_fixed_p_and_monte_carlo():
    single = boundaries([1.0], 0.05)
    assert stagewise_p_value(single, 0, 2.2) == pytest.approx(2 * stats.norm.sf(2.2), rel=1e-9)
    b = boundaries(T5, 0.05, "obf")
    # At the final look exactly on the boundary the p-value is alpha.
    assert stagewise_p_value(b, 4, b.upper[4]) == pytest.approx(0.05, abs=1e-7)
    rng = np.random.default_rng(5)
    n = 200_000
    z = np.cumsum(rng.standard_normal((n, 5)) * math.sqrt(0.2), axis=1) / np.sqrt(T5)
    up_first = (z[:, 0] >= b.upper[0]) | ((np.abs(z[:, 0]) < b.upper[0]) & (z[:, 1] >= 3.5))
    assert stagewise_p_value(b, 1, 3.5) == pytest.approx(2 * up_first.mean(), abs=4 * math.sqrt(2e-3 / n) * 2)


def test_final_look_no_crossing_and_harm():
    res = monitor([Look(0.001, 0.01, 0.5), Look(0.002, 0.01, 1.0)], 0.05)
    assert res.status == "none" and res.final
    assert res.p_value == pytest.approx(stagewise_p_value(res.boundaries, 1, 0.2))
    harm = monitor([Look(-0.05, 0.01, 0.5)], 0.05)
    assert harm.status == "down" and harm.p_value < 0.05
    running = monitor([Look(0.01, 0.01, 0.3)], 0.05)
    assert running.status == "none" and running.p_value is None and not running.final


def test_futility_is_non_binding_and_reported():
    fut = FutilityDesign(beta=0.2)
    res = monitor([Look(-0.005, 0.01, 0.4), Look(-0.01, 0.01, 0.6)], 0.05, futility=fut)
    plain = monitor([Look(-0.005, 0.01, 0.4), Look(-0.01, 0.01, 0.6)], 0.05)
    assert res.critical_values == plain.critical_values  # efficacy bounds ignore futility
    assert res.crossings[0] == "futility" and res.status == "futility"
    assert res.p_value is None


def test_monitor_input_validation():
    with pytest.raises(ValueError, match="se"):
        monitor([Look(0.1, 0.0, 0.5)])
    with pytest.raises(ValueError, match="at least one"):
        monitor([])
    with pytest.raises(ValueError, match="increasing"):
        monitor([Look(0.1, 1.0, 0.5), Look(0.1, 1.0, 0.4)])


def test_information_time_planned_unless_material_departure():
    planned = np.array([0.35, 0.57, 0.73, 0.84, 0.92, 1.0])
    v_final = 1e-4
    close = v_final / (planned * np.array([1.05, 0.95, 1.02, 1.0, 0.98, 1.01]))
    it = information_time(planned, close, v_final)
    assert it.source == "planned" and it.fractions == pytest.approx(tuple(planned))
    far = v_final / (planned * 1.5)
    it = information_time(planned, far, v_final)
    assert it.source == "observed" and it.departure == pytest.approx(0.5)
    assert it.fractions[-1] == pytest.approx(1.5)
    assert "departs from the plan" in it.message


def test_monotone_fractions():
    np.testing.assert_allclose(monotone([0.2, 0.5, 0.45, 0.9]), [0.2, 0.5, 0.505, 0.9])
    with pytest.raises(ValueError, match="positive"):
        monotone([0.0, 0.5])
