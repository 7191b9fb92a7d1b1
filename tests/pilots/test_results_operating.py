"""Operating characteristics of the whole results engine (not just `analysis`): many simulated pilots of 100
moderators through the same document builder the API uses, fed by in-memory panels (no database, for speed).

Under no effect the engine must not say `go` (nor declare any primary crossing) more often than alpha allows, with
Monte Carlo slack; under a realistic effect it must say `go` most of the time. CI-sized and seeded.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from pilots.models import Pilot
from pilots.results import frozen
from pilots.results.document import analyse_panel
from pilots.results.loader import Panel
from pilots.results.units import Units
from pilots.rollups import SUMS
from pilots.schemas import plan_of
from pilots.simulation import SimulationSettings, simple_assignment, simulate_roster, simulate_unit_days

SIM = SimulationSettings(n_moderators=100, weeks=6, pre_weeks=2)


def _pilot(method: str) -> Pilot:
    return Pilot(
        id=1,
        name="oc",
        kind="tool",
        owner="pm-user",  # the `pm` of the tokens fixture owns it
        arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        strata=[],
        seed=1,
        metrics=[{"name": "accuracy", "role": "primary"}],
        design={"method": method, "alpha": 0.05, "power": 0.8, "looks": 3, "min_days": 14},
        start_date=SIM.start_date,
        end_date=SIM.start_date + timedelta(days=7 * SIM.weeks - 1),
        pre_period_start=SIM.start_date - timedelta(days=7 * SIM.pre_weeks),
        status="running",
    )


def _panel(rng: np.random.Generator, effect: float) -> Panel:
    sim = replace(SIM, accuracy_effect_points=effect)
    roster = simulate_roster(sim, rng)
    arms = simple_assignment(roster, sim.arms, rng)
    days = simulate_unit_days(roster, arms, sim, rng, handle_times=False)
    ids = days.moderator_ids
    order = np.argsort(ids)
    units = Units(
        ids=tuple(ids[k] for k in order),
        arms=np.array([arms[ids[k]] for k in order], dtype=object),
        strata=tuple("all" for _ in ids),
        index_of_moderator={ids[k]: i for i, k in enumerate(order)},
        attributes={
            "site": np.array([roster[k]["site"] for k in order], dtype=object),
            "language": np.array([roster[k]["language"] for k in order], dtype=object),
            "tenure_months": np.array([roster[k]["tenure_months"] for k in order], dtype=float),
        },
    )
    columns = {
        "audits": days.audits,
        "correct": days.correct,
        "critical_audits": days.audits,
        "critical": days.critical,
        "handle_audits": 0 * days.audits,
        "handle_sum": days.handle_sum,
        "handle_sum2": days.handle_sum2,
    }
    stacked = np.stack([np.asarray(columns[name], dtype=float)[order] for name in SUMS])
    pre = days.day_offsets < 0
    return Panel(
        units, SIM.start_date, int((~pre).sum()), stacked[:, :, ~pre], stacked[:, :, pre].sum(axis=2), int(pre.sum())
    )


def _rates(method: str, effect: float, pilots: int, seed: int) -> tuple[float, float]:
    pilot = _pilot(method)
    plan = plan_of(pilot)
    rng = np.random.default_rng(seed)
    go = crossed = 0
    for _ in range(pilots):
        document = _simulated(pilot, plan, _panel(rng, effect))
        go += document["decision"]["recommendation"] == "go"
        crossed += document["metrics"][0]["comparisons"][0]["crossing"] != "none"
    return go / pilots, crossed / pilots


@pytest.mark.slow
def test_group_sequential_false_go_rate_and_power():
    go, crossed = _rates("group_sequential", 0.0, 160, seed=1)
    assert go <= crossed <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / 160)  # <= ~0.093
    power, _ = _rates("group_sequential", 2.5, 40, seed=2)
    assert power >= 0.6


@pytest.mark.slow
def test_always_valid_false_go_rate_and_power():
    go, crossed = _rates("always_valid", 0.0, 40, seed=3)
    assert go <= crossed <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / 40)  # <= ~0.13; naive daily testing gives ~0.25
    power, _ = _rates("always_valid", 2.5, 20, seed=4)
    assert power >= 0.5


def _simulated(pilot, plan, panel) -> dict:
    """The results of an in-memory pilot, with the information plan launch would have frozen from its pre-period."""
    return analyse_panel(pilot, plan, panel, fixed=frozen.from_json(frozen.freeze_panel(plan, panel)))
