"""A CI-sized stress matrix (issue 10): a few cells of `bench/validate_stress.py` through the results engine.

Assertions are at the level plus 2.5 Monte Carlo standard errors of that level (false-go, false-harm: one-sided
alpha / 2 = 0.025; invalid over a valid pilot: 0.01), and at least 90% of attrition pilots flagged `invalid`.
Seeded, so the numbers are reproducible; the full matrix with thousands of pilots per cell is `make validate`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pilots.simulation.scenarios import Scenario
from pilots.simulation.stress import SCENARIOS, Cell, run_cell, run_pilot


def _bound(level: float, pilots: int) -> float:
    return level + 2.5 * math.sqrt(level * (1 - level) / pilots)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "scenario", "pilots"),
    [("group_sequential", "seasonality", 30), ("always_valid", "late_joiners", 20)],
)
def test_null_pilots_hold_false_go_false_harm_and_false_invalid(method, scenario, pilots):
    result = run_cell(Cell("moderator", 100, method, SCENARIOS[scenario]), pilots, seed=17)
    assert result.go <= _bound(0.025, pilots)
    assert result.harm <= _bound(0.025, pilots)
    assert result.invalid <= _bound(0.01, pilots)


@pytest.mark.slow
def test_delayed_outcomes_read_as_they_were_hold_the_level():
    result = run_cell(Cell("moderator", 100, "group_sequential", SCENARIOS["delays"]), 15, seed=5)
    assert result.go <= _bound(0.025, 15)
    assert result.harm <= _bound(0.025, 15)


@pytest.mark.slow
def test_arm_dependent_attrition_is_invalid_not_go():
    result = run_cell(Cell("moderator", 100, "group_sequential", SCENARIOS["attrition"]), 15, seed=3)
    assert result.invalid >= 0.9
    assert result.go <= _bound(0.025, 15)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "seed"), [("always_valid", 21), ("group_sequential", 22)])
def test_attrition_at_forty_moderators_is_flagged_with_daily_or_weekly_looks(method, seed):
    """20 moderators per arm, about 10 of the treatment arm silent from day 14. Boschloo's test on weekly
    checkpoints: daily looks read the same 5 checkpoints as weekly reviews, so both designs flag alike (0.28 and 0.61
    with Fisher's test at every look; the full matrix has the rates with their standard errors)."""
    result = run_cell(Cell("moderator", 40, method, SCENARIOS["attrition"]), 40, seed=seed)
    assert result.invalid >= 0.6
    assert result.flagged_by.get("attrition", 0.0) >= 0.6


@pytest.mark.slow
def test_a_real_effect_is_found_through_the_same_path():
    result = run_cell(Cell("moderator", 100, "group_sequential", Scenario(), effect_points=3.0), 10, seed=9)
    assert result.go >= 0.7


def test_scenario_knobs_shape_the_data():
    """Each knob does what it says on a drawn pilot: weekends thin, heavy moderators, delays, attrition, joiners."""
    from pilots.simulation.generate import simple_assignment
    from pilots.simulation.scenarios import simulate_scenario_days
    from pilots.simulation.settings import SimulationSettings, simulate_roster

    settings = SimulationSettings(n_moderators=200, weeks=6, pre_weeks=2)
    rng = np.random.default_rng(1)
    roster = simulate_roster(settings, rng)
    assignment = simple_assignment(roster, settings.arms, rng)
    days = simulate_scenario_days(roster, assignment, settings, SCENARIOS["attrition"], rng)
    treated = np.array([assignment[m] == "treatment" for m in roster.moderator_ids])
    late = days.arrived_by()["audits"][:, days.day_offsets >= 21].sum(axis=1)
    assert (late[treated] == 0).mean() == pytest.approx(0.5, abs=0.15)
    assert (late[~treated] == 0).mean() < 0.05
    delayed = simulate_scenario_days(roster, assignment, settings, SCENARIOS["delays"], rng)
    total = delayed.arrived_by()["audits"].sum()
    by_day_10 = delayed.arrived_by(10)["audits"]
    assert by_day_10[:, delayed.day_offsets > 10].sum() == 0
    assert by_day_10.sum() < delayed.arrived_by(17)["audits"][:, delayed.day_offsets <= 10].sum() <= total
    assert (delayed.arrived_by()["correct"] <= delayed.arrived_by()["audits"]).all()
    joiners = simulate_scenario_days(roster, assignment, settings, SCENARIOS["late_joiners"], rng)
    assert (joiners.join_day > 0).mean() == pytest.approx(0.3, abs=0.1)
    away = simulate_scenario_days(roster, assignment, settings, SCENARIOS["absences"], rng)
    pilot = away.arrived_by()["audits"][:, away.day_offsets >= 0]
    weekly = pilot.reshape(pilot.shape[0], -1, 7).sum(axis=2)
    assert (weekly == 0).mean() == pytest.approx(0.15, abs=0.03)  # both arms alike
    assert (weekly[treated] == 0).mean() == pytest.approx((weekly[~treated] == 0).mean(), abs=0.04)
    assert (away.arrived_by()["audits"][:, away.day_offsets < 0].sum(axis=1) > 0).all()  # pre-period untouched
    with pytest.raises(ValueError, match="weekday_volume"):
        Scenario(weekday_volume=(1.0,))


def test_one_pilot_outcome_is_reproducible():
    cell = Cell("moderator", 40, "group_sequential", SCENARIOS["seasonality"])
    assert run_pilot(cell, np.random.default_rng(4)) == run_pilot(cell, np.random.default_rng(4))


def test_attrition_within_teams_is_invalid_and_teams_without_it_are_not():
    """8-team pilots: half the treatment moderators stop being audited. No team goes silent, so the check counts the
    silent moderators within the teams (`pilots.results.checks.recent_attrition`)."""
    attrition = run_cell(Cell("team", 8, "group_sequential", SCENARIOS["attrition"]), 6, seed=3)
    assert attrition.invalid == 1.0
    valid = run_cell(Cell("team", 8, "group_sequential", SCENARIOS["late_joiners"]), 6, seed=3)
    assert valid.invalid == 0.0


def test_detectable_effect_comes_from_the_frozen_information_plan():
    from pilots.simulation.stress import detectable_effect

    mde = detectable_effect(Cell("moderator", 100, "group_sequential", SCENARIOS["baseline"]), pilots=3)
    assert 1.5 < mde < 3.5  # points of accuracy: 100 moderators, 6 weeks, 80% power
