"""Non-binding futility bounds of a group-sequential design, through the results engine.

The bounds themselves are checked against rpact in tests/analysis/test_group_sequential.py; here: the service orients
them to each metric's good direction, never lets them move the efficacy boundaries (so the false-go rate cannot rise),
stops a pilot with no effect for futility often and one with the design effect rarely, and turns a futility stop into
a `no_go` a director can read.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.group_sequential import FutilityDesign, boundaries, design_drift, power_with_futility
from analysis.gs_monitor import Look, monitor
from pilots.results.document import build_document
from pilots.results.looks import InformationPlan, planned_look_days
from pilots.results.sequential import Futility, LookSeries, run
from tests.pilots.results_support import make_pilot, settings, write_unit_days

DAYS = planned_look_days("group_sequential", 5, 70)
FINAL_VARIANCE = 1e-4
PLANNED = FINAL_VARIANCE * 5 / np.arange(1, 6)  # information grows linearly over the five reviews
PLAN = InformationPlan(DAYS, PLANNED, "pre_period", "plan")


def _series(drift: float, rng: np.random.Generator) -> LookSeries:
    """Estimates with independent increments (Brownian motion in information time), drift in z units at t = 1."""
    info = 1.0 / PLANNED
    steps = np.diff(info, prepend=0.0)
    estimates = np.cumsum(rng.normal(steps * drift * np.sqrt(FINAL_VARIANCE), np.sqrt(steps))) / info
    return LookSeries(DAYS, tuple(estimates), tuple(PLANNED), (np.inf,) * 5)


def test_matches_monitor_with_beta_spending_futility():
    series = LookSeries(DAYS[:3], (0.001, -0.002, 0.0005), tuple(PLANNED[:3]), (np.inf,) * 3)
    outcome = run("group_sequential", series, PLAN, 0.05, "obf", final=False, futility=Futility(0.2, True))
    looks = [Look(e, np.sqrt(v), t) for e, v, t in zip(series.estimates, PLANNED[:3], [0.2, 0.4, 0.6], strict=True)]
    theta = design_drift(0.05, 0.8, PLAN.planned_fractions(), "obf")  # sized over all five planned reviews
    direct = monitor(looks, 0.05, "obf", futility=FutilityDesign(0.2, "obf", theta=theta))
    assert outcome.crossing == direct.status
    assert outcome.boundary == pytest.approx(direct.critical_values[direct.stopped_at or 2])
    k = direct.stopped_at if direct.stopped_at is not None else 2
    assert outcome.futility_boundary == pytest.approx(direct.futility_values[k])
    assert outcome.rejected is False


def test_interim_bounds_are_those_of_the_whole_planned_schedule():
    """Review by review, the futility bound is the full design's (drift sized over all five planned reviews), not
    one recomputed as if the latest review were the last: that would make early bounds far too strict."""
    full = run_bounds()
    se = np.sqrt(PLANNED)
    for k in range(1, 5):
        series = LookSeries(DAYS[:k], tuple(2.0 * se[:k]), tuple(PLANNED[:k]), (np.inf,) * k)
        outcome = run("group_sequential", series, PLAN, 0.05, "obf", final=False, futility=Futility(0.2, True))
        assert outcome.crossing == "none"
        assert outcome.futility_boundary == pytest.approx(full.futility[k - 1], abs=1e-6)
    assert full.futility[0] == pytest.approx(-1.370, abs=1e-3)


def test_lower_is_better_metric_is_the_mirror_image():
    rng = np.random.default_rng(7)
    for _ in range(20):
        series = _series(1.5, rng)
        mirrored = LookSeries(series.days, tuple(-e for e in series.estimates), series.variances, series.dfs)
        up = run("group_sequential", series, PLAN, 0.05, "obf", final=True, futility=Futility(0.2, True))
        down = run("group_sequential", mirrored, PLAN, 0.05, "obf", final=True, futility=Futility(0.2, False))
        flip = {"up": "down", "down": "up", "futility": "futility", "none": "none"}
        assert down.crossing == flip[up.crossing]
        assert (down.low, down.high) == pytest.approx((-up.high, -up.low))
        assert down.futility_boundary == pytest.approx(-up.futility_boundary)
        assert down.p_value == up.p_value


def test_non_binding_bounds_leave_efficacy_untouched():
    """Same data with and without futility: where no futility stop happened first, every efficacy answer agrees."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        series = _series(2.0, rng)
        plain = run("group_sequential", series, PLAN, 0.05, "obf", final=True)
        with_futility = run("group_sequential", series, PLAN, 0.05, "obf", final=True, futility=Futility(0.2, True))
        if with_futility.crossing != "futility":
            assert with_futility.crossing == plain.crossing
            assert (with_futility.low, with_futility.high) == pytest.approx((plain.low, plain.high))
            assert with_futility.p_value == plain.p_value


