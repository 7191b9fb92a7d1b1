"""`look_series` (all looks at once through `analysis.cuped_series`) equals the per-look loop over `estimate`."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from pilots.catalog import METRICS
from pilots.results import metric
from pilots.results.loader import Panel
from pilots.results.metric import estimate, look_series
from pilots.results.units import Units
from pilots.rollups import SUMS


def _panel(rng: np.random.Generator, k: int, days: int, pre_days: int) -> Panel:
    arms = np.array(["control", "treatment"])[rng.permutation(np.arange(k) % 2)]
    values = np.zeros((len(SUMS), k, days))
    column = {name: i for i, name in enumerate(SUMS)}
    audits = rng.poisson(0.3, (k, days)).astype(float)
    audits[: k // 10, : days // 2] = 0.0  # late starters
    skill = rng.beta(18, 2, k)
    values[column["audits"]] = audits
    values[column["correct"]] = rng.binomial(audits.astype(int), skill[:, None])
    values[column["critical_audits"]] = audits
    values[column["critical"]] = rng.binomial(audits.astype(int), 0.1)
    values[column["handle_audits"]] = audits
    values[column["handle_sum"]] = audits * rng.gamma(4.0, 15.0, (k, days))
    values[column["handle_sum2"]] = values[column["handle_sum"]] ** 2
    pre = values.sum(axis=2) * (pre_days > 0)
    pre[:, rng.random(k) < 0.2] = 0.0  # no pre-period history
    units = Units(tuple(f"m{i:03d}" for i in range(k)), arms, ("all",) * k, {}, {})
    return Panel(units, date(2026, 1, 5), days, values, pre, pre_days)


def _looped(panel, definition, control, treatment, days, alpha):
    kept = []
    for day in days:
        adjusted = estimate(panel, definition, control, treatment, day, alpha).adjusted
        if (
            adjusted.reason in (None, "zero_control_mean")
            and math.isfinite(adjusted.se)
            and adjusted.se > 0
            and adjusted.df > 0
            and math.isfinite(adjusted.difference)
        ):
            kept.append((day, adjusted.difference, adjusted.se**2, adjusted.df if math.isfinite(adjusted.df) else 1e6))
    return kept


@pytest.mark.parametrize("pre_days", [0, 28])
@pytest.mark.parametrize("metric", sorted(METRICS))
def test_look_series_equals_the_per_look_estimates(metric, pre_days):
    rng = np.random.default_rng(len(metric) + pre_days)
    panel = _panel(rng, 40, 21, pre_days)
    control = panel.units.arms == "control"
    treatment = ~control
    days = tuple(range(21))
    series = look_series(panel, METRICS[metric], control, treatment, days, 0.05)
    expected = _looped(panel, METRICS[metric], control, treatment, days, 0.05)
    assert len(expected) > 5
    assert series.days == tuple(row[0] for row in expected)
    for got, column in zip((series.estimates, series.variances, series.dfs), range(1, 4), strict=True):
        np.testing.assert_allclose(got, [row[column] for row in expected], rtol=1e-10, atol=1e-12)


def test_no_looks_gives_an_empty_series():
    panel = _panel(np.random.default_rng(1), 10, 5, 0)
    control = panel.units.arms == "control"
    assert len(look_series(panel, METRICS["accuracy"], control, ~control, (), 0.05)) == 0


def _blocked(panel, definition, control, treatment, days, alpha):
    """The series as computed before the per-look memo: every look in `look_blocks`' blocks."""
    metric.LOOKS.clear()
    return look_series(panel, definition, control, treatment, days, alpha)


@pytest.mark.parametrize("pre_days", [0, 28])
def test_remembered_looks_give_the_same_series_bit_for_bit(pre_days):
    """Looks remembered from earlier requests (by their inputs), and a new look computed beside one other, give the
    numbers of a fresh computation, as late audits change some days and not others."""
    rng = np.random.default_rng(7 + pre_days)
    panel = _panel(rng, 60, 30, pre_days)
    control = panel.units.arms == "control"
    definition = METRICS["handle_time"]
    days = tuple(range(30))
    fresh = _blocked(panel, definition, control, ~control, days, 0.05)
    for taken in (days[:17], days[:18], days[:25], days[:2], days[:1], days):  # one new look, several, one in all
        metric.LOOKS.clear()
        look_series(panel, definition, control, ~control, days[: len(taken) - 1] or taken, 0.05)  # remembered
        again = look_series(panel, definition, control, ~control, taken, 0.05)
        assert again == _blocked(panel, definition, control, ~control, taken, 0.05)
    assert look_series(panel, definition, control, ~control, days, 0.05) == fresh
    # Late audits of day 12 change looks 12 and later only; the others are remembered, the figures stay exact.
    late = panel.values.copy()
    late[:, :5, 12:] += 1.0
    changed = Panel(panel.units, panel.start_date, panel.days, late, panel.pre, panel.pre_days)
    look_series(panel, definition, control, ~control, days, 0.05)
    remembered = len(metric.LOOKS._items)
    assert look_series(changed, definition, control, ~control, days, 0.05) == _blocked(
        changed, definition, control, ~control, days, 0.05
    )
    look_series(panel, definition, control, ~control, days, 0.05)
    look_series(changed, definition, control, ~control, days, 0.05)
    assert len(metric.LOOKS._items) == remembered + (30 - 12)
