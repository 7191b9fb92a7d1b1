"""The sequential randomization test: exact level under repeated reviews, the fixed-horizon test at one review, ties,
undefined statistics and weighted draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.sequential_randomization import crossings, sequential_randomization_test
from analysis.spending import pocock

REVIEWS = 6
SPENT = pocock(np.arange(1, REVIEWS + 1) / REVIEWS, 0.025)


def _exchangeable_paths(rng: np.random.Generator, sets: int, n: int) -> np.ndarray:
    """Standardized random-walk paths: the observed row and the re-randomized ones exchangeable (the sharp null)."""
    steps = rng.standard_normal((sets, n + 1, REVIEWS))
    return np.cumsum(steps, axis=2) / np.sqrt(np.arange(1, REVIEWS + 1))


def test_reading_at_every_review_holds_the_level_exactly_where_the_fixed_horizon_test_does_not():
    """Under the sharp null the observed path is one of n + 1 exchangeable ones: the sequential rule crosses in at
    most floor(spent (n + 1)) / (n + 1) of data sets by each review (here 20,000 data sets, 199 re-randomizations),
    while asking the fixed-horizon test again at each review at the full one-sided 0.025 rejects about twice as
    often."""
    rng = np.random.default_rng(2)
    n, sets = 199, 20_000
    crossed_by = np.zeros(REVIEWS)
    repeated = 0
    for _ in range(sets // 2_000):
        paths = _exchangeable_paths(rng, 2_000, n)
        first, _, share = crossings(paths, np.ones(n + 1), SPENT)
        assert np.all(share <= SPENT + 1e-12)  # never more weight across the boundary than the level spent
        for i in range(REVIEWS):
            crossed_by[i] += np.sum((first >= 0) & (first <= i))
        p = (1 + (paths[:, 1:, :] >= paths[:, :1, :]).sum(axis=1)) / (n + 1)
        repeated += int(np.sum((p <= 0.025).any(axis=1)))
    exact = np.floor(SPENT * (n + 1) + 1e-9) / (n + 1)
    se = np.sqrt(exact * (1 - exact) / sets)
    assert np.all(np.abs(crossed_by / sets - exact) <= 3 * se)
    assert repeated / sets > 0.045


def test_one_review_is_the_fixed_horizon_randomization_test():
    """With one review at level a the observed path crosses exactly when (1 + #{null >= observed}) / (n + 1) <= a,
    the Phipson-Smyth p-value of `analysis.permutation` against the same draws."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        null = rng.standard_normal(99)
        observed = float(rng.normal(1.5, 1.0))
        level = float(rng.choice([0.01, 0.025, 0.05, 0.1]))
        p = (1 + np.sum(null >= observed)) / 100
        result = sequential_randomization_test([observed], null[:, None], [level])
        assert result.rejects == (p <= level)


def test_the_less_side_is_the_greater_side_of_the_negated_statistics():
    rng = np.random.default_rng(4)
    paths = _exchangeable_paths(rng, 200, 49)
    for k in range(200):
        down = sequential_randomization_test(paths[k, 0], paths[k, 1:], SPENT, "less")
        up = sequential_randomization_test(-paths[k, 0], -paths[k, 1:], SPENT, "greater")
        assert down.crossed_at == up.crossed_at
        assert np.array_equal(down.boundaries, -up.boundaries)


def test_tied_paths_all_cross_or_none_do():
    """Five re-randomizations tie the observed statistic: with room for three paths none of the six crosses, with
    room for six all do."""
    null = np.r_[np.full(5, 2.0), np.linspace(-3.0, 1.0, 94)][:, None]
    tight = sequential_randomization_test([2.0], null, [0.03])  # floor(0.03 * 100) = 3 < 6 tied paths
    assert not tight.rejects and math.isinf(tight.boundaries[0]) and tight.crossed_share[0] == 0.0
    room = sequential_randomization_test([2.0], null, [0.06])
    assert room.crossed_at == 0 and room.boundaries[0] == 2.0 and room.crossed_share[0] == pytest.approx(0.06)


def test_undefined_statistics_use_up_level_and_never_confirm():
    """A re-randomization with an undefined statistic (an arm emptied by chance) counts as crossed first; an
    undefined observed statistic never crosses."""
    null = np.r_[[np.nan, np.nan], np.linspace(-3.0, 1.0, 97)][:, None]
    result = sequential_randomization_test([5.0], null, [0.03])  # 3 paths fit: the two undefined and the observed
    assert result.rejects and result.crossed_share[0] == pytest.approx(0.03)
    crowded = sequential_randomization_test([5.0], null, [0.02])  # only the two undefined fit
    assert not crowded.rejects
    assert not sequential_randomization_test([np.nan], null, [0.5]).rejects


def test_paths_that_crossed_earlier_leave_room_only_for_the_rest_of_the_level():
    """Two reviews, 100 paths, 1% then 3%: the largest re-randomization crosses at review 1, so review 2 has room
    for two more; the observed path, third largest at review 2, crosses there."""
    null = np.column_stack([np.r_[9.0, np.zeros(98)], np.r_[9.0, 8.0, np.zeros(97)]])
    result = sequential_randomization_test([1.0, 7.0], null, [0.01, 0.03])
    assert result.crossed_at == 1
    assert result.boundaries.tolist() == [9.0, 7.0]
    assert result.crossed_share.tolist() == pytest.approx([0.01, 0.03])


def test_weighted_draws_equal_the_draws_repeated():
    """A re-randomization drawn k times and computed once with weight k gives the same crossings."""
    rng = np.random.default_rng(5)
    distinct = rng.standard_normal((1, 30, REVIEWS)).cumsum(axis=2)
    counts = rng.integers(1, 5, 29)
    weights = np.r_[1.0, counts]
    repeated = np.concatenate([distinct[:, :1], np.repeat(distinct[:, 1:], counts, axis=1)], axis=1)
    for shift in np.linspace(-1.0, 4.0, 11):
        moved = distinct.copy()
        moved[:, 0] += shift
        full = repeated.copy()
        full[:, 0] += shift
        level = pocock(np.arange(1, REVIEWS + 1) / REVIEWS, 0.2)
        a = crossings(moved, weights, level)
        b = crossings(full, np.ones(full.shape[1]), level)
        assert a[0].tolist() == b[0].tolist()
        assert np.allclose(a[2], b[2])


def test_bad_input_is_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="observed"):
        sequential_randomization_test([], np.zeros((3, 0)), [])
    with pytest.raises(ValueError, match="null"):
        sequential_randomization_test([1.0, 2.0], np.zeros((3, 1)), [0.1, 0.2])
    with pytest.raises(ValueError, match="spent"):
        sequential_randomization_test([1.0, 2.0], np.zeros((3, 2)), [0.2, 0.1])
    with pytest.raises(ValueError, match="direction"):
        sequential_randomization_test([1.0], np.zeros((3, 1)), [0.1], "both")
    with pytest.raises(ValueError, match="weights"):
        crossings(np.zeros((1, 3, 1)), np.array([2.0, 1.0, 1.0]), [0.1])
