"""Segment effects and Cochran's Q: direct computation, statsmodels meta-analysis, null rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from analysis import reasons
from analysis.ratio import RatioStats, compare
from analysis.segments import CHERRY_PICKING_WARNING, cochran_q, segment_effects

EST = np.array([0.1, 0.3, -0.2, 0.05])
VAR = np.array([0.01, 0.02, 0.015, 0.03])


def test_q_by_hand() -> None:
    """Weights 100, 50, 66.67, 33.33; pooled 0.05333...; Q = 7.53889 (hand arithmetic)."""
    het = cochran_q(EST, VAR)
    assert het.pooled == pytest.approx(0.16 / 3, rel=1e-12)
    assert het.q == pytest.approx(7.538888888888889, rel=1e-12)
    assert het.df == 3
    assert het.p_value == pytest.approx(stats.chi2.sf(7.538888888888889, 3), rel=1e-12)
    assert het.i_squared == pytest.approx((het.q - 3) / het.q, rel=1e-12)


def test_q_matches_statsmodels_combine_effects() -> None:
    rng = np.random.default_rng(0)
    e, v = rng.normal(0, 0.2, 7), rng.uniform(0.005, 0.05, 7)
    ref = combine_effects(e, v)
    het = cochran_q(e, v)
    assert het.q == pytest.approx(ref.q, rel=1e-12)
    assert het.i_squared == pytest.approx(ref.i2, rel=1e-12)
    assert het.pooled == pytest.approx(ref.mean_effect_fe, rel=1e-12)


def test_homogeneous_effects_give_zero_i_squared() -> None:
    het = cochran_q([0.1, 0.1, 0.1], [0.01, 0.02, 0.03])
    assert het.q == pytest.approx(0.0, abs=1e-15)
    assert het.i_squared == 0.0 and het.p_value == pytest.approx(1.0)


def test_too_few_segments() -> None:
    het = cochran_q([0.1], [0.01], levels=["EN"])
    assert het.reason == reasons.TOO_FEW_SEGMENTS and math.isnan(het.q)


def test_input_checks() -> None:
    with pytest.raises(ValueError, match="variances"):
        cochran_q([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(ValueError, match="equal length"):
        cochran_q([0.1, 0.2], [0.01])
    with pytest.raises(ValueError, match="segments"):
        segment_effects({})


def _arm(rng: np.random.Generator, k: int, p: float) -> RatioStats:
    x = rng.integers(10, 40, k)
    return RatioStats.from_units(rng.binomial(x, rng.beta(20 * p, 20 * (1 - p), k)), x)


def test_segment_effects_are_per_level_comparisons_with_warning() -> None:
    rng = np.random.default_rng(5)
    segs = {
        "Manila": (_arm(rng, 20, 0.85), _arm(rng, 20, 0.9)),
        "Dublin": (_arm(rng, 15, 0.9), _arm(rng, 15, 0.9)),
    }
    res = segment_effects(segs, attribute="site")
    assert [e.level for e in res.effects] == ["Manila", "Dublin"]
    for e, (c, t) in zip(res.effects, segs.values(), strict=True):
        assert e.difference == compare(c, t)
    d = [e.difference for e in res.effects]
    ref = cochran_q([x.difference for x in d], [x.se**2 for x in d])
    assert res.heterogeneity.q == pytest.approx(ref.q)
    assert res.warning == CHERRY_PICKING_WARNING and "chance" in res.warning


def test_degenerate_segments_are_shown_but_not_tested() -> None:
    rng = np.random.default_rng(6)
    segs = {
        "EN": (_arm(rng, 20, 0.85), _arm(rng, 20, 0.9)),
        "DE": (_arm(rng, 20, 0.85), _arm(rng, 20, 0.9)),
        "PL": (_arm(rng, 1, 0.85), _arm(rng, 3, 0.9)),
    }
    res = segment_effects(segs)
    assert len(res.effects) == 3
    assert res.effects[2].difference.reason == reasons.SINGLE_UNIT
    assert res.heterogeneity.levels == ("EN", "DE") and res.heterogeneity.df == 1


def test_q_false_alarm_rate_under_homogeneity() -> None:
    """300 seeded pilots, 4 segments with the same effect: Q rejects at 0.05 in 0.05 +- 0.04."""
    rng = np.random.default_rng(77)
    rejections = 0
    for _ in range(300):
        segs = {str(s): (_arm(rng, 25, 0.85), _arm(rng, 25, 0.88)) for s in range(4)}
        rejections += segment_effects(segs).heterogeneity.p_value <= 0.05
    assert abs(rejections / 300 - 0.05) < 0.04
