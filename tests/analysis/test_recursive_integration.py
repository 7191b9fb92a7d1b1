"""The fast paths of the recursive integration agree with the plain constructions they replace: the grid read from
the untruncated grid, the half kernel read mirrored, the transition against the dense sum, one fused step against
a crossing and an advance, and the Newton boundary search settling where it used to bisect away from its root."""

import math

import numpy as np
import pytest
from scipy import optimize

from analysis import _recursive_integration as integration
from analysis._recursive_integration import _FULL, Propagator, _layout, _transition, grid, solve_upper


def _dense(new_points, base, t, t_prev, mass):
    z = (new_points[:, None] * math.sqrt(t) - base[None, :]) / math.sqrt(t - t_prev)
    return np.exp(-0.5 * z * z) @ mass


def test_layout_matches_the_plain_grid_construction():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        mean = rng.normal(0.0, 4.0)
        low = mean + rng.uniform(-20.0, 5.0)
        high = low + rng.exponential(3.0) * rng.choice([1.0, 0.01, 1e-4])
        layout = _layout(mean, low, high)
        points, weights = grid(mean, low, high)
        assert layout.points.shape == points.shape
        np.testing.assert_allclose(layout.points, points, rtol=0, atol=1e-13)
        np.testing.assert_allclose(layout.weights, weights, rtol=1e-12, atol=1e-300)
        np.testing.assert_array_equal(layout.points[layout.inner], mean + _FULL[layout.full])


@pytest.mark.parametrize("rows", [slice(3, 100), slice(40, 245), slice(150, 280), slice(142, 143)])
def test_half_kernel_products_equal_the_full_kernel(rows):
    t, t_prev = 0.61, 0.6
    cols = slice(20, 230)
    full = np.exp(
        -0.5 * ((_FULL[:, None] * math.sqrt(t) - _FULL[None, :] * math.sqrt(t_prev)) / math.sqrt(t - t_prev)) ** 2
    )
    vector = np.random.default_rng(1).uniform(size=cols.stop - cols.start)
    integration._KERNELS.clear()
    product = integration._KERNELS.product(t, t_prev, rows, cols, vector)
    # Relative rounding of exp(-z^2 / 2) grows with z^2: 1e-13 at the 1e-238 entries far off the diagonal.
    np.testing.assert_allclose(product, full[rows, cols] @ vector, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("theta", [0.0, 2.5])
def test_transition_equals_the_dense_sum(theta):
    prop = Propagator(theta)
    fractions = np.linspace(0.05, 1.0, 20)
    for t in fractions[:12]:
        prop.advance(t, 2.8, -2.8)
    t, t_prev = fractions[12], fractions[11]
    new = _layout(theta * math.sqrt(t), -2.8, 2.8)
    base = prop.points * math.sqrt(t_prev) + theta * (t - t_prev)
    fast = _transition(new, prop._grid, base, t, t_prev, prop.mass)
    np.testing.assert_allclose(fast, _dense(new.points, base, t, t_prev, prop.mass), rtol=1e-12, atol=1e-300)


def test_step_is_a_crossing_then_an_advance():
    stepped, apart = Propagator(1.2), Propagator(1.2)
    for t, bound in zip((0.2, 0.45, 0.7, 0.85), (4.0, 3.0, 2.5, 2.2), strict=True):
        assert stepped.step(t, bound, -bound) == pytest.approx(apart.cross(t, bound, -bound), rel=1e-14)
        apart.advance(t, bound, -bound)
        np.testing.assert_allclose(stepped.mass, apart.mass, rtol=1e-14)


def test_newton_settles_where_the_first_guess_is_the_root(monkeypatch):
    """At the first stage the first guess is the exact root; a zero step used to fail the bracket test and send the
    search to Brent's method (a sixth of all the boundaries of a year of daily looks)."""

    def no_brent(*args, **kwargs):
        raise AssertionError("fell back to Brent's method")

    monkeypatch.setattr(optimize, "brentq", no_brent)
    assert solve_upper(Propagator(0.0), 0.3, 3e-9) == pytest.approx(float(integration._norm_isf(3e-9)), abs=1e-12)
    prop = Propagator(0.0)
    for t in np.linspace(1 / 64, 1.0, 64):
        bound = solve_upper(prop, t, 1e-3)
        assert prop.cross(t, bound, -bound)[0] == pytest.approx(1e-3, rel=1e-9)
        prop.advance(t, bound, -bound)


def test_symmetric_transition_mirrors_the_full_one():
    """Without drift and with boundaries -b and b the grids are antisymmetric and the mass symmetric: computing half
    the rows and mirroring them gives every row of the full transition."""
    prop = Propagator(0.0)
    for t, bound in zip((0.1, 0.2, 0.3, 0.4), (5.0, 3.5, 2.9, 2.6), strict=True):
        prop.advance(t, bound, -bound)
    assert prop._symmetric
    np.testing.assert_array_equal(prop.points, -prop.points[::-1])
    np.testing.assert_allclose(prop.mass, prop.mass[::-1], rtol=1e-14)
    t, t_prev = 0.5, 0.4
    new = _layout(0.0, -2.4, 2.4)
    base = prop.points * math.sqrt(t_prev)
    args = (new, prop._grid, base, t, t_prev, prop.mass)
    np.testing.assert_allclose(integration._symmetric_transition(*args), _transition(*args), rtol=1e-13, atol=1e-300)
    up, low = prop.cross(t, 2.4, -2.4)
    assert up == low and up == pytest.approx(
        float(integration._norm_sf((2.4 * math.sqrt(t) - base) / math.sqrt(t - t_prev)) @ prop.mass), rel=1e-14
    )
    asymmetric = Propagator(0.0)
    asymmetric.advance(0.1, 5.0, -4.0)
    assert not asymmetric._symmetric


def test_threads_sharing_the_kernel_cache_get_the_sequential_answers(monkeypatch):
    """Evicted kernels are overwritten in place; with a cache of three kernels every product evicts, and threads
    integrating different schedules at once must still read only whole kernels."""
    import threading

    from analysis._recursive_integration import crossing_probabilities

    monkeypatch.setattr(integration._KERNELS, "size", 3)
    cases = [(np.linspace(0.02 * k, 1.0, 30 + k), 2.5 + 0.1 * k, 0.5 * k) for k in range(1, 5)]

    def total(case):
        t, bound, theta = case
        return crossing_probabilities(t, np.full(t.size, bound), np.full(t.size, -bound), theta).total

    expected = [total(case) for case in cases]
    got = [[] for _ in cases]

    def work(i):
        for _ in range(3):
            got[i].append(total(cases[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for values, value in zip(got, expected, strict=True):
        assert values == [value] * 3
