"""The simulator: reproducible, realistic marginals, effect shapes, and the two paths agree."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from pilots.simulation import (
    AUDIT_FIELDS,
    SimulationSettings,
    calibrate_logit_normal,
    simple_assignment,
    simulate_audits,
    simulate_roster,
    simulate_unit_days,
    write_audits_csv,
)

SMALL = SimulationSettings(n_moderators=60, pre_weeks=1, weeks=2)


def _setup(settings: SimulationSettings, seed: int):
    rng = np.random.default_rng(seed)
    roster = simulate_roster(settings, rng)
    return roster, simple_assignment(roster, settings.arms, rng), rng


def test_same_seed_same_operation_different_seed_differs():
    first = _setup(SMALL, 7)
    second = _setup(SMALL, 7)
    assert list(first[0]) == list(second[0])
    np.testing.assert_array_equal(first[0].accuracy, second[0].accuracy)
    assert first[1] == second[1]
    rows_a = list(simulate_audits(first[0], first[1], SMALL, first[2]))
    rows_b = list(simulate_audits(second[0], second[1], SMALL, second[2]))
    assert rows_a == rows_b
    days_a = simulate_unit_days(first[0], first[1], SMALL, np.random.default_rng(3))
    days_b = simulate_unit_days(second[0], second[1], SMALL, np.random.default_rng(3))
    np.testing.assert_array_equal(days_a.correct, days_b.correct)
    np.testing.assert_array_equal(days_a.handle_sum, days_b.handle_sum)
    other = _setup(SMALL, 8)
    assert list(other[0]) != list(first[0])


def test_calibration_hits_mean_and_sd_on_the_probability_scale():
    center, scale = calibrate_logit_normal(0.93, 0.03)
    z = np.random.default_rng(0).standard_normal(400_000)
    p = 1 / (1 + np.exp(-(center + scale * z)))
    # Monte Carlo standard errors are ~5e-5 (mean) and ~5e-5 (sd).
    assert p.mean() == pytest.approx(0.93, abs=3e-4)
    assert p.std() == pytest.approx(0.03, abs=3e-4)


def test_roster_structure_and_latent_accuracy():
    settings = SimulationSettings(n_moderators=3000)
    roster, _, _ = _setup(settings, 11)
    assert len(roster) == 3000
    assert set(roster[0]) == {"moderator_id", "team", "site", "language", "tenure_months"}
    assert len({row["moderator_id"] for row in roster}) == 3000
    team_sites: dict[str, set[str]] = {}
    for row in roster:
        team_sites.setdefault(row["team"], set()).add(row["site"])
    assert all(len(sites) == 1 for sites in team_sites.values())
    sizes = np.bincount(np.unique([r["team"] for r in roster], return_inverse=True)[1])
    assert sizes.max() <= 15 and np.median(sizes) >= 8
    tenure = np.array([row["tenure_months"] for row in roster])
    assert tenure.min() >= 1 and tenure.max() <= 60
    assert tenure.mean() > np.median(tenure)  # right-skewed
    # Sampling sd of the mean is 0.03 / sqrt(3000) ~ 5e-4; of the sd ~4e-4.
    assert roster.accuracy.mean() == pytest.approx(0.93, abs=2.5e-3)
    assert roster.accuracy.std() == pytest.approx(0.03, abs=2.5e-3)
    assert np.corrcoef(np.log(tenure), roster.accuracy)[0, 1] > 0.3
    assert roster.audits_per_week.min() >= 5 and roster.audits_per_week.max() <= 25


def test_audit_marginals():
    settings = SimulationSettings(n_moderators=400, pre_weeks=2, weeks=2)
    roster, assignment, rng = _setup(settings, 5)
    rows = list(simulate_audits(roster, assignment, settings, rng))
    correct = np.mean([r["correct"] for r in rows])
    critical = np.mean([r["critical"] for r in rows])
    handle = np.array([r["handle_time_s"] for r in rows])
    per_week = len(rows) / (len(roster) * 4)
    assert correct == pytest.approx(roster.accuracy.mean(), abs=0.005)
    assert 0.01 <= critical <= 0.02
    assert np.median(handle) == pytest.approx(45.0, rel=0.06)
    assert handle.min() >= 1.0 and np.all(np.round(handle, 1) == handle)
    assert per_week == pytest.approx(roster.audits_per_week.mean(), rel=0.03)
    assert 5 <= per_week <= 25
    # Critical errors concentrate on wrong decisions.
    wrong = np.array([not r["correct"] for r in rows])
    crit = np.array([r["critical"] for r in rows])
    assert crit[wrong].mean() > 10 * crit[~wrong].mean()


def test_timestamps_ids_order_and_until():
    roster, assignment, rng = _setup(SMALL, 2)
    until = SMALL.start_date + timedelta(days=3)
    rows = list(simulate_audits(roster, assignment, SMALL, rng, until=until, first_audit_number=50))
    stamps = [datetime.fromisoformat(r["audited_at"]) for r in rows]
    assert all(s.utcoffset() == timedelta(0) for s in stamps)
    assert rows[0]["audit_id"] == "a000000050"
    assert len({r["audit_id"] for r in rows}) == len(rows)
    assert stamps == sorted(stamps)
    assert min(stamps).date() >= SMALL.start_date - timedelta(weeks=1)
    assert max(stamps).date() <= until
    assert max(stamps).date() >= SMALL.start_date
    assert all(set(r) == set(AUDIT_FIELDS) for r in rows[:100])
    assert all(isinstance(r["correct"], bool) and isinstance(r["critical"], bool) for r in rows)


def test_csv_has_header_in_ingestion_order():
    roster, assignment, rng = _setup(SMALL, 4)
    buffer = io.StringIO()
    count = write_audits_csv(simulate_audits(roster, assignment, SMALL, rng), buffer)
    buffer.seek(0)
    reader = csv.DictReader(buffer)
    assert tuple(reader.fieldnames or ()) == AUDIT_FIELDS
    parsed = list(reader)
    assert len(parsed) == count > 0
    assert {row["correct"] for row in parsed} <= {"true", "false"}


def _arm_difference_by_week(settings: SimulationSettings, seed: int) -> np.ndarray:
    """Treatment minus control accuracy by pilot week, net of the pre-period difference."""
    roster, assignment, rng = _setup(settings, seed)
    days = simulate_unit_days(roster, assignment, settings, rng, handle_times=False)
    treated = days.arm_mask("treatment")

    def difference(first: int, stop: int) -> float:
        t = days.totals(first, stop)
        rates = [t["correct"][m].sum() / t["audits"][m].sum() for m in (treated, ~treated)]
        return float(rates[0] - rates[1])

    baseline = difference(-7 * settings.pre_weeks, 0)
    return np.array([difference(7 * w, 7 * w + 7) - baseline for w in range(settings.weeks)])


def test_effect_shapes_in_the_model_and_in_simulated_data():
    weeks = np.array([0.5, 1.5, 2.5, 3.5, 5.5])
    ramp = SimulationSettings(effect_shape="ramp", ramp_weeks=4).shape(weeks)
    np.testing.assert_allclose(ramp, [0.125, 0.375, 0.625, 0.875, 1.0])
    fade = SimulationSettings(effect_shape="fade", fade_half_life_weeks=2).shape(weeks)
    np.testing.assert_allclose(fade, 0.5 ** (weeks / 2))
    assert SimulationSettings().shape(np.array([-0.1]))[0] == 0.0

    base = dict(n_moderators=6000, pre_weeks=2, weeks=6, accuracy_effect_points=3.0)
    grows = _arm_difference_by_week(SimulationSettings(effect_shape="ramp", **base), 1)
    decays = _arm_difference_by_week(SimulationSettings(effect_shape="fade", fade_half_life_weeks=1.5, **base), 1)
    # Net of the pre-period, week-level differences have SE ~0.002; the shape moves them by >0.01.
    assert grows[0] < grows[2] < grows[5]
    assert grows[4:].mean() == pytest.approx(0.03, abs=0.005)
    assert decays[0] > decays[2] > decays[5]
    assert decays[0] == pytest.approx(0.03 * 0.5 ** (0.5 / 1.5), abs=0.005)


def test_control_and_unassigned_units_get_no_effect():
    settings = SimulationSettings(n_moderators=30, pre_weeks=0, weeks=1, accuracy_effect_points=50.0)
    roster, _, rng = _setup(settings, 9)
    assignment = {roster[0]["moderator_id"]: "control"}
    days = simulate_unit_days(roster, assignment, settings, rng)
    # With +50 points every treated moderator would be at accuracy 1; nobody is.
    assert (days.correct < days.audits).sum() > 0
    with pytest.raises(ValueError, match="accuracy_mean"):
        SimulationSettings(accuracy_mean=1.2)


def test_aggregated_path_matches_aggregated_rows_in_distribution():
    settings = SimulationSettings(
        n_moderators=300, pre_weeks=1, weeks=2, accuracy_effect_points=2.0, handle_time_effect_relative=-0.2
    )
    roster, assignment, rng = _setup(settings, 21)
    index = {mid: i for i, mid in enumerate(roster.moderator_ids)}
    n = len(roster)
    from_rows = {k: np.zeros(n) for k in ("audits", "correct", "critical", "handle_sum", "handle_sum2")}
    for row in simulate_audits(roster, assignment, settings, rng):
        i = index[row["moderator_id"]]
        from_rows["audits"][i] += 1
        from_rows["correct"][i] += row["correct"]
        from_rows["critical"][i] += row["critical"]
        from_rows["handle_sum"][i] += row["handle_time_s"]
        from_rows["handle_sum2"][i] += row["handle_time_s"] ** 2
    direct = simulate_unit_days(roster, assignment, settings, rng).totals(-7)
    for name, values in from_rows.items():
        # Same roster, same model: per-unit totals come from the same distribution.
        assert stats.ks_2samp(values, direct[name]).pvalue > 0.001, name
        assert values.sum() == pytest.approx(direct[name].sum(), rel=0.06), name
    assert date.fromisoformat(str(settings.start_date)) == settings.start_date
