"""The attrition check of a running pilot (`pilots.results.checks.recent_attrition`): weekly checkpoints, who is at
risk, the per-checkpoint bar, and Boschloo's test on the silent units."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import stats

from analysis.unconditional import boschloo
from pilots.results.checks import (
    PILOT_LEVELS,
    attrition_checkpoint,
    look_thresholds,
    recent_attrition,
)
from pilots.results.loader import Panel
from pilots.results.looks import planned_look_days
from pilots.results.units import Units
from pilots.rollups import SUMS

ARMS = ("control", "treatment")


def _panel(audits: np.ndarray, arms: np.ndarray) -> Panel:
    values = np.zeros((len(SUMS), *audits.shape))
    values[SUMS.index("audits")] = audits
    k = audits.shape[0]
    units = Units(tuple(f"m{i:03d}" for i in range(k)), arms, ("all",) * k, {}, {})
    return Panel(units, date(2026, 3, 2), audits.shape[1], values, np.zeros((len(SUMS), k)), 0)


def _roster(days: int = 42, silent_from: int = 14, silent: int = 8) -> Panel:
    """20 moderators per arm, 2 audits a day; the first ``silent`` treatment moderators none from ``silent_from``."""
    arms = np.array(["control"] * 20 + ["treatment"] * 20, dtype=object)
    audits = np.full((40, days), 2.0)
    audits[20 : 20 + silent, silent_from:] = 0.0
    return _panel(audits, arms)


def test_checkpoints_are_whole_weeks_from_the_second() -> None:
    days = (None, 0, 12, 13, 19, 20, 26, 41)
    assert [attrition_checkpoint(d) for d in days] == [None, None, None, 13, 13, 20, 20, 41]


def test_bar_is_split_over_the_checkpoints_the_looks_read() -> None:
    """A 6-week pilot: 40 daily looks and 6 weekly reviews both read 5 attrition checkpoints (days 13, 20, ..., 41)."""
    daily = planned_look_days("always_valid", 6, 42)
    weekly = planned_look_days("group_sequential", 6, 42)
    five = -math.expm1(math.log1p(-PILOT_LEVELS["attrition"]) / 5)
    assert look_thresholds(daily)["attrition"] == pytest.approx(five)
    assert look_thresholds(weekly)["attrition"] == pytest.approx(five)
    assert look_thresholds(daily)["audit_rate"] < look_thresholds(weekly)["audit_rate"]  # 40 looks against 6


def test_daily_looks_between_checkpoints_read_the_latest_one() -> None:
    panel = _roster(silent_from=15)
    at_20 = recent_attrition(panel.through(20), ARMS, 20, 0.01)
    for day in range(21, 27):
        res = recent_attrition(panel.through(day), ARMS, day, 0.01)
        assert (res.p_value, res.message) == (at_20.p_value, at_20.message)
    assert recent_attrition(panel.through(27), ARMS, 27, 0.01).p_value < at_20.p_value  # day 14 was still active


def test_silent_treatment_moderators_are_boschloo_on_the_at_risk() -> None:
    panel = _roster(silent=8)
    res = recent_attrition(panel, ARMS, 41, 0.002)
    assert res.p_value == pytest.approx(boschloo(8, 20, 0, 20).p_value, rel=1e-12)
    assert not res.ok and "control 0/20, treatment 8/20" in res.message
    early = recent_attrition(panel.through(12), ARMS, 12, 0.001)
    assert early.ok and math.isnan(early.p_value)


def test_low_rate_moderators_are_not_at_risk() -> None:
    """A moderator expected to get fewer than 3 audits in the checked week is left out: a silent week is ordinary."""
    arms = np.array(["control"] * 20 + ["treatment"] * 20, dtype=object)
    audits = np.full((40, 42), 2.0)
    audits[:4] = 0.0
    audits[:4, [0, 7]] = 1.0  # two audits in the first two weeks: 1 a week expected
    audits[20:24] = audits[:4]
    res = recent_attrition(_panel(audits, arms), ARMS, 20, 0.01)
    assert "control 0/16, treatment 0/16" in res.message and res.p_value == 1.0


def test_team_pilots_count_the_member_moderators() -> None:
    members = np.full((40, 42), 2.0)
    members[20:29, 14:] = 0.0
    member_unit = np.arange(40) // 10  # 4 teams of 10; teams 0-1 control, 2-3 treatment
    arms = np.array(["control", "control", "treatment", "treatment"], dtype=object)
    values = np.zeros((len(SUMS), 4, 42))
    np.add.at(values[SUMS.index("audits")], member_unit, members)
    units = Units(("t0", "t1", "t2", "t3"), arms, ("all",) * 4, {}, {})
    panel = Panel(units, date(2026, 3, 2), 42, values, np.zeros((len(SUMS), 4)), 0, None, None, members, member_unit)
    res = recent_attrition(panel, ARMS, 34, 0.01)
    assert res.p_value == pytest.approx(boschloo(9, 20, 0, 20).p_value, rel=1e-12)
    assert not res.ok


def test_forty_moderators_reach_eight_of_twenty_and_no_bar_sharing_test_reaches_seven() -> None:
    """The stress matrix's 40-moderator attrition cell (half the treatment arm leaves) is flagged in 0.865 of pilots,
    short of 0.90; this pins why no test can do better at the same pilot-wide level with weekly checkpoints.

    8 of 20 silent against none is flagged at every checkpoint of a 6-week pilot. 7 against none cannot be by any test
    that judges the 5 weekly checkpoints at one bar and flags every more lopsided table with no silent control moderator
    (x >= 7 against 0): when weekly silences are independent with a common rate, the worst case the pilot-wide level
    must hold for, that region alone has probability 0.00204 a checkpoint (at a silent rate near 0.2, two binomials
    by hand, not Boschloo's code), above the bar of 0.0013, and 1.02% over the 5 checkpoints: the whole 1% budget of
    every check together. Even the two tables alone would take 0.68%, above attrition's 0.65%. So the check's ceiling
    is the chance that 8 or more of 20 leave: 0.868.
    """
    bar = look_thresholds(planned_look_days("group_sequential", 6, 42))["attrition"]
    assert boschloo(8, 20, 0, 20).p_value < bar < boschloo(7, 20, 0, 20).p_value
    rate = np.linspace(1e-4, 1 - 1e-4, 100_001)
    control_none = stats.binom.pmf(0, 20, rate)
    lopsided = 2.0 * stats.binom.sf(6, 20, rate) * control_none  # x >= 7 against 0, either arm
    just_seven = 2.0 * stats.binom.pmf(7, 20, rate) * control_none
    assert lopsided.max() == pytest.approx(0.00204, abs=1e-5) and lopsided.max() > bar
    assert 1.0 - (1.0 - lopsided.max()) ** 5 > 0.01
    assert 1.0 - (1.0 - just_seven.max()) ** 5 > PILOT_LEVELS["attrition"]
    assert stats.binom.sf(7, 20, 0.5) == pytest.approx(0.868, abs=5e-4)
