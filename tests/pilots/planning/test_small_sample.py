"""The plan's promise for team pilots and pilots with few units (`pilots.planning.small_sample`), and the safeguard that
holds back harm declarations in them (`pilots.results.safeguard`, `pilots.results.verdict.confirm_harm`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from markupsafe import escape

from analysis.verdict import NonInferiority
from pilots.assignment.blocks import reassign
from pilots.planning import small_sample
from pilots.results import safeguard
from pilots.results.verdict import confirm_harm
from pilots.simulation.stress import SCENARIOS, Cell, promise, run_cell
from tests.analysis.test_small_sample import block_distribution
from tests.pilots.results_support import make_pilot, settings, write_unit_days
from tests.webui.setup_support import signed_in


def test_launch_blocks_draw_the_enumerated_distribution():
    """The re-randomizations the plan prices are launch's own procedure: 8 units, one stratum, 1:1."""
    dist = block_distribution(8)
    rng = np.random.default_rng(8)
    ids = tuple(f"team-{k}" for k in range(8))
    draws = [reassign(ids, ("all",) * 8, {"control": 1, "treatment": 1}, rng) for _ in range(4000)]
    counts: dict[tuple[int, ...], int] = {}
    for row in draws:
        key = tuple(int(a == "treatment") for a in row)
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) <= set(dist)
    for key, p in dist.items():
        p = float(p)
        assert abs(counts.get(key, 0) / 4000 - p) < 4 * math.sqrt(p * (1 - p) / 4000) + 1e-3


def test_review_days_are_weekly_and_the_last_look():
    assert safeguard.review_days("always_valid", tuple(range(2, 42))) == (6, 13, 20, 27, 34, 41)
    assert safeguard.review_days("always_valid", (3, 9, 16)) == (16,)
    assert safeguard.review_days("group_sequential", (3, 9, 16)) == (3, 9, 16)
    assert small_sample.applies("team", 40) and small_sample.applies("moderator", 29)
    assert not small_sample.applies("moderator", 30)


@dataclass
class _Definition:
    higher_is_better: bool = False


@dataclass
class _Guarded:
    extra: dict = field(default_factory=dict)
    definition: _Definition = field(default_factory=_Definition)


def test_harm_in_a_small_pilot_needs_the_sequential_randomization_test_on_the_harmful_side():
    """A lower-is-better guardrail (critical errors) is harmful only once the test has crossed upwards; a crossing
    the other way, or none yet, leaves it pending with the reason."""
    harmful = NonInferiority("Critical error rate", False, True, 0.005, "Critical error rate: harmful.")
    read = {"p_value": 0.04, "reviews": ["2026-03-08", "2026-03-15"], "level_spent": [0.005, 0.009]}
    for crossed in ({"crossed_up": None, "crossed_down": None}, {"crossed_up": None, "crossed_down": "2026-03-08"}):
        held = confirm_harm(_Guarded({"randomization": {**read, **crossed}}), harmful, 0.05)
        assert not held.harmful and not held.non_inferior
        assert "randomization test" in held.message and "0.009 of 0.025" in held.message
        assert "2 reviews through 2026-03-15" in held.message
    kept = _Guarded({"randomization": {**read, "crossed_up": "2026-03-15", "crossed_down": None}})
    assert confirm_harm(kept, harmful, 0.05) is harmful and kept.extra["randomization"]["confirms"]
    accuracy = _Guarded({"randomization": {**read, "crossed_up": None, "crossed_down": "2026-03-15"}})
    accuracy.definition = _Definition(higher_is_better=True)
    assert confirm_harm(accuracy, harmful, 0.05) is harmful
    assert confirm_harm(_Guarded(), harmful, 0.05) is harmful  # large pilots: no test, nothing held back


