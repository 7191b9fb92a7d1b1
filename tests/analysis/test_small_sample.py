"""`analysis.small_sample` against independent references: exact enumeration of re-randomizations, scipy's Welch
test and the noncentral t."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
from scipy import optimize, stats

from analysis import small_sample
from analysis.sequential_randomization import crossings
from analysis.small_sample import (
    ProcedureDesign,
    _draws,
    detectable_effect,
    procedure_power,
    randomization_floor,
)


def complete(k: int) -> np.ndarray:
    """Every balanced assignment of ``2k`` units (1 = treatment)."""
    rows = []
    for treated in itertools.combinations(range(2 * k), k):
        row = np.zeros(2 * k, dtype=int)
        row[list(treated)] = 1
        rows.append(row)
    return np.array(rows)


def block_distribution(k: int) -> dict[tuple[int, ...], Fraction]:
    """Exact distribution of the first ``k`` arms of a 1:1 permuted-block stream (blocks of one or two cycles, each
    size with probability 1/2, every distinct order of a block equally likely), enumerated from that description."""
    out: dict[tuple[int, ...], Fraction] = defaultdict(Fraction)

    def extend(prefix: tuple[int, ...], p: Fraction) -> None:
        if len(prefix) >= k:
            out[prefix[:k]] += p
            return
        for size in (2, 4):
            orders = set(itertools.permutations((0, 1) * (size // 2)))
            for block in orders:
                extend(prefix + block, p * Fraction(1, 2) / len(orders))

    extend((), Fraction(1))
    return dict(out)


def test_floor_of_complete_randomization_is_the_assignment_and_its_mirror():
    null = complete(4)  # C(8, 4) = 70 equally likely assignments
    assert np.allclose(randomization_floor(null, null, np.full(70, 1 / 70)), 2 / 70)
    # The same rows as Monte Carlo draws: (1 + 2 matches) / (70 + 1), as the engine computes a p-value.
    assert np.allclose(randomization_floor(null[:3], null), 3 / 71)


def test_floor_of_eight_units_in_permuted_blocks_matches_exact_enumeration():
    dist = block_distribution(8)
    rows = np.array(list(dist))
    weights = np.array([float(p) for p in dist.values()])
    floor = randomization_floor(rows, rows, weights)
    for row, value in zip(rows, floor, strict=True):
        assert value == pytest.approx(float(dist[tuple(row)] + dist.get(tuple(1 - row), 0)))
    # Only 42.4% of the assignments the blocks draw leave the test able to reach 0.05 at all.
    share = sum(p for row, p in dist.items() if p + dist.get(tuple(1 - np.array(row)), 0) <= Fraction(1, 20))
    assert float(weights @ (floor <= 0.05)) == pytest.approx(float(share), abs=1e-12)
    assert float(share) == pytest.approx(0.424, abs=5e-4)


def test_floor_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same number of units"):
        randomization_floor(np.zeros((2, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="weights"):
        randomization_floor(np.zeros((1, 4)), np.zeros((3, 4)), np.ones(3))


def one_look(n: int, variance: float = 1.0, alpha: float = 0.05) -> ProcedureDesign:
    z = stats.norm.isf(alpha / 2)
    return ProcedureDesign(
        np.array([27]), np.array([variance]), (n, n), np.array([True]), lambda v: np.full(v.shape, z), alpha
    )


def test_a_single_look_crossing_is_welchs_test():
    """One look at a fixed z boundary t-corrected with Welch df: the crossing is exactly Welch's two-sided test at
    alpha in the effect's direction, checked against scipy on independently drawn units."""
    n, paths, effect = 6, 6000, 1.1
    observed = np.tile(np.r_[np.zeros(n), np.ones(n)].astype(int), (paths, 1))
    result = procedure_power(one_look(n), effect, observed, complete(n), seed=1)
    rng = np.random.default_rng(2)
    sd = math.sqrt(1.0 / (2.0 / n))  # a unit's sd giving Var(difference) = 1
    c, t = rng.normal(0.0, sd, (20000, n)), rng.normal(effect, sd, (20000, n))
    test = stats.ttest_ind(t, c, axis=1, equal_var=False)
    reference = float(np.mean((test.pvalue <= 0.05) & (test.statistic > 0)))
    se = math.sqrt(reference * (1 - reference) * (1 / paths + 1 / 20000))
    assert abs(result.crossing - reference) < 3 * se
    # The exact randomization test over all 924 balanced assignments agrees with Welch's test nearly always.
    assert result.power <= result.crossing
    assert result.power > result.crossing - 0.05
    assert result.ceiling == 1.0


def test_detectable_effect_of_a_single_look_is_near_the_noncentral_t():
    """15 against 15 units, one look: the effect with 80% power is close to the two-sample t test's on 28 df
    (scipy's noncentral t), a little larger because Welch's df are fewer."""
    n = 15
    rng = np.random.default_rng(3)
    observed = np.array([rng.permutation(np.r_[np.zeros(n), np.ones(n)].astype(int)) for _ in range(2000)])
    null = np.array([rng.permutation(np.r_[np.zeros(n), np.ones(n)].astype(int)) for _ in range(999)])
    found = detectable_effect(one_look(n), 0.8, observed, null, scale=1.0, seed=4)
    df, crit = 2 * n - 2, stats.t.isf(0.025, 2 * n - 2)
    reference = optimize.brentq(lambda d: stats.nct.sf(crit, df, d) - 0.8, 0.1, 10.0)
    assert found.detectable_effect == pytest.approx(reference, rel=0.06)
    assert found.detectable_effect >= reference * 0.98
    assert abs(found.at_effect.power - 0.8) < 0.03
    # The power at another effect from the same draws is `procedure_power`'s with the same seed, to the last digit.
    again = detectable_effect(one_look(n), 0.8, observed, null, scale=1.0, seed=4, also_at=0.7)
    assert again.detectable_effect == found.detectable_effect and found.also_at is None
    assert again.also_at == procedure_power(one_look(n), 0.7, observed, null, seed=4)