def _z_paths(drift: float, reps: int, seed: int) -> np.ndarray:
    """z statistics at the five planned reviews (t = 0.2 .. 1) of `reps` pilots: Brownian motion plus drift."""
    t = np.arange(1, 6) / 5
    rng = np.random.default_rng(seed)
    motion = np.cumsum(rng.normal(0.0, np.sqrt(0.2), size=(reps, 5)), axis=1) + drift * t
    return motion / np.sqrt(t)


def _stops(z: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pilot: stopped for benefit, stopped for futility, and the review it stopped at (the first crossing wins,
    as in `monitor`; at the final review the futility bound equals the efficacy one)."""
    upper, futility = np.asarray(bounds.upper), np.asarray(bounds.futility)
    crossed = np.where(z >= upper, 1, np.where(z <= -upper, 2, np.where(z <= futility, 3, 0)))
    first = np.argmax(crossed > 0, axis=1)
    status = np.where(crossed.any(axis=1), crossed[np.arange(len(z)), first], 0)
    return status == 1, status == 3, first


def test_operating_characteristics():
    """Under no effect most pilots stop for futility at an interim review and the one-sided false-go rate stays at
    or below alpha / 2. Under the alternative the design was sized for (80% power without futility), interim futility
    stops stay within the beta spent on them, and power drops by a few points only: the fixed roster cannot grow to
    buy that back, which is why futility is an option and not the default (3 Monte-Carlo sd throughout)."""
    bounds = run_bounds()  # theta: the drift the design was sized for (80% power with the sequential inflation)
    reps = 20_000
    sd = 3 * np.sqrt(0.25 / reps)
    null_up, null_futile, null_at = _stops(_z_paths(0.0, reps, seed=21), bounds)
    assert null_up.mean() <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / reps)
    assert (null_futile & (null_at < 4)).mean() > 0.6
    alt_up, alt_futile, alt_at = _stops(_z_paths(bounds.theta, reps, seed=22), bounds)
    assert (alt_futile & (alt_at < 4)).mean() <= bounds.beta_spent[-2] + sd
    assert abs(alt_up.mean() - power_with_futility(bounds)) <= sd  # simulation agrees with numerical integration
    assert 0.8 - 0.04 <= power_with_futility(bounds) < 0.8


def test_the_service_stops_where_the_simulated_design_does():
    """`run` on the same paths as estimates gives the same stops as the vectorized classification above."""
    bounds = run_bounds()
    z = _z_paths(0.0, 40, seed=23)
    up, futile, _ = _stops(z, bounds)
    se = np.sqrt(PLANNED)
    for k, path in enumerate(z):
        series = LookSeries(DAYS, tuple(path * se), tuple(PLANNED), (np.inf,) * 5)
        outcome = run("group_sequential", series, PLAN, 0.05, "obf", final=True, futility=Futility(0.2, True))
        assert (outcome.crossing == "up") == up[k]
        assert (outcome.crossing == "futility") == futile[k]


def run_bounds():
    return boundaries(PLAN.planned_fractions(), 0.05, "obf", final=True, futility=FutilityDesign(0.2, "obf"))


def test_null_pilot_with_futility_design_stops_no_go_with_a_readable_reason(session):
    sim = settings(n_moderators=160, weeks=8)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=4, futility=True, seed=3)
    write_unit_days(session, pilot_id, roster, sim, seed=8)
    document = build_document(session, pilot_id)
    comparison = document["metrics"][0]["comparisons"][0]
    assert comparison["crossing"] == "futility"
    assert isinstance(comparison["futility_boundary"], float)
    assert document["decision"]["recommendation"] == "no_go"
    assert any("futility" in reason for reason in document["decision"]["reasons"])
    assert comparison["significant"] is False and comparison["p_value"] is None
    assert "futility" in comparison["p_value_reason"]


def test_strong_effect_is_never_stopped_for_futility(session):
    sim = settings(n_moderators=160, weeks=8, accuracy_effect_points=3.0)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=4, futility=True, seed=3)
    write_unit_days(session, pilot_id, roster, sim, seed=8)
    document = build_document(session, pilot_id)
    comparison = document["metrics"][0]["comparisons"][0]
    assert comparison["crossing"] == "up"
    assert document["decision"]["recommendation"] == "go"