def test_team_pilot_plan_says_what_the_design_can_promise(app, client, api, session):
    sim = settings(n_moderators=120, weeks=6)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=6, unit="team", strata=[])
    write_unit_days(session, pilot_id, roster, sim)
    plan = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/plan").json
    small = plan["small_sample"]
    teams = len({row["team"] for row in roster})
    assert small["applies"] and small["units"] == teams and small["welch_df_at_most"] == teams - 2
    assert 0.0 <= small["largest_power"] <= 1.0 and small["rerandomizations"] == 999
    if small["detectable_effect"] is None:
        assert "cannot reach 80% power" in small["message"]
    else:
        assert small["detectable_effect"] >= 0.95 * small["normal_theory_detectable_effect"]
        assert small["power_at_detectable_effect"] == pytest.approx(0.8, abs=0.03)
    signed_in(app, client, "viewer")
    html = page(client, f"/pilots/{pilot_id}/planning")
    assert "What this pilot can really promise:" in html and "That is normal theory" in html
    arms = plan["units_per_arm"]
    counted = f"with {teams} teams ({' / '.join(map(str, arms))} per group)"
    conservative = f"with {teams} teams (planned conservatively as {' / '.join(map(str, arms))} per group)"
    assert (counted if sum(arms) == teams else conservative) in html
    assert escape(small["message"]) in html
    moderators, _ = make_pilot(session, settings(n_moderators=60), method="group_sequential", looks=4, seed=3)
    write_unit_days(session, moderators, _, settings(n_moderators=60))
    assert "small_sample" not in api.as_("viewer").get(f"/api/v1/pilots/{moderators}/plan").json
    assert "What this pilot can really promise" not in page(client, f"/pilots/{moderators}/planning")


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_plan_from_parameters_for_few_units_prices_the_procedure(api):
    body = {"units": 16, "audits_per_week": 12, "baseline": 0.93, "icc": 0.15, "weeks": 6, "method": "group_sequential"}
    small = api.as_("viewer").post("/api/v1/plan", json=body).json["small_sample"]
    assert small["units"] == 16 and small["reason"] == "fewer than 30 units"
    assert small["detectable_effect"] is None or small["detectable_effect"] > small["normal_theory_detectable_effect"]
    assert "small_sample" not in api.as_("viewer").post("/api/v1/plan", json={**body, "units": 40}).json


@pytest.mark.slow
def test_eight_team_promise_matches_the_engine_within_monte_carlo_error():
    """Seeded: the plan's promise for 8 teams (group-sequential) against whole pilots through `GET /results`'s
    function at the promised effect. 100 pilots: MC s.e. about 0.04 at a promise near 0.2."""
    cell = Cell("team", 8, "group_sequential", SCENARIOS["baseline"])
    promised = promise(cell, pilots=8)
    measured = run_cell(Cell("team", 8, "group_sequential", SCENARIOS["baseline"], promised.effect_points), 100, 41)
    se = math.sqrt(promised.power * (1 - promised.power) / 100)
    assert abs(measured.primary - promised.power) < 2.5 * se + 0.02
    assert promised.power < 0.5  # 8 teams in permuted blocks cannot promise 80%


def test_a_team_pilots_guardrail_carries_the_test_of_harm_beyond_its_margin():
    """The critical error rate (lower is better, margin 0.5 points) of an 8-team pilot: one-sided `greater` test of
    the outcomes net of the margin, exact for the sharp null of harm exactly at the margin."""
    from datetime import timedelta

    from pilots.results import frozen
    from pilots.results.document import _document
    from pilots.schemas import plan_of
    from pilots.simulation.stress import _draw, _panel, pilot_for

    cell = Cell("team", 8, "group_sequential", SCENARIOS["baseline"])
    pilot = pilot_for(cell)
    plan = plan_of(pilot)
    panel = _panel(_draw(cell, np.random.default_rng(2)), None)
    fixed = frozen.from_json(frozen.freeze_panel(plan, panel))
    document, _ = _document(pilot, plan, panel, plan.start_date + timedelta(days=41), fixed, descriptive=False)
    metrics = {m["name"]: m for m in document["metrics"]}
    guard = metrics["critical_error_rate"]["comparisons"][0]["randomization"]
    primary = metrics["accuracy"]["comparisons"][0]["randomization"]
    assert guard["alternative"] == "greater" and guard["null_difference"] == pytest.approx(0.005)
    assert primary["alternative"] == "two-sided" and primary["null_difference"] == 0.0
    assert 0.0 < guard["p_value"] <= 1.0 and guard["n_resamples"] == 999
