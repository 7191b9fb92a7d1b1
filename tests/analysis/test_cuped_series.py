"""Vectorized CUPED over looks: equal, look by look, to calling `cuped_compare` on each look's cumulative sums."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis import reasons
from analysis.cuped import UnitArrays, cuped_compare
from analysis.cuped_series import CupedSeries, SeriesArrays, cuped_series, look_blocks

TOL = 1e-10


def _daily(rng: np.random.Generator, k: int, days: int, rate: float = 0.6, effect: float = 0.0, arm: int = 0):
    """Daily audits and correct audits of k moderators (Poisson audits per day, skill ~ Beta shared with the
    pre-period); roughly a fifth of the moderators have no pre-period audits."""
    skill = rng.beta(18, 2, k)
    x = rng.poisson(rate, (k, days)).astype(float)
    y = rng.binomial(x.astype(int), np.clip(skill + effect * arm, 0, 1)[:, None]).astype(float)
    pre_x = rng.poisson(20, k).astype(float)
    pre_x[rng.random(k) < 0.2] = 0.0
    pre_y = rng.binomial(pre_x.astype(int), skill).astype(float)
    return y, x, pre_y, pre_x


def _assert_equal_to_loop(arms: list[tuple], looks: list[int], alpha: float = 0.05) -> list:
    series = cuped_series(*(SeriesArrays.from_daily(*a, looks) for a in arms), alpha=alpha)
    looped = []
    for j, day in enumerate(looks):
        units = [
            UnitArrays.of(y[:, : day + 1].sum(axis=1), x[:, : day + 1].sum(axis=1), py, px) for y, x, py, px in arms
        ]
        res = cuped_compare(*units, alpha=alpha)
        looped.append(res)
        adj = res.adjusted
        expected = {
            "control_mean": adj.control_mean,
            "treatment_mean": adj.treatment_mean,
            "difference": adj.difference,
            "se": adj.se,
            "df": adj.df,
            "ci_low": adj.ci.low,
            "ci_high": adj.ci.high,
            "p_value": adj.p_value,
            "theta": res.theta,
            "variance_reduction": res.variance_reduction,
        }
        for name, value in expected.items():
            got = getattr(series, name)[j]
            np.testing.assert_allclose(got, value, rtol=TOL, atol=TOL, equal_nan=True, err_msg=f"{name} at look {day}")
        assert series.reason[j] == adj.reason, f"reason at look {day}"
        assert series.cuped_reason[j] == res.reason, f"cuped reason at look {day}"
    usable = [
        a.adjusted.reason in (None, reasons.ZERO_CONTROL_MEAN)
        and np.isfinite(a.adjusted.se)
        and a.adjusted.se > 0
        and a.adjusted.df > 0
        and np.isfinite(a.adjusted.difference)
        for a in looped
    ]
    assert series.usable().tolist() == usable
    return looped


@pytest.mark.parametrize("seed", range(5))
def test_seeded_pilot_matches_loop_at_every_daily_look(seed):
    rng = np.random.default_rng(seed)
    days = 28
    arms = [_daily(rng, 60, days, rate=0.15, effect=0.03, arm=i) for i in range(2)]
    looped = _assert_equal_to_loop(arms, list(range(days)))
    assert sum(r.reason is None for r in looped) > days // 2  # most looks are adjusted


def test_first_looks_with_fewer_than_two_units_fall_back_like_the_loop():
    rng = np.random.default_rng(11)
    arms = [_daily(rng, 30, 10, rate=0.5) for _ in range(2)]
    for y, x, _, _ in arms:
        x[:, :4] = 0.0
        y[:, :4] = 0.0
    arms[0][1][0, 3] = 2.0  # control: a single audited unit on day 3
    arms[0][0][0, 3] = 1.0
    arms[1][1][:5, 3] = 1.0
    arms[1][0][:5, 3] = 1.0
    looped = _assert_equal_to_loop(arms, list(range(10)))
    assert [r.reason for r in looped[:4]] == [reasons.EMPTY_ARM] * 3 + [reasons.SINGLE_UNIT]


def test_units_without_pre_period_and_looks_where_no_audited_unit_has_one():
    rng = np.random.default_rng(3)
    arms = [_daily(rng, 40, 14, rate=0.4, arm=i, effect=0.05) for i in range(2)]
    for _, x, _, px in arms:
        # Units audited in the first week have no pre-period data; the rest start in week two with it.
        early = x[:, :7].sum(axis=1) > 0
        px[early] = 0.0
        x[~early, :7] = 0.0
    for y, x, py, px in arms:
        y[x == 0] = 0.0
        py[px == 0] = 0.0
    looped = _assert_equal_to_loop(arms, list(range(14)))
    codes = [r.reason for r in looped]
    assert reasons.NO_PRE_PERIOD in codes and None in codes


def test_no_pre_period_at_all():
    rng = np.random.default_rng(5)
    arms = [_daily(rng, 30, 10, rate=0.5) for _ in range(2)]
    for a in arms:
        a[2][:] = 0.0
        a[3][:] = 0.0
    looped = _assert_equal_to_loop(arms, list(range(10)))
    assert {r.reason for r in looped} <= {reasons.NO_PRE_PERIOD, reasons.EMPTY_ARM, reasons.SINGLE_UNIT}


def test_all_correct_data_is_zero_variance_at_every_look():
    rng = np.random.default_rng(7)
    arms = [_daily(rng, 25, 12, rate=0.8) for _ in range(2)]
    for y, x, _, _ in arms:
        y[:] = x
    looped = _assert_equal_to_loop(arms, list(range(12)))
    assert any(r.adjusted.reason == reasons.ZERO_VARIANCE for r in looped)
    assert all(r.adjusted.reason in (reasons.ZERO_VARIANCE, reasons.EMPTY_ARM, reasons.SINGLE_UNIT) for r in looped)


def test_zero_variance_looks_before_the_first_error():
    rng = np.random.default_rng(9)
    arms = [_daily(rng, 25, 12, rate=0.8, effect=-0.1, arm=i) for i in range(2)]
    for y, x, _, _ in arms:
        y[:, :5] = x[:, :5]  # all correct in the first five days
    looped = _assert_equal_to_loop(arms, list(range(12)))
    reasons_seen = [r.adjusted.reason for r in looped]
    assert reasons.ZERO_VARIANCE in reasons_seen[:5] and None in reasons_seen[5:]


def test_constant_covariate_and_zero_control_mean():
    rng = np.random.default_rng(13)
    arms = [_daily(rng, 20, 8, rate=0.8, arm=i, effect=0.05) for i in range(2)]
    for _, _, py, px in arms:
        py[:] = px  # every pre-period audit correct: m == 0 for every unit
    looped = _assert_equal_to_loop(arms, list(range(8)))
    assert reasons.CONSTANT_COVARIATE in {r.reason for r in looped}

    arms[0][0][:] = 0.0  # control never correct
    # with the constant covariate the raw comparison stands, and its control rate is exactly zero
    looped = _assert_equal_to_loop(arms, list(range(8)), alpha=0.1)
    assert reasons.ZERO_CONTROL_MEAN in {r.adjusted.reason for r in looped}


def test_sparse_looks_and_cumulative_input():
    rng = np.random.default_rng(17)
    arms = [_daily(rng, 50, 30, rate=0.3, arm=i, effect=0.02) for i in range(2)]
    looks = [6, 13, 20, 29]
    _assert_equal_to_loop(arms, looks)
    cumulative = [
        SeriesArrays.of(np.cumsum(y, 1)[:, looks], np.cumsum(x, 1)[:, looks], py, px) for y, x, py, px in arms
    ]
    direct = cuped_series(*cumulative)
    daily = cuped_series(*(SeriesArrays.from_daily(*a, looks) for a in arms))
    np.testing.assert_array_equal(direct.difference, daily.difference)


def test_input_checks():
    y = np.ones((3, 2))
    good = SeriesArrays.of(y, y, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        cuped_series(good, good, alpha=1.5)
    with pytest.raises(ValueError, match="same shape"):
        SeriesArrays.of(y, np.ones((3, 3)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="pre_x must have shape"):
        SeriesArrays.of(y, y, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        SeriesArrays.of(y, -y, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        SeriesArrays.of(y * np.nan, y, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="same number of looks"):
        cuped_series(good, SeriesArrays.of(np.ones((3, 1)), np.ones((3, 1)), np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match="SeriesArrays"):
        cuped_series((y, y, y, y), good)


@pytest.mark.parametrize("n_looks", [1, 2, 8, 9, 17, 40])
def test_blocks_of_looks_give_the_same_bits_as_all_looks_at_once(n_looks) -> None:
    """`look_blocks` splits looks so that each block's series, concatenated, is bit-identical to one call: a block of
    one look (summed pairwise by numpy) never occurs unless there is one look in all."""
    rng = np.random.default_rng(n_looks)
    arms = [_daily(rng, 400 + 37 * a, 60, arm=a, effect=0.02) for a in (0, 1)]
    looks = sorted(rng.choice(np.arange(2, 60), n_looks, replace=False).tolist())
    whole = cuped_series(*(SeriesArrays.from_daily(*a, looks) for a in arms))
    blocks = look_blocks(n_looks)
    assert all(b.stop - b.start >= 2 for b in blocks) or n_looks == 1
    assert [i for b in blocks for i in range(n_looks)[b]] == list(range(n_looks))
    parts = [cuped_series(*(SeriesArrays.from_daily(*a, looks[b]) for a in arms)) for b in blocks]
    joined = CupedSeries.concatenate(parts)
    for field in dataclasses.fields(CupedSeries):
        ours, reference = getattr(joined, field.name), getattr(whole, field.name)
        if isinstance(reference, tuple):
            assert ours == reference
        else:
            np.testing.assert_array_equal(ours, reference, strict=True)


def test_look_blocks_need_two_looks_a_block() -> None:
    assert look_blocks(9, 4) == [slice(0, 4), slice(4, 9)]
    assert look_blocks(1) == [slice(0, 1)] and look_blocks(0) == []
    with pytest.raises(ValueError, match="at least 2"):
        look_blocks(10, 1)
