"""Seeded secant roots (`analysis._roots`) agree with Brent's method, and give up rather than guess."""

from __future__ import annotations

import math

import pytest
from scipy import optimize, stats

from analysis._roots import RootHint, seeded_root


def test_seeded_root_finds_brents_root_from_a_neighbours_hint():
    def f(x: float) -> float:
        return stats.norm.sf(3.0 - x) - 0.8

    exact = optimize.brentq(f, 0.0, 10.0, xtol=1e-14)
    slope = stats.norm.pdf(3.0 - exact)
    found = seeded_root(f, RootHint(exact * 1.003, slope * 1.02), 0.0, 10.0, 1e-10)
    assert found is not None and found.x == pytest.approx(exact, abs=1e-10)
    assert found.slope == pytest.approx(slope, rel=1e-3)


def test_seeded_root_gives_up_without_a_slope_or_outside_the_bracket():
    def f(x: float) -> float:
        return x - 1.0

    assert seeded_root(f, None, 0.0, 2.0, 1e-10) is None
    assert seeded_root(f, RootHint(1.5, math.nan), 0.0, 2.0, 1e-10) is None
    assert seeded_root(f, RootHint(1.5, -1.0), 0.0, 2.0, 1e-10) is None  # the wrong-signed slope steps out
    assert seeded_root(lambda x: math.copysign(1.0, x - 1.0), RootHint(1.2, 1.0), 0.0, 2.0, 1e-10) is None
