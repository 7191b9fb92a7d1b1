"""The confidence sequence read at one time (`analysis.confidence_sequence`): its closed form, and that reading it
every day keeps false findings at its level where a fixed-horizon interval does not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.confidence_sequence import mixture_half_width, mixture_interval, projected_final_se

DAYS = 42


def test_half_width_is_the_tuned_mixture_boundary_in_closed_form():
    """At the variance it is tuned to, c^2 = (1 + 1/s)(2 ln(1/alpha) + ln(1 + s)) minimised over s = tau2 / V."""
    s = np.exp(np.linspace(-3.0, 6.0, 200_001))
    best = np.sqrt(((1.0 + 1.0 / s) * (2.0 * math.log(1 / 0.05) + np.log1p(s))).min())
    assert mixture_half_width(0.01, math.inf, 0.05, 0.01) == pytest.approx(best * 0.01, rel=1e-6)
    assert best == pytest.approx(3.04, abs=0.01)  # against 1.96 for a single reading
    # Away from the tuned variance the boundary widens, on either side.
    assert mixture_half_width(0.03, math.inf, 0.05, 0.01) / 0.03 > best
    assert mixture_half_width(0.003, math.inf, 0.05, 0.01) / 0.003 > best


def test_few_degrees_of_freedom_widen_it_as_student_t_does():
    z = mixture_half_width(0.01, math.inf, 0.05, 0.01) / 0.01
    t = mixture_half_width(0.01, 8.0, 0.05, 0.01) / 0.01
    assert t == pytest.approx(stats.t.isf(stats.norm.sf(z), 8.0), rel=1e-12)
    assert t > z


def test_interval_and_projection():
    ci = mixture_interval(0.02, 0.01, math.inf, 0.05, 0.01)
    assert ci.low == pytest.approx(0.02 - mixture_half_width(0.01, math.inf, 0.05, 0.01))
    assert ci.high == pytest.approx(0.02 + mixture_half_width(0.01, math.inf, 0.05, 0.01))
    assert projected_final_se(0.02, 7, 28) == pytest.approx(0.01)
    assert projected_final_se(0.02, 40, 28) == 0.02  # past the planned end: as it is
    assert math.isnan(mixture_half_width(0.0, 5.0, 0.05, 0.01))
    with pytest.raises(ValueError, match="alpha"):
        mixture_half_width(0.01, 5.0, 1.5, 0.01)
    with pytest.raises(ValueError, match="days"):
        projected_final_se(0.01, 0, 28)


def _daily_welch(rng: np.random.Generator, pilots: int, units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pilots of ``units`` moderators per arm with no effect: each moderator's own accuracy (between-moderator sd 3
    points around 90%) and Poisson(4) audits a day; the Welch difference of the arms' per-moderator accuracies, its
    standard error and df after each day, (pilots, DAYS)."""
    p = np.clip(0.9 + 0.03 * rng.standard_normal((pilots, 2, units)), 0.5, 0.995)
    audits = rng.poisson(4.0, (pilots, 2, units, DAYS))
    correct = rng.binomial(audits, p[..., None])
    n, y = np.cumsum(audits, axis=-1), np.cumsum(correct, axis=-1)
    rate = y / np.maximum(n, 1)
    mean = rate.mean(axis=2)
    var = rate.var(axis=2, ddof=1) / units
    se = np.sqrt(var.sum(axis=1))
    df = var.sum(axis=1) ** 2 / (var**2 / (units - 1)).sum(axis=1)
    return mean[:, 1] - mean[:, 0], se, df


def test_daily_reads_keep_false_harm_at_the_level_where_a_fixed_interval_does_not():
    """2,000 null pilots of 20 moderators per arm read every day for six weeks: the confidence sequence (tuned as
    the results engine tunes it, to the se each reading projects for the end) excludes the true zero on the harmful
    side at some reading in at most alpha / 2 of pilots; the fixed-horizon interval read the same way, in several
    times as many."""
    rng = np.random.default_rng(20261207)
    alpha, pilots = 0.05, 2000
    d, se, df = _daily_welch(rng, pilots, 20)
    sequence_harm = np.zeros(pilots, dtype=bool)
    fixed_harm = np.zeros(pilots, dtype=bool)
    for day in range(2, DAYS):  # from the third day, when every moderator has a few audits
        target = projected_final_se(1.0, day + 1, DAYS) * se[:, day]
        sequence_harm |= d[:, day] + mixture_half_width(se[:, day], df[:, day], alpha, target) < 0.0
        fixed_harm |= d[:, day] + stats.t.isf(alpha / 2, df[:, day]) * se[:, day] < 0.0
    rate, fixed_rate = sequence_harm.mean(), fixed_harm.mean()
    assert rate <= alpha / 2 + 2 * math.sqrt(alpha / 2 * (1 - alpha / 2) / pilots)
    assert fixed_rate > 3 * alpha / 2
    assert fixed_rate > 5 * max(rate, 1 / pilots)
