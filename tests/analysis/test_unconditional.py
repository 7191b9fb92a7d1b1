"""Boschloo's unconditional exact test against scipy.stats.boschloo_exact, closed forms, and its size by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.unconditional import boschloo


def _scipy(x1: int, n1: int, x2: int, n2: int, alternative: str) -> float:
    # scipy's table has the groups in columns: [[x1, x2], [n1 - x1, n2 - x2]].
    return float(stats.boschloo_exact([[x1, x2], [n1 - x1, n2 - x2]], alternative=alternative, n=64).pvalue)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(7, 20, 0, 20), (8, 20, 0, 20), (0, 18, 9, 22), (7, 22, 0, 18), (12, 50, 2, 50), (10, 45, 1, 47), (3, 7, 1, 9)],
)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_matches_scipy_boschloo_exact(x1, n1, x2, n2, alternative) -> None:
    ours = boschloo(x1, n1, x2, n2, alternative).p_value
    assert ours == pytest.approx(_scipy(x1, n1, x2, n2, alternative), rel=1e-6)


def test_never_below_scipy_on_random_tables() -> None:
    """scipy searches the nuisance parameter with a sampler, so it can only under-find the supremum: ours is the same
    or (very slightly) larger, never smaller."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        n1, n2 = (int(v) for v in rng.integers(1, 30, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        if x1 + x2 in (0, n1 + n2):
            continue
        ours, ref = boschloo(x1, n1, x2, n2).p_value, _scipy(x1, n1, x2, n2, "two-sided")
        assert ours >= ref * (1 - 1e-9)
        assert ours == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("n", [3, 10, 20])
def test_most_extreme_table_closed_form(n) -> None:
    """All of one arm against none of the other (n per arm): the region is that table alone, so the one-sided p-value
    is max over pi of pi^n (1 - pi)^n = 4^-n (at pi = 1/2), two-sided twice that."""
    res = boschloo(n, n, 0, n)
    assert res.p_value == pytest.approx(2 * 4.0**-n, rel=1e-9)
    assert res.nuisance == pytest.approx(0.5, abs=1e-6)
    assert boschloo(n, n, 0, n, "greater").p_value == pytest.approx(4.0**-n, rel=1e-9)
    assert boschloo(n, n, 0, n, "less").p_value == 1.0


def test_more_powerful_than_fisher_at_twenty_per_arm() -> None:
    """7 of 20 silent against none: Fisher's two-sided test gives 0.0083, Boschloo's 0.0034."""
    fisher = stats.fisher_exact([[7, 13], [0, 20]]).pvalue
    assert fisher == pytest.approx(0.00832, abs=5e-5)
    assert boschloo(7, 20, 0, 20).p_value == pytest.approx(0.003359, abs=2e-6)


def test_size_holds_whatever_the_common_rate() -> None:
    """Exact size under the null: the probability of every table with p <= alpha, summed, stays <= alpha for any
    common rate (here on a grid of rates at 20 per arm, alpha = 0.01)."""
    n, alpha = 20, 0.01
    p = np.array([[boschloo(a, n, b, n).p_value for b in range(n + 1)] for a in range(n + 1)])
    reject = p <= alpha
    for pi in np.linspace(0.01, 0.99, 99):
        pmf = stats.binom.pmf(np.arange(n + 1), n, pi)
        assert float(pmf @ reject @ pmf) <= alpha + 1e-12


def test_degenerate_tables_and_input_checks() -> None:
    assert boschloo(0, 10, 0, 12).p_value == 1.0
    assert boschloo(10, 10, 12, 12).p_value == 1.0
    assert math.isnan(boschloo(0, 10, 0, 12).nuisance)
    with pytest.raises(ValueError, match="alternative"):
        boschloo(1, 10, 0, 10, "both")
    with pytest.raises(ValueError, match="n1 and n2"):
        boschloo(0, 0, 0, 10)
    with pytest.raises(ValueError, match="x1 and x2"):
        boschloo(11, 10, 0, 10)
    with pytest.raises(ValueError, match="integer"):
        boschloo(1.5, 10, 0, 10)