def test_a_design_whose_test_cannot_reach_alpha_has_no_detectable_effect():
    """2 against 2 units: 6 balanced assignments, the smallest two-sided p is 1/3, so nothing is ever confirmed."""
    null = complete(2)
    observed = np.tile(null[0], (500, 1))
    found = detectable_effect(one_look(2), 0.8, observed, null, scale=1.0, seed=5)
    assert found.detectable_effect is None and found.ceiling == 0.0 and found.at_effect.power == 0.0


def test_unit_deviations_nest_over_looks():
    """Between part plus a within part that falls like 1 / audits; a later look's mean contains an earlier one's
    audits, so cov(look j, look k) is the variance at the later look."""
    days = np.array([6, 13, 20, 27, 34, 41])
    unit = 0.4 + 3.0 / (days + 1.0)
    design = ProcedureDesign(days, unit * (2 / 4), (4, 4), np.ones(6, dtype=bool), lambda v: np.ones(v.shape), 0.05)
    between, within = design.unit_variances()
    assert between == pytest.approx(0.4, rel=1e-9) and np.allclose(within, 3.0 / (days + 1.0))
    deviations = _draws(design, np.zeros((40000, 8), dtype=int), np.zeros((1, 8), dtype=int), 6).deviations[:, :, 0]
    cov = np.cov(deviations.T)
    assert np.allclose(np.diag(cov), unit, rtol=0.03)
    assert cov[0, 5] == pytest.approx(unit[5], rel=0.05) and cov[2, 4] == pytest.approx(unit[4], rel=0.05)


def test_design_input_checks():
    with pytest.raises(ValueError, match="planned_sizes"):
        one_look(1)
    with pytest.raises(ValueError, match="look_days"):
        ProcedureDesign(np.array([3, 2]), np.array([1.0, 1.0]), (4, 4), np.ones(2, bool), np.ones_like, 0.05)
    with pytest.raises(ValueError, match="finite"):
        procedure_power(one_look(4), math.nan, np.zeros((1, 8), int), complete(4))


def test_the_randomization_test_reads_the_unadjusted_variance():
    """With a pre-period adjustment the crossing reads the adjusted estimate and the randomization test the raw
    difference: doubling the raw variance leaves the crossing alone and costs confirmed power."""
    n = 10
    rng = np.random.default_rng(9)
    observed = np.array([rng.permutation(np.r_[np.zeros(n), np.ones(n)].astype(int)) for _ in range(1500)])
    null = np.array([rng.permutation(np.r_[np.zeros(n), np.ones(n)].astype(int)) for _ in range(499)])
    adjusted = one_look(n)
    raw = ProcedureDesign(
        adjusted.look_days, adjusted.look_variance, (n, n), adjusted.reviews, adjusted.thresholds, 0.05, np.array([2.0])
    )
    assert np.allclose(raw.covariate_scale(), math.sqrt(1.0 / (2 / n)))
    same, less = (
        procedure_power(adjusted, 3.0, observed, null, seed=2),
        procedure_power(raw, 3.0, observed, null, seed=2),
    )
    assert same.crossing == less.crossing
    assert less.power < same.power - 0.1


@pytest.mark.parametrize("product", [small_sample.NULL_PRODUCT, 700])
def test_confirmation_in_blocks_of_distinct_draws_matches_the_sequential_test_over_every_draw(monkeypatch, product):
    """Distinct re-randomizations computed once and weighted by how often they were drawn, in blocks of paths (here
    also blocks of a few paths with a ragged last one), confirm exactly the paths that the sequential randomization
    test confirms when it is run path by path over every draw; and scipy's Welch t agrees with the null statistics."""
    monkeypatch.setattr(small_sample, "NULL_PRODUCT", product)
    rng = np.random.default_rng(11)
    paths = 23
    draws = np.array([rng.permutation([0] * 5 + [1] * 5) for _ in range(60)])
    draws = np.concatenate([draws, draws[:25], draws[:5]])  # drawn two and three times
    observed = np.array([rng.permutation([0] * 5 + [1] * 5) for _ in range(paths)])
    design = ProcedureDesign(
        np.array([6, 13, 20]), np.array([3.0, 2.0, 1.5]), (5, 5), np.ones(3, bool), np.ones_like, 0.3
    )
    drawn = _draws(design, observed, draws, seed=4)
    treated = observed == small_sample.TREATMENT
    effect = 1.0
    got = small_sample._confirmed(design, drawn, effect, np.arange(paths), treated)
    expected = []
    for c in range(paths):
        obs, null = np.empty(3), np.empty((draws.shape[0], 3))
        for j in range(3):
            y = drawn.deviations[c, j] + effect * treated[c]
            obs[j] = small_sample._welch(y, treated[c], observed[c] == 0)[0]
            null[:, j] = small_sample._welch_null(y[None, :], (draws == 1).astype(float), (draws == 0).astype(float))[0]
            d = 17
            ref = stats.ttest_ind(y[draws[d] == 1], y[draws[d] == 0], equal_var=False).statistic
            assert null[d, j] == pytest.approx(ref, rel=1e-4)
        result = crossings(np.vstack([obs, null])[None], np.ones(1 + draws.shape[0]), design.review_levels(), 1e-5)
        expected.append(result[0][0] >= 0)
    assert np.array_equal(got, np.array(expected))
    assert 0 < got.sum() < paths  # the case is not trivial either way
